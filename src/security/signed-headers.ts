/**
 * The headers a caller signs a cloud call with (confix's stand-in for a
 * cloud's request signing): the key's id, its secret and a session token for
 * temporary credentials. Keys are confix's neutral credential names.
 *
 * - x-sandbox-*: the sandbox cloud's own API (/sandbox/actions, /sandbox/sts).
 * - x-cloud-*: the provider-neutral API (/cloud/actions, /cloud/sts) that
 *   functions' context.cloud uses, whichever cloud the account is in; named
 *   as AWS names them, the more widely known words.
 */
export const SANDBOX_CREDENTIAL_HEADERS = {
  accessKeyId: 'x-sandbox-access-key-id',
  accessKeySecret: 'x-sandbox-access-key-secret',
  securityToken: 'x-sandbox-security-token',
} as const;

export const CLOUD_CREDENTIAL_HEADERS = {
  accessKeyId: 'x-cloud-access-key-id',
  accessKeySecret: 'x-cloud-secret-access-key',
  securityToken: 'x-cloud-session-token',
} as const;

export type CredentialHeaderNames = typeof SANDBOX_CREDENTIAL_HEADERS | typeof CLOUD_CREDENTIAL_HEADERS;

/** A request carrying either key id header is signed: the cloud's IAM decides what it may do. */
export const SIGNATURE_HEADERS = [SANDBOX_CREDENTIAL_HEADERS.accessKeyId, CLOUD_CREDENTIAL_HEADERS.accessKeyId] as const;
