/**
 * Sealing secrets at rest: AES-256-GCM with one 32-byte key.
 *
 * The key comes from CONFIX_SECRET_KEY (32 bytes as base64 or hex), or a key
 * file (an explicit path, or CONFIX_SECRET_KEY_FILE), or — for the embedded
 * store only — a key generated into `<dataDir>/secret.key` (mode 0600) on
 * first start. The key itself is never logged, printed or put in an error.
 *
 * A sealed value is `v1:` + base64(keyId(4) | iv(12) | tag(16) | ciphertext):
 * the key id (the first bytes of an HMAC of a constant under the key, which
 * says nothing about the key) tells a changed key apart from a damaged value,
 * so each gets its own clear error instead of garbage.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { join, resolve } from 'node:path';
import { ConfixError } from '../errors.js';

const VERSION = 'v1';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KID_BYTES = 4;
const HOW_TO_MAKE_ONE = '`openssl rand -base64 32` makes one';

/** The key is missing, malformed, unsafe on disk, or does not open what was sealed. */
export class SecretKeyError extends ConfixError {
  constructor(message: string) {
    super('SecretKeyUnavailable', 'unavailable', message);
  }
}

/** A sealed value that is not one, or was changed after sealing. */
export class SealedValueError extends ConfixError {
  constructor(message: string) {
    super('SealedValueUnreadable', 'unavailable', message);
  }
}

export class SecretBox {
  readonly #key: Buffer;
  /** A short fingerprint of the key (hex), safe to show: it says nothing about the key. */
  readonly keyId: string;

