// Refusals in each cloud's own words, naming what an operator needs to fix
// it: the action, the resource, the caller, and an explicit deny or no allow.
// What the caller chose (the resource's id in its name, a session name in the
// principal) is shortened (util/text.ts truncate), so that a refusal stays
// small whatever was sent.
import type { Dialect } from '../errors.js';
import { principalArn, type Principal } from './arn.js';
import type { StatementRef } from './document.js';
import type { PermissionDecision, TrustDecision } from './evaluate.js';
import { truncate } from '../../../util/text.js';

/** Characters of an ARN (a resource's, a principal's) kept in a refusal: a whole ARN of any real resource or session. */
export const ARN_MAX = 256;

/** What the sandbox's SandboxError is built from. */
export interface DenialError {
  code: string;
  status: number;
  message: string;
}

export interface Denial {
  dialect: Dialect;
  action: string;
  /** The resource's name (an acs:… name or arn:…); for sts:AssumeRole, the role's ARN. */
  resource: string;
  principal: Principal;
  /** What evaluatePermissions (identity policies) or trustAllows (the role's trust policy) said. */
  decision: PermissionDecision | TrustDecision;
}

const statementName = (s: StatementRef) => (typeof s === 'number' ? `Statement[${s}]` : `Statement "${s}"`);

type Why = { via: 'identity' | 'trust'; deny?: { policy?: string; statement: StatementRef } };

function why(decision: PermissionDecision | TrustDecision): Why {
  if ('allowed' in decision) {
    if (decision.allowed) throw new Error('describeDenial: the trust policy allowed this request');
    return { via: 'trust', ...(decision.deniedBy !== undefined && { deny: { statement: decision.deniedBy } }) };
  }
  if (decision.decision === 'Allow') throw new Error('describeDenial: the policies allowed this request');
  return { via: 'identity', ...(decision.decision === 'ExplicitDeny' && { deny: { policy: decision.policy, statement: decision.statement } }) };
}

/** ACS: NoPermission (403), RAM's opening sentence followed by the particulars. */
export function acsNoPermission(d: Denial): DenialError {
  const w = why(d.decision);
  const reason = w.deny
    ? w.via === 'trust'
      ? `explicitly denied by the role's trust policy (${statementName(w.deny.statement)})`
      : `explicitly denied by policy "${w.deny.policy}" (${statementName(w.deny.statement)})`
    : w.via === 'trust'
      ? "the role's trust policy does not trust this principal"
      : 'no policy allows it';
  return {
    code: 'NoPermission',
    status: 403,
    message: `You are not authorized to do this action. Action: ${truncate(d.action)}, Resource: ${truncate(d.resource, ARN_MAX)}, Principal: ${truncate(principalArn(d.principal, 'acs'), ARN_MAX)}, reason: ${reason}`,
  };
}

/**
 * AWS: AccessDenied (403), or UnauthorizedOperation for EC2 actions, whose
 * message EC2 opens with its own sentence. The rest is IAM's wording.
 */
export function awsAccessDenied(d: Denial): DenialError {
  const w = why(d.decision);
  const tail =
    w.via === 'identity'
      ? w.deny
        ? `with an explicit deny in an identity-based policy: ${w.deny.policy} (${statementName(w.deny.statement)})`
        : `because no identity-based policy allows the ${truncate(d.action)} action`
      : w.deny
        ? `with an explicit deny in a resource-based policy (the role's trust policy, ${statementName(w.deny.statement)})`
        : `because no resource-based policy (the role's trust policy) allows the ${truncate(d.action)} action`;
  const message = `User: ${truncate(principalArn(d.principal, 'aws'), ARN_MAX)} is not authorized to perform: ${truncate(d.action)} on resource: ${truncate(d.resource, ARN_MAX)} ${tail}`;
  if (/^ec2:/i.test(d.action)) return { code: 'UnauthorizedOperation', status: 403, message: `You are not authorized to perform this operation. ${message}` };
  return { code: 'AccessDenied', status: 403, message };
}

/** The refusal for a denied request, in the cloud's dialect. Throws if the decision was an allow. */
export function describeDenial(d: Denial): DenialError {
  return d.dialect === 'acs' ? acsNoPermission(d) : awsAccessDenied(d);
}
