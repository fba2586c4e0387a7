/**
 * Who may call which API route: ONE table of method + route pattern (as in
 * the OpenAPI document, relative to /api/v1) → the least role that may.
 * A route not listed needs `viewer` to read (GET) and `admin` for anything
 * else, so a new route is safe by default: list it here to open it to
 * operators.
 *
 * Roles: viewer reads everything (no answer holds a secret); operator also
 * re-evaluates, remediates, rolls back, approves and rejects, manages
 * remediation exceptions, invokes and cancels functions and redelivers;
 * admin also everything else (rules, remediation settings, policy, accounts,
 * the organization and account groups, credentials, the sandbox's estate,
 * IAM and unsigned actions, functions' deployment, topics and subscriptions,
 * tokens and the audit log).
 */
import type { Role } from './tokens.js';

export interface AccessRule {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  /** The OpenAPI path, relative to /api/v1. */
  path: string;
  /** The least role that may call it; 'public' needs no token. */
  role: Role | 'public';
  /**
   * The least role when the call is signed with cloud credentials
   * (x-sandbox-access-key-id or x-cloud-access-key-id): the cloud's own IAM
   * then decides what the call may do, as a real cloud's API would.
   */
  signedRole?: Role;
}

export const ACCESS: readonly AccessRule[] = [
  // Public: liveness and the API's description hold no data.
  { method: 'GET', path: '/health', role: 'public' },
  { method: 'GET', path: '/openapi.json', role: 'public' },

  // Any valid token may ask who it is (the console learns its role there).
  { method: 'GET', path: '/tokens/self', role: 'viewer' },

  // Reads that are not for everyone.
  { method: 'GET', path: '/tokens', role: 'admin' },
  { method: 'GET', path: '/audit', role: 'admin' },

  // Operators: look again, fix, undo, decide, exempt, run, resend.
  { method: 'POST', path: '/discovery', role: 'operator' },
  { method: 'POST', path: '/evaluations', role: 'operator' },
  { method: 'POST', path: '/policy/plan', role: 'operator' }, // a dry run: changes nothing
  { method: 'POST', path: '/rules/{name}/remediation/executions', role: 'operator' },
  { method: 'POST', path: '/rules/{name}/remediation/pause', role: 'operator' },
  { method: 'POST', path: '/rules/{name}/remediation/resume', role: 'operator' },
  { method: 'POST', path: '/executions/{id}/approve', role: 'operator' },
  { method: 'POST', path: '/executions/{id}/reject', role: 'operator' },
  { method: 'POST', path: '/executions/{id}/rollback', role: 'operator' },
  { method: 'POST', path: '/rules/{name}/remediation/exceptions', role: 'operator' },
  { method: 'DELETE', path: '/rules/{name}/remediation/exceptions/{resourceId}', role: 'operator' },
  { method: 'POST', path: '/functions/{name}/invocations', role: 'operator' },
  { method: 'POST', path: '/invocations/{id}/cancel', role: 'operator' },
  { method: 'POST', path: '/deliveries/{id}/redeliver', role: 'operator' },
  { method: 'POST', path: '/deliveries/redeliver', role: 'operator' },

  // The sandbox cloud's API: signed calls are authorised by its IAM (functions
  // call it this way with their role's credentials); an unsigned call acts as
  // the account's owner at the console, which is an admin's.
  { method: 'POST', path: '/sandbox/actions/{action}', role: 'admin', signedRole: 'operator' },
  { method: 'POST', path: '/sandbox/sts/assume-role', role: 'admin', signedRole: 'operator' },
  // The same for whichever cloud owns the account: unsigned, confix's own
  // access to the cloud acts, which is an admin's to lend.
  { method: 'POST', path: '/cloud/actions/{action}', role: 'admin', signedRole: 'operator' },
  { method: 'POST', path: '/cloud/sts/assume-role', role: 'admin', signedRole: 'operator' },

  // Everything else that changes something is admin's by default; listed here
  // only to be explicit about the most sensitive ones.
  { method: 'POST', path: '/tokens', role: 'admin' },
  { method: 'DELETE', path: '/tokens/{name}', role: 'admin' },
  { method: 'POST', path: '/credentials', role: 'admin' },
  { method: 'DELETE', path: '/credentials/{accountId}', role: 'admin' },
  { method: 'POST', path: '/policy/apply', role: 'admin' },
  { method: 'PUT', path: '/functions/{name}', role: 'admin' },
  { method: 'DELETE', path: '/functions/{name}', role: 'admin' },
];

export { SIGNATURE_HEADERS } from './signed-headers.js';

/** The rule for a method and route pattern: the table's, or the default. */
export function accessFor(method: string, path: string): AccessRule {
  const m = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
  const listed = ACCESS.find((r) => r.method === m && r.path === path);
  if (listed) return listed;
  return { method: m as AccessRule['method'], path, role: m === 'GET' ? 'viewer' : 'admin' };
}

/** The least role a request needs; 'public' for none. */
export function requiredRole(method: string, path: string, signed: boolean): Role | 'public' {
  const rule = accessFor(method, path);
  return signed && rule.signedRole ? rule.signedRole : rule.role;
}
