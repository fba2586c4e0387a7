/**
 * The API's access control, in front of every /api/v1 route: the bearer
 * token is verified (401 without one or with a bad one), its role checked
 * against the route's least role from src/security/access.ts (403 when it is
 * not enough), and every change (any method but GET, HEAD, OPTIONS) and every
 * refusal is written to the audit log (which bounds what a caller without a
 * valid token can make it write: src/security/audit.ts). A 401 says how to get
 * a token without naming anything on the service's machine.
 */
import type { MiddlewareHandler } from 'hono';
import type { Context } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { AppDeps } from './deps.js';
import { requiredRole, SIGNATURE_HEADERS } from '../security/access.js';
import { roleAtLeast, type Principal } from '../security/tokens.js';
import type { AuditOutcome } from '../security/audit.js';

const PREFIX = '/api/v1';

/** The caller of a request, set by the access middleware. */
const principals = new WeakMap<Request, Principal>();
const setPrincipal = (c: Context, p: Principal) => principals.set(c.req.raw, p);
export const principalOf = (c: Context): Principal | undefined => principals.get(c.req.raw);
const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * How a caller without a valid token gets one. It names no file or path of
 * the service's machine (anonymous callers learn nothing about it): the
 * service's own log and the README say where the bootstrap admin token is.
 */
export const HOW_TO_GET_A_TOKEN =
  'send an API token as `Authorization: Bearer <token>` (the CLI: --token or CONFIX_TOKEN); ask an admin for one ' +
  '(`confix token create NAME --role viewer|operator|admin`), or use the admin token file the service wrote on its first start, named in its log';

/**
 * The API route Hono matched for this request, as the OpenAPI document and
 * the access table spell it (/executions/{id}), with its path parameters;
 * undefined when no API route matches (only middleware, or the console's
 * catch-all).
 */
function matchedRoute(c: Context): { path: string; params: Record<string, string> } | undefined {
  const route = matchedRoutes(c).findLast((r) => r.method !== 'ALL' && r.path.startsWith(`${PREFIX}/`) && !r.path.endsWith('*'));
  if (!route) return undefined;
  const pattern = route.path.slice(PREFIX.length).split('/');
  const actual = c.req.path.slice(PREFIX.length).split('/');
  const params: Record<string, string> = {};
  pattern.forEach((seg, i) => {
    if (!seg.startsWith(':')) return;
    const raw = actual[i] ?? '';
    try {
      params[seg.slice(1)] = decodeURIComponent(raw);
    } catch {
      params[seg.slice(1)] = raw;
    }
  });
  return { path: pattern.map((s) => (s.startsWith(':') ? `{${s.slice(1)}}` : s)).join('/'), params };
}

export function accessControl(deps: AppDeps): MiddlewareHandler {
  const howToGet = HOW_TO_GET_A_TOKEN;

  return async (c, next) => {
    const method = c.req.method.toUpperCase();
    const rel = c.req.path.slice(PREFIX.length) || '/';
    const match = matchedRoute(c);
    const signed = SIGNATURE_HEADERS.some((h) => !!c.req.header(h));
    // A path no route has still needs a token (then answers 404).
    const need = match ? requiredRole(method, match.path, signed) : 'viewer';
    if (need === 'public') return next();

    const route = match?.path ?? rel;
    const target = match?.params ?? {};
    let principal: Principal | undefined;
    const audit = async (status: number, outcome: AuditOutcome, reason: string | null) => {
      try {
        await deps.audit.record({ tokenName: principal?.name ?? null, role: principal?.role ?? null, method, route, target, status, outcome, reason });
      } catch (err) {
        deps.log.error('writing the audit log failed', { err: err as Error, method, route });
      }
    };
    const deny = async (status: 401 | 403, code: string, message: string, reason: string, details: Record<string, unknown> = {}) => {
      await audit(status, 'denied', reason);
      return c.json({ error: { code, message, ...details } }, status, status === 401 ? { 'www-authenticate': 'Bearer realm="confix"' } : {});
    };

    const header = c.req.header('authorization') ?? '';
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
    if (!bearer)
      return deny(
        401,
        'Unauthorized',
        `${header ? 'the Authorization header is not "Bearer <token>"' : 'this API needs a bearer token'}: ${howToGet}`,
        header ? 'malformed' : 'no token',
      );
    const verified = await deps.tokens.verify(bearer);
    if (!verified.ok) {
      const why = { malformed: 'is not a confix token (cfx_…)', unknown: 'is not known', expired: 'has expired', revoked: 'has been revoked' }[verified.reason];
      return deny(401, 'Unauthorized', `the bearer token ${why}: ${howToGet}`, verified.reason);
    }
    principal = verified.principal;
    if (!roleAtLeast(principal.role, need)) {
      return deny(
        403,
        'Forbidden',
        `${method} ${route} needs the ${need} role${signed ? ' (signed with cloud credentials)' : ''}; token "${principal.name}" has ${principal.role}`,
        `needs ${need}`,
        { requiredRole: need, role: principal.role },
      );
    }
    setPrincipal(c, principal);
    await next();
    const status = c.res.status;
    if (!READS.has(method) || status === 401 || status === 403) {
      let reason: string | null = null;
      if (status >= 400) {
        const body = (await c.res
          .clone()
          .json()
          .catch(() => undefined)) as { error?: { code?: unknown } } | undefined;
        reason = typeof body?.error?.code === 'string' ? body.error.code : `HTTP ${status}`;
      }
      await audit(status, status === 401 || status === 403 ? 'denied' : status < 400 ? 'ok' : 'error', reason);
    }
  };
}
