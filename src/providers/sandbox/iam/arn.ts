// Names of identities in both clouds' spelling: role ARNs, the caller's ARN
// for refusal messages, and the principal strings trust policies contain.
import type { Dialect } from '../errors.js';
import { ACCOUNT, AWS_PARTITION, NAME } from '../../identity.js';

export { roleArn, parseRoleArn, principalArn, dialectOfResourceType, type Principal } from '../../identity.js';

/**
 * A principal string from a trust policy, understood. `undefined` when it is
 * not one the sandbox supports (the parser turns that into an issue).
 * Forms: `*`; account root (`acs:ram::A:root`, `arn:aws:iam::A:root`, or a bare
 * account id in AWS); role ARN; assumed-role session ARN (ACS writes it both as
 * `assumed-role/name/session` and, in STS responses, `role/name/session`).
 */
export type TrustedPrincipal =
  | { kind: 'any' }
  | { kind: 'account'; accountId: string }
  | { kind: 'role'; accountId: string; roleName: string }
  | { kind: 'session'; accountId: string; roleName: string; sessionName: string };

const ACS_PRINCIPAL = new RegExp(`^acs:ram::(${ACCOUNT}):(?:(root)|role/(${NAME})|role/(${NAME})/(${NAME})|assumed-role/(${NAME})/(${NAME}))$`, 'i');
const AWS_PRINCIPAL = new RegExp(
  `^(?:(${ACCOUNT})|arn:${AWS_PARTITION}:iam::(${ACCOUNT}):(?:(root)|role/(?:${NAME}/)*(${NAME}))|arn:${AWS_PARTITION}:sts::(${ACCOUNT}):assumed-role/(${NAME})/(${NAME}))$`,
);

export function parseTrustedPrincipal(dialect: Dialect, s: string): TrustedPrincipal | undefined {
  if (s === '*') return { kind: 'any' };
  if (dialect === 'acs') {
    const m = ACS_PRINCIPAL.exec(s);
    if (!m) return undefined;
    const accountId = m[1]!;
    if (m[2]) return { kind: 'account', accountId };
    if (m[3]) return { kind: 'role', accountId, roleName: m[3] };
    if (m[4]) return { kind: 'session', accountId, roleName: m[4], sessionName: m[5]! };
    return { kind: 'session', accountId, roleName: m[6]!, sessionName: m[7]! };
  }
  const m = AWS_PRINCIPAL.exec(s);
  if (!m) return undefined;
  if (m[1]) return { kind: 'account', accountId: m[1] };
  if (m[2]) return m[3] ? { kind: 'account', accountId: m[2] } : { kind: 'role', accountId: m[2], roleName: m[4]! };
  return { kind: 'session', accountId: m[5]!, roleName: m[6]!, sessionName: m[7]! };
}
