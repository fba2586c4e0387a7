/**
 * The engine's credentials for the clouds' APIs: one access key per account.
 * The secret is sealed with the service's SecretBox before it reaches the
 * database and is opened only by secretFor(), for signing calls; nothing else
 * ever returns it, and no error message contains it.
 */
import type { Db } from '../store/index.js';
import type { SecretBox } from '../security/secret-box.js';
import { ConfixError } from '../errors.js';

/** A credential as it is listed: everything but the secret. */
export interface Credential {
  accountId: string;
  accessKeyId: string;
  description: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface CredentialInput {
  accessKeyId: string;
  accessKeySecret: string;
  description?: string | null;
}

export interface AccessKey {
  accessKeyId: string;
  accessKeySecret: string;
}

/** A credential refused as given; `field` names what is wrong. The message never contains the secret. */
export class CredentialValidationError extends ConfixError {
  constructor(
    readonly field: 'accountId' | 'accessKeyId' | 'accessKeySecret' | 'description',
    message: string,
  ) {
    super('InvalidCredential', 'invalid', message, { issues: [{ path: [field], message }] });
  }
}

export const LIMITS = {
  accountId: { min: 1, max: 128 },
  accessKeyId: { min: 8, max: 128 },
  accessKeySecret: { min: 8, max: 1024 },
  description: { max: 1000 },
} as const;

// Printable ASCII without spaces: every cloud's key ids and secrets fit.
const TOKEN = /^[\x21-\x7e]+$/;

interface Row {
  account_id: string;
  access_key_id: string;
  secret_sealed: string;
  description: string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

function toCredential(r: Row): Credential {
  return {
    accountId: r.account_id,
    accessKeyId: r.access_key_id,
    description: r.description,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  };
}

/** Checks an account id, as given to any of the store's methods. */
export function validateAccountId(accountId: unknown): string {
  if (typeof accountId !== 'string' || accountId.length === 0) throw new CredentialValidationError('accountId', 'accountId is required');
  if (accountId.length > LIMITS.accountId.max) throw new CredentialValidationError('accountId', `accountId is longer than ${LIMITS.accountId.max} characters`);
  if (!TOKEN.test(accountId)) throw new CredentialValidationError('accountId', 'accountId must be printable characters without spaces');
  return accountId;
}

/**
 * Checks a credential loosely: non-empty, no whitespace or control characters,
 * sane lengths. Messages describe the problem and never repeat the secret.
 */
export function validateCredential(input: CredentialInput): Required<CredentialInput> {
  const { accessKeyId, accessKeySecret } = input;
  if (typeof accessKeyId !== 'string' || accessKeyId.length === 0) throw new CredentialValidationError('accessKeyId', 'accessKeyId is required');
  if (accessKeyId.length < LIMITS.accessKeyId.min || accessKeyId.length > LIMITS.accessKeyId.max)
    throw new CredentialValidationError('accessKeyId', `accessKeyId must be ${LIMITS.accessKeyId.min} to ${LIMITS.accessKeyId.max} characters long`);
  if (!TOKEN.test(accessKeyId))
    throw new CredentialValidationError('accessKeyId', 'accessKeyId must be printable characters without spaces (whitespace is usually a copy-and-paste slip)');
  if (typeof accessKeySecret !== 'string' || accessKeySecret.length === 0)
    throw new CredentialValidationError('accessKeySecret', 'accessKeySecret is required');
  if (accessKeySecret.length < LIMITS.accessKeySecret.min || accessKeySecret.length > LIMITS.accessKeySecret.max)
    throw new CredentialValidationError(
      'accessKeySecret',
      `accessKeySecret must be ${LIMITS.accessKeySecret.min} to ${LIMITS.accessKeySecret.max} characters long`,
    );
  if (!TOKEN.test(accessKeySecret))
    throw new CredentialValidationError(
      'accessKeySecret',
      'accessKeySecret must be printable characters without spaces (whitespace is usually a copy-and-paste slip)',
    );
  if (accessKeySecret === accessKeyId)
    throw new CredentialValidationError('accessKeySecret', 'accessKeySecret is the same as accessKeyId; give the secret that goes with the key id');
  const description = input.description ?? null;
  if (description !== null && typeof description !== 'string') throw new CredentialValidationError('description', 'description must be text');
  if (description !== null && description.length > LIMITS.description.max)
    throw new CredentialValidationError('description', `description is longer than ${LIMITS.description.max} characters`);
  return { accessKeyId, accessKeySecret, description: description === '' ? null : description };
}

export class CredentialStore {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  /** Stores or replaces the account's access key; answers with the listing (no secret) and whether it replaced one. */
  async put(accountId: string, input: CredentialInput): Promise<Credential & { replaced: boolean }> {
    validateAccountId(accountId);
    const c = validateCredential(input);
    // The account id is bound to the sealed secret: a sealed value copied to another row does not open.
    const sealed = this.box.seal(c.accessKeySecret, accountId);
    const [row] = await this.db.query<Row & { inserted: boolean }>(
      `INSERT INTO account_credentials (account_id, access_key_id, secret_sealed, description)
       VALUES ($1, $2, $3, $4)
       ON CONFLICT (account_id) DO UPDATE SET access_key_id = EXCLUDED.access_key_id, secret_sealed = EXCLUDED.secret_sealed,
         description = EXCLUDED.description, updated_at = now()
       RETURNING account_id, access_key_id, secret_sealed, description, created_at, updated_at, (xmax = 0) AS inserted`,
      [accountId, c.accessKeyId, sealed, c.description],
    );
    return { ...toCredential(row!), replaced: !row!.inserted };
  }

  /** Every stored credential, without secrets, by account id. */
  async list(): Promise<Credential[]> {
    const rows = await this.db.query<Row>('SELECT account_id, access_key_id, description, created_at, updated_at FROM account_credentials ORDER BY account_id');
    return rows.map(toCredential);
  }

  /** The account's credential without its secret, or undefined. */
  async get(accountId: string): Promise<Credential | undefined> {
    const [row] = await this.db.query<Row>(
      'SELECT account_id, access_key_id, description, created_at, updated_at FROM account_credentials WHERE account_id = $1',
      [accountId],
    );
    return row ? toCredential(row) : undefined;
  }

  /** Removes the account's credential; false when there was none. */
  async remove(accountId: string): Promise<boolean> {
    return (await this.db.query('DELETE FROM account_credentials WHERE account_id = $1 RETURNING 1', [accountId])).length > 0;
  }

  /**
   * The account's access key with its secret opened, for signing provider
   * calls. Internal use only: never return it from the API or log it.
   */
  async secretFor(accountId: string): Promise<AccessKey | undefined> {
    const [row] = await this.db.query<Pick<Row, 'access_key_id' | 'secret_sealed'>>(
      'SELECT access_key_id, secret_sealed FROM account_credentials WHERE account_id = $1',
      [accountId],
    );
    if (!row) return undefined;
    return { accessKeyId: row.access_key_id, accessKeySecret: this.box.open(row.secret_sealed, accountId) };
  }
}
