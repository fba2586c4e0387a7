/**
 * Names of identities in both clouds' spelling: role ARNs, the caller's ARN
 * for refusal messages, and the cloud a resource type belongs to. Neutral:
 * the engine and every provider name identities the same way.
 */
import type { Dialect } from './types.js';

/** Who is calling: an account's own credentials, an assumed role, or a cloud service. */
export type Principal =
  | { type: 'root'; accountId: string }
  | { type: 'role'; accountId: string; roleName: string; sessionName?: string }
  | { type: 'service'; service: string };

// Role and session names as both clouds allow them (letters, digits and +=,.@-_).
export const NAME = '[\\w+=,.@-]+';
export const ACCOUNT = '\\d+';
export const AWS_PARTITION = 'aws(?:-cn|-us-gov)?';

const ACS_ROLE = new RegExp(`^acs:ram::(${ACCOUNT}):role/(${NAME})$`, 'i');
// AWS role ARNs may carry a path (role/path/to/Name); the name is the last segment.
const AWS_ROLE = new RegExp(`^arn:${AWS_PARTITION}:iam::(${ACCOUNT}):role/(?:${NAME}/)*(${NAME})$`);

/**
 * A role's ARN. ACS: RAM shows role ARNs with the name lower-cased
 * (`acs:ram::A:role/configcustomremediationrole` for ConfigCustomRemediationRole),
 * and role names are case-insensitive there. AWS keeps the name as created.
 */
export function roleArn(dialect: Dialect, accountId: string, roleName: string): string {
  return dialect === 'acs' ? `acs:ram::${accountId}:role/${roleName.toLowerCase()}` : `arn:aws:iam::${accountId}:role/${roleName}`;
}

/** A role ARN as an AssumeRole call names it; undefined when it is not one (session ARNs are not role ARNs). */
export function parseRoleArn(arn: string): { dialect: Dialect; accountId: string; roleName: string } | undefined {
  const acs = ACS_ROLE.exec(arn);
  if (acs) return { dialect: 'acs', accountId: acs[1]!, roleName: acs[2]! };
  const aws = AWS_ROLE.exec(arn);
  if (aws) return { dialect: 'aws', accountId: aws[1]!, roleName: aws[2]! };
  return undefined;
}

/**
 * The caller as the cloud names it in messages. A role without a session name
 * is shown by its role ARN; a service by its service principal.
 */
export function principalArn(principal: Principal, dialect: Dialect): string {
  switch (principal.type) {
    case 'root':
      return dialect === 'acs' ? `acs:ram::${principal.accountId}:root` : `arn:aws:iam::${principal.accountId}:root`;
    case 'role': {
      const { accountId, roleName, sessionName } = principal;
      if (sessionName === undefined) return roleArn(dialect, accountId, roleName);
      return dialect === 'acs'
        ? `acs:ram::${accountId}:assumed-role/${roleName.toLowerCase()}/${sessionName}`
        : `arn:aws:sts::${accountId}:assumed-role/${roleName}/${sessionName}`;
    }
    case 'service':
      return principal.service;
  }
}

/** The cloud a resource type belongs to, by its prefix. Throws for a type of neither cloud (a programming error). */
export function dialectOfResourceType(type: string): Dialect {
  if (type.startsWith('ACS::')) return 'acs';
  if (type.startsWith('AWS::')) return 'aws';
  throw new Error(`resource type ${type} is neither ACS:: nor AWS::`);
}