  private constructor(key: Buffer) {
    if (key.length !== KEY_BYTES) throw new SecretKeyError(`the secret key must be ${KEY_BYTES} bytes, not ${key.length}; ${HOW_TO_MAKE_ONE}`);
    this.#key = Buffer.from(key);
    this.keyId = kid(this.#key).toString('hex');
  }

  /** A box for a key given as 32 raw bytes, or as text: base64 (standard or URL-safe) or 64 hex digits. */
  static fromKey(key: Buffer | string, what = 'the secret key'): SecretBox {
    return new SecretBox(typeof key === 'string' ? parseKey(key, what) : key);
  }

  /** A box with a fresh random key that lives only in this process (tests, one-shot scans). */
  static ephemeral(): SecretBox {
    return new SecretBox(randomBytes(KEY_BYTES));
  }

  /** A fresh random key as base64 text (what a generated key file holds). */
  static generateKey(): string {
    return randomBytes(KEY_BYTES).toString('base64');
  }

  /**
   * Seals plaintext. `context` (optional, e.g. the account id) is bound to the
   * sealed value as associated data: opening it under another context fails.
   */
  seal(plaintext: string, context?: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    if (context !== undefined) cipher.setAAD(Buffer.from(context, 'utf8'));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${VERSION}:${Buffer.concat([kid(this.#key), iv, cipher.getAuthTag(), ct]).toString('base64')}`;
  }

  /** Opens a sealed value; a wrong key or a damaged value is a clear error, never garbage. */
  open(sealed: string, context?: string): string {
    const colon = typeof sealed === 'string' ? sealed.indexOf(':') : -1;
    const version = colon > 0 ? sealed.slice(0, colon) : '';
    if (version !== VERSION) {
      throw new SealedValueError(
        colon > 0 && /^v\d+$/.test(version)
          ? `the stored credential is sealed in format ${version}, which this confix does not know; upgrade confix`
          : 'the stored credential is not a sealed value (it may have been written by hand or damaged)',
      );
    }
    const raw = Buffer.from(sealed.slice(colon + 1), 'base64');
    if (raw.length < KID_BYTES + IV_BYTES + TAG_BYTES) throw new SealedValueError('the stored credential is truncated or damaged; store it again');
    const storedKid = raw.subarray(0, KID_BYTES);
    if (!timingSafeEqual(storedKid, kid(this.#key))) {
      throw new SecretKeyError('the secret key does not open the stored credentials; was CONFIX_SECRET_KEY changed?');
    }
    const iv = raw.subarray(KID_BYTES, KID_BYTES + IV_BYTES);
    const tag = raw.subarray(KID_BYTES + IV_BYTES, KID_BYTES + IV_BYTES + TAG_BYTES);
    const ct = raw.subarray(KID_BYTES + IV_BYTES + TAG_BYTES);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, iv);
      decipher.setAuthTag(tag);
      if (context !== undefined) decipher.setAAD(Buffer.from(context, 'utf8'));
      return Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8');
    } catch {
      throw new SealedValueError(
        'the stored credential failed its integrity check: it was changed or damaged after it was sealed (or moved to another account); store it again',
      );
    }
  }

  // Never show the key, whatever prints the box.
  toJSON(): Record<string, string> {
    return { keyId: this.keyId };
  }

  [inspect.custom](): string {
    return `SecretBox { keyId: '${this.keyId}' }`;
  }
}

function kid(key: Buffer): Buffer {
  return createHmac('sha256', key).update('confix secret box key id').digest().subarray(0, KID_BYTES);
}

/** Parses a key given as text: 64 hex digits, or base64 / base64url of 32 bytes. The message never contains the key. */
export function parseKey(text: string, what = 'the secret key'): Buffer {
  const s = text.trim();
  const bad = () =>
    new SecretKeyError(`${what} must be ${KEY_BYTES} random bytes written as base64 (44 characters) or hex (64 characters); ${HOW_TO_MAKE_ONE}`);
  if (!s) throw new SecretKeyError(`${what} is empty; ${HOW_TO_MAKE_ONE}`);
  if (/^[0-9a-fA-F]{64}$/.test(s)) return Buffer.from(s, 'hex');
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(s)) throw bad();
  const buf = Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (buf.length !== KEY_BYTES) throw bad();
  return buf;
}

export type SecretKeySource = 'env' | 'file' | 'generated';

export interface LoadSecretBoxOptions {
  /** The embedded store's data directory: where a key is generated (secret.key) when none is given. */
  dataDir?: string;
  /** An explicit key file; wins over the environment. */
  keyFile?: string;
  /** The environment to read CONFIX_SECRET_KEY / CONFIX_SECRET_KEY_FILE from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export interface LoadedSecretBox {
  box: SecretBox;
  /** 'env': CONFIX_SECRET_KEY; 'file': a key file (given, or generated earlier in the data directory); 'generated': generated just now. */
  source: SecretKeySource;
  /** The key file read or written, when there is one. */
  file?: string;
}

/**
 * What to do when a PostgreSQL database is used without a key: exact
 * commands for both ways of giving one.
 */
export const MISSING_SERVER_KEY =
  'no secret key for the stored credentials: on a PostgreSQL database set CONFIX_SECRET_KEY or CONFIX_SECRET_KEY_FILE. ' +
  'Make a key once with `openssl rand -base64 32` (32 random bytes as base64) and give the same one to the service and every worker, ' +
  'either as CONFIX_SECRET_KEY=<the key>, or in a file only its owner can read, named by CONFIX_SECRET_KEY_FILE: ' +
  '`(umask 077; openssl rand -base64 32 > confix-secret.key)`, then CONFIX_SECRET_KEY_FILE=$PWD/confix-secret.key. ' +
  'Keep it: credentials stored with a key cannot be opened without it. ' +
  'confix generates a key only for the embedded store: one generated on this machine for a shared database would strand the credentials for every other process';

/** The key file confix generates in an embedded store's data directory. */
export function defaultKeyFile(dataDir: string): string {
  return join(resolve(dataDir), 'secret.key');
}

/**
 * Loads the key that seals the stored credentials: an explicit key file, else
 * CONFIX_SECRET_KEY, else CONFIX_SECRET_KEY_FILE, else `<dataDir>/secret.key`
 * (generated with mode 0600 when absent). Without a data directory (a shared
 * PostgreSQL database) a key must be given: one generated on one machine would
 * strand the credentials for every other process using the database.
 */
export function loadSecretBox(opts: LoadSecretBoxOptions = {}): LoadedSecretBox {
  const env = opts.env ?? process.env;
  if (opts.keyFile) return { box: readKeyFile(resolve(opts.keyFile), 'the key file'), source: 'file', file: resolve(opts.keyFile) };
  const fromEnv = env.CONFIX_SECRET_KEY;
  const fileEnv = env.CONFIX_SECRET_KEY_FILE;
  if (fromEnv && fileEnv) {
    throw new SecretKeyError('both CONFIX_SECRET_KEY and CONFIX_SECRET_KEY_FILE are set; set only one, so that it is clear which key seals the credentials');
  }
  if (fromEnv) return { box: SecretBox.fromKey(fromEnv, 'CONFIX_SECRET_KEY'), source: 'env' };
  if (fileEnv) return { box: readKeyFile(resolve(fileEnv), 'CONFIX_SECRET_KEY_FILE'), source: 'file', file: resolve(fileEnv) };
  if (!opts.dataDir) {
    throw new SecretKeyError(MISSING_SERVER_KEY);
  }
  const file = defaultKeyFile(opts.dataDir);
  if (existsSync(file)) return { box: readKeyFile(file, 'the key file'), source: 'file', file };
  mkdirSync(resolve(opts.dataDir), { recursive: true });
  const key = SecretBox.generateKey();
  try {
    // 'wx': never overwrite a key another process has just written.
    writeFileSync(file, key + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { box: readKeyFile(file, 'the key file'), source: 'file', file };
    throw err;
  }
  if (process.platform !== 'win32') chmodSync(file, 0o600); // whatever the umask did
  return { box: SecretBox.fromKey(key), source: 'generated', file };
}

/** Reads a key file, refusing one that group or others can access (as ssh does with private keys). */
function readKeyFile(file: string, what: string): SecretBox {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SecretKeyError(`${what} ${file} does not exist`);
    if (code === 'EACCES') throw new SecretKeyError(`${what} ${file} cannot be read by this user`);
    throw new SecretKeyError(`${what} ${file} cannot be read (${code ?? (err as Error).message})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new SecretKeyError(`${what} ${file} is not a regular file`);
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      throw new SecretKeyError(
        `the key file ${file} is accessible by group or others (mode ${mode}); a key file must be private to its owner: chmod 600 ${file}`,
      );
    }
    return SecretBox.fromKey(readFileSync(fd, 'utf8'), `the key in ${file}`);
  } finally {
    closeSync(fd);
  }
}

/** Says in words where the key came from, for a log line (never the key). */
export function describeKeySource(loaded: LoadedSecretBox): string {
  if (loaded.source === 'env') return 'CONFIX_SECRET_KEY';
  if (loaded.source === 'generated')
    return `a new key generated in ${loaded.file} (mode 0600; keep it with the data directory: without it the stored credentials cannot be opened)`;
  return `the key file ${loaded.file}`;
}
