/**
 * API bearer tokens. A token is `cfx_<id>_<secret>`: the id finds the row,
 * the secret (32 random bytes) is stored only as its SHA-256 and compared in
 * constant time. A token has a role (viewer < operator < admin), may expire
 * and may be revoked; it is shown once, when it is created.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, openSync, closeSync, readFileSync, writeSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Db } from '../store/index.js';
import { silentLogger, type Logger } from '../util/log.js';
import { parseDuration } from '../util/duration.js';
import { ConfixError } from '../errors.js';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Whether `have` is at least `need`. */
export function roleAtLeast(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

export interface TokenRecord {
  id: string;
  name: string;
  role: Role;
  createdAt: string;
  createdBy: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  /** active, expired or revoked, now. */
  state: 'active' | 'expired' | 'revoked';
}

export interface Principal {
  tokenId: string;
  name: string;
  role: Role;
}

export type VerifyResult = { ok: true; principal: Principal } | { ok: false; reason: 'malformed' | 'unknown' | 'expired' | 'revoked' };

export class TokenValidationError extends ConfixError {
  constructor(
    readonly field: 'name' | 'role' | 'expiresAt' | 'expiresIn',
    message: string,
  ) {
    super('InvalidRequest', 'invalid', message, { issues: [{ path: [field], message }], publicMessage: `${field}: ${message}` });
  }
}

export class TokenExistsError extends ConfixError {
  constructor(readonly tokenName: string) {
    super('TokenExists', 'conflict', `a token named "${tokenName}" exists already (revoked tokens keep their names); choose another name`);
  }
}

export class TokenNotFoundError extends ConfixError {
  constructor(readonly tokenName: string) {
    super('TokenNotFound', 'not_found', `no token named "${tokenName}"`);
  }
}

/** Names people and programs give tokens; `fn:` names are the function worker's own. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$/;
const TOKEN = /^cfx_([a-f0-9]{16})_([A-Za-z0-9_-]{43})$/;

/** The function worker's per-invocation tokens are named fn:<function>:<invocation>. */
export const FUNCTION_TOKEN_PREFIX = 'fn:';

/**
 * An expiry given as a duration from now ("30d") or a date (ISO 8601);
 * undefined when neither is given. Refuses a past date or bad text.
 */
export function resolveExpiry(input: { expiresIn?: string | number; expiresAt?: string }, now = Date.now()): Date | undefined {
  if (input.expiresIn !== undefined && input.expiresAt !== undefined) throw new TokenValidationError('expiresIn', 'give expiresIn or expiresAt, not both');
  if (input.expiresIn !== undefined) {
    const ms = typeof input.expiresIn === 'number' ? input.expiresIn * 1000 : parseDuration(input.expiresIn);
    if (!ms || !Number.isFinite(ms) || ms <= 0)
      throw new TokenValidationError(
        'expiresIn',
        `expiresIn must be a duration such as 30d, 12h or 15m (or a number of seconds), not ${JSON.stringify(input.expiresIn)}`,
      );
    return new Date(now + ms);
  }
  if (input.expiresAt !== undefined) {
    const t = Date.parse(input.expiresAt);
    if (!/^\d{4}-\d{2}-\d{2}/.test(input.expiresAt) || Number.isNaN(t))
      throw new TokenValidationError(
        'expiresAt',
        `expiresAt must be an ISO 8601 date or time (2026-12-31 or 2026-12-31T18:00:00Z), not ${JSON.stringify(input.expiresAt)}`,
      );
    if (t <= now) throw new TokenValidationError('expiresAt', `expiresAt ${input.expiresAt} is in the past`);
    return new Date(t);
  }
  return undefined;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

interface Row {
  id: string;
  name: string;
  role: Role;
  secret_hash: string;
  created_at: Date | string;
  created_by: string | null;
  expires_at: Date | string | null;
  revoked_at: Date | string | null;
  last_used_at: Date | string | null;
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

function toRecord(r: Row, now = Date.now()): TokenRecord {
  const expired = r.expires_at !== null && new Date(r.expires_at).getTime() <= now;
  return {
    id: r.id,
    name: r.name,
    role: r.role,
    createdAt: iso(r.created_at)!,
    createdBy: r.created_by,
    expiresAt: iso(r.expires_at),
    revokedAt: iso(r.revoked_at),
    lastUsedAt: iso(r.last_used_at),
    state: r.revoked_at !== null ? 'revoked' : expired ? 'expired' : 'active',
  };
}

const COLUMNS = 'id, name, role, secret_hash, created_at, created_by, expires_at, revoked_at, last_used_at';

/** last_used_at is written at most this often per token. */
const LAST_USED_EVERY_MS = 60_000;

export class TokenStore {
  private readonly lastUsedWritten = new Map<string, number>();

  constructor(
    private readonly db: Db,
    private readonly log: Logger = silentLogger,
  ) {}

  /** Creates a token; the answer's `token` is the only time the secret is seen. */
  async create(input: { name: string; role: Role; expiresAt?: Date; createdBy: string | null }): Promise<{ token: string; record: TokenRecord }> {
    if (typeof input.name !== 'string' || !NAME.test(input.name))
      throw new TokenValidationError('name', 'a token name is 1 to 128 letters, digits and . _ @ : - (starting with a letter or digit)');
    if (!ROLES.includes(input.role)) throw new TokenValidationError('role', `role must be one of ${ROLES.join(', ')}`);
    if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) throw new TokenValidationError('expiresAt', 'the expiry is in the past');
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const rows = await this.db.query<Row>(
      `INSERT INTO api_tokens (id, name, role, secret_hash, created_by, expires_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (name) DO NOTHING RETURNING ${COLUMNS}`,
      [id, input.name, input.role, sha256(secret).toString('hex'), input.createdBy, input.expiresAt?.toISOString() ?? null],
    );
    if (!rows[0]) throw new TokenExistsError(input.name);
    return { token: `cfx_${id}_${secret}`, record: toRecord(rows[0]) };
  }

  /** Who a bearer token is, or why it is no one. */
  async verify(bearer: string): Promise<VerifyResult> {
    const found = await this.lookup(bearer);
    if (!found.ok) return found;
    this.touch(found.row.id);
    return { ok: true, principal: { tokenId: found.row.id, name: found.row.name, role: found.row.role } };
  }

  /**
   * Whether this store issued a bearer token (whatever its state now), without
   * counting as a use: how the service tells its own admin token file from
   * another store's.
   */
  async issued(bearer: string): Promise<boolean> {
    const found = await this.lookup(bearer);
    return found.ok || found.reason === 'expired' || found.reason === 'revoked';
  }

  private async lookup(bearer: string): Promise<{ ok: true; row: Row } | { ok: false; reason: 'malformed' | 'unknown' | 'expired' | 'revoked' }> {
    const m = TOKEN.exec(bearer.trim());
    if (!m) return { ok: false, reason: 'malformed' };
    const [, id, secret] = m;
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM api_tokens WHERE id = $1`, [id]);
    const row = rows[0];
    // Hash and compare even for an unknown id, so the answer takes as long.
    const given = sha256(secret!);
    const stored = row ? Buffer.from(row.secret_hash, 'hex') : sha256('no such token');
    const match = stored.length === given.length && timingSafeEqual(stored, given);
    if (!row || !match) return { ok: false, reason: 'unknown' };
    if (row.revoked_at !== null) return { ok: false, reason: 'revoked' };
    if (row.expires_at !== null && new Date(row.expires_at).getTime() <= Date.now()) return { ok: false, reason: 'expired' };
    return { ok: true, row };
  }

  private touch(id: string): void {
    const now = Date.now();
    if (now - (this.lastUsedWritten.get(id) ?? 0) < LAST_USED_EVERY_MS) return;
    this.lastUsedWritten.set(id, now);
    this.db
      .query('UPDATE api_tokens SET last_used_at = now() WHERE id = $1', [id])
      .catch((err: Error) => this.log.warn("recording a token's last use failed", { err }));
  }

  /** Tokens, newest first, never with a secret; the function worker's ended ones only with `all`. */
  async list(opts: { all?: boolean } = {}): Promise<TokenRecord[]> {
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM api_tokens ORDER BY created_at DESC, name`);
    const now = Date.now();
    return rows.map((r) => toRecord(r, now)).filter((t) => opts.all || !t.name.startsWith(FUNCTION_TOKEN_PREFIX) || t.state === 'active');
  }

  async get(nameOrId: string): Promise<TokenRecord> {
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM api_tokens WHERE name = $1 OR id = $1 ORDER BY (name = $1) DESC LIMIT 1`, [nameOrId]);
    if (!rows[0]) throw new TokenNotFoundError(nameOrId);
    return toRecord(rows[0]);
  }

  /** Revokes a token by name (or id); revoking a revoked token changes nothing. */
  async revoke(nameOrId: string): Promise<TokenRecord> {
    const t = await this.get(nameOrId);
    const rows = await this.db.query<Row>(`UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 RETURNING ${COLUMNS}`, [t.id]);
    return toRecord(rows[0]!);
  }

  /**
   * Revokes every token minted for an invocation, all attempts: its process
   * or its worker died before revoking its own (a killed service, say).
   */
  async revokeForInvocation(functionName: string, invocationId: string): Promise<number> {
    const name = `${FUNCTION_TOKEN_PREFIX}${functionName}:${invocationId}`.slice(0, 128);
    const rows = await this.db.query(`UPDATE api_tokens SET revoked_at = now() WHERE revoked_at IS NULL AND (name = $1 OR name LIKE $2) RETURNING id`, [
      name,
      `${name.replace(/[\\%_]/g, '\\$&')}:%`,
    ]);
    return rows.length;
  }

  async count(): Promise<number> {
    const [r] = await this.db.query<{ n: number | string }>('SELECT count(*) AS n FROM api_tokens');
    return Number(r?.n ?? 0);
  }

  /**
   * A short-lived operator token for one function invocation, named
   * fn:<function>:<invocation>[:<attempt>], expiring with the function's
   * timeout; the worker revokes it when the invocation ends. Ended ones older
   * than a day are deleted here.
   */
  async mintForInvocation(functionName: string, invocationId: string, attempt: number, ttlMs: number): Promise<{ token: string; record: TokenRecord }> {
    await this.db.query(`DELETE FROM api_tokens WHERE name LIKE 'fn:%' AND COALESCE(revoked_at, expires_at) < now() - interval '1 day'`);
    const name = `${FUNCTION_TOKEN_PREFIX}${functionName}:${invocationId}${attempt > 1 ? `:${attempt}` : ''}`.slice(0, 128);
    await this.db.query(`DELETE FROM api_tokens WHERE name = $1`, [name]); // an attempt that died before revoking its own
    return this.create({ name, role: 'operator', expiresAt: new Date(Date.now() + ttlMs), createdBy: 'function-worker' });
  }
}

/**
 * Where a store's bootstrap admin token is written: an explicit file,
 * CONFIX_ADMIN_TOKEN_FILE, else in the data directory: `admin.token` for the
 * embedded store (the data directory is that store's own: the file sits next
 * to the database it belongs to), `admin-<storeId>.token` for a PostgreSQL
 * server (the data directory is only this machine's folder for notes, which
 * an embedded store and any number of server databases may share).
 */
export function adminTokenFile(opts: { file?: string; dataDir: string; storeId?: string; embedded?: boolean }): string {
  if (opts.file || process.env.CONFIX_ADMIN_TOKEN_FILE) return (opts.file || process.env.CONFIX_ADMIN_TOKEN_FILE)!;
  const dir = opts.dataDir.replace(/\/+$/, '');
  return opts.embedded === false && opts.storeId ? storeTokenFile(`${dir}/admin.token`, opts.storeId) : `${dir}/admin.token`;
}

/** The file named by the store's identity next to `file`: where a store's admin token goes when `file` is another store's. */
export function storeTokenFile(file: string, storeId: string): string {
  return join(dirname(file), `admin-${storeId}.token`);
}

export interface BootstrapAdmin {
  /** Whether the admin token was created now (the first start). */
  created: boolean;
  /** The file holding this store's admin token, or (when none does) where the first start would have written it. */
  file: string;
  /** Whether `file` holds a token this store issued. */
  found: boolean;
}

/**
 * On first start (no token at all) creates the admin token `admin` and
 * writes it to `file`, readable by its owner only (0600); logs where it is,
 * never the secret. A file that exists already is never overwritten: it may
 * hold another store's only admin token (an embedded store and a PostgreSQL
 * database served from the same folder, or CONFIX_ADMIN_TOKEN_FILE shared by
 * two stores); the token goes to the file named by this store's identity
 * (`admin-<storeId>.token`) next to it instead. On a later start, answers
 * which of those files holds a token this store issued.
 *
 * `earlier` are files an earlier confix may have written this store's token
 * to (read, never written); `recover` says how to make a new admin token
 * with direct access to the store, for the log when no file of this store is
 * found.
 */
export async function ensureBootstrapAdmin(
  tokens: TokenStore,
  file: string,
  log: Logger,
  opts: { storeId?: string; earlier?: string[]; recover?: string } = {},
): Promise<BootstrapAdmin> {
  const candidates = [file];
  if (opts.storeId && storeTokenFile(file, opts.storeId) !== file) candidates.push(storeTokenFile(file, opts.storeId));
  if ((await tokens.count()) > 0) {
    for (const f of [...candidates, ...(opts.earlier ?? []).filter((e) => !candidates.includes(e))])
      if (await holdsTokenOf(tokens, f)) return { created: false, file: f, found: true };
    const recover = opts.recover ? `; without any admin token, make a new one with ${opts.recover}` : '';
    log.info(
      `API tokens exist; no admin token file of this store at ${candidates.join(' or ')}: the CLI here needs CONFIX_TOKEN or --token (an admin makes tokens with \`confix token create\`${recover})`,
      { file },
    );
    return { created: false, file, found: false };
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  // Claim the file before the token exists: a token nobody can read would lock everyone out.
  let fd: number | undefined;
  let chosen = file;
  for (const f of candidates) {
    try {
      fd = openSync(f, 'wx', 0o600);
      chosen = f;
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  if (fd === undefined) {
    log.warn(
      `first start, but ${candidates.join(' and ')} exist already and hold no token of this store (another store's admin token, or one left over); they are left alone and no admin token was created. ` +
        `Remove the stale one and start again, set CONFIX_ADMIN_TOKEN_FILE to another file, or make an admin token with direct access to the store${opts.recover ? `: ${opts.recover}` : ''}`,
      { file },
    );
    return { created: false, file, found: false };
  }
  if (chosen !== file) {
    log.warn(
      `${file} exists already and is not this store's (it may hold another store's admin token): it is left alone, and this store's admin token goes to ${chosen}`,
      { file, storeTokenFile: chosen },
    );
  }
  let created: { token: string };
  try {
    created = await tokens.create({ name: 'admin', role: 'admin', createdBy: 'bootstrap' });
  } catch (err) {
    closeSync(fd);
    rmSync(chosen, { force: true });
    if (err instanceof TokenExistsError) return { created: false, file, found: false }; // another service on the same database was first
    throw err;
  }
  try {
    writeSync(fd, created.token + '\n');
  } finally {
    closeSync(fd);
  }
  chmodSync(chosen, 0o600); // whatever the umask
  log.info(
    `first start: created the admin API token "admin"; it is in ${chosen} (readable by its owner only). The CLI on this machine finds it there; elsewhere pass it with --token or CONFIX_TOKEN`,
    { file: chosen },
  );
  return { created: true, file: chosen, found: true };
}

/** Whether `file` holds a token this store issued (an unreadable or foreign file does not). */
async function holdsTokenOf(tokens: TokenStore, file: string): Promise<boolean> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return false;
  }
  return tokens.issued(text.trim());
}
