/** The caller's cloud credentials from a request's signing headers (src/security/signed-headers.ts). */
import type { ProviderCredentials } from '../providers/index.js';
import { ApiError } from './errors.js';
import { SANDBOX_CREDENTIAL_HEADERS, type CredentialHeaderNames } from '../security/signed-headers.js';

// Access key ids are a few dozen characters, secrets a few dozen, session tokens up to a few KB (AWS's run past 1,000).
const LIMITS = { accessKeyId: 128, accessKeySecret: 256, securityToken: 4096 } as const;

/** Answers 400 InvalidParameter naming the field and the limit, without repeating the value. */
export function bounded(field: string, value: string | undefined, limit: number): void {
  if (value !== undefined && value.length > limit) throw new ApiError(400, 'InvalidParameter', `${field}: ${value.length} characters; the limit is ${limit}.`);
}

/** The credentials in the headers; undefined when none are sent (the account owner, or confix's own access). */
export function credentialsFromHeaders(
  header: (name: string) => string | undefined,
  names: CredentialHeaderNames = SANDBOX_CREDENTIAL_HEADERS,
): ProviderCredentials | undefined {
  const accessKeyId = header(names.accessKeyId);
  const accessKeySecret = header(names.accessKeySecret);
  const securityToken = header(names.securityToken);
  if (!accessKeyId && !accessKeySecret && !securityToken) return undefined;
  bounded(names.accessKeyId, accessKeyId, LIMITS.accessKeyId);
  bounded(names.accessKeySecret, accessKeySecret, LIMITS.accessKeySecret);
  bounded(names.securityToken, securityToken, LIMITS.securityToken);
  if (!accessKeyId || !accessKeySecret)
    throw new ApiError(
      400,
      'MissingCredentials',
      `send both ${names.accessKeyId} and ${names.accessKeySecret} (and ${names.securityToken} for temporary credentials)`,
    );
  return { accessKeyId, accessKeySecret, ...(securityToken ? { securityToken } : {}) };
}
