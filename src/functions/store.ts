/**
 * Deployed functions: code and settings kept in numbered versions, as
 * Function Compute and Lambda keep them. A deploy whose code and settings are
 * those of the latest version makes no new version. Code is checked before it
 * is kept: it must compile and, loaded as at a cold start, export its handler.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Db, Queryable } from '../store/index.js';
import { parseRoleArn } from '../providers/index.js';
import { checkFunctionCode, type FunctionDefinition } from './runtime.js';
import { ConfixError } from '../errors.js';

export const FUNCTION_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const MAX_SOURCE_BYTES = 1024 * 1024;

export const deploySchema = z.strictObject({
  name: z.string().regex(FUNCTION_NAME, 'a function name: a letter, then letters, digits, "_" or "-" (at most 64)'),
  description: z.string().max(1024).default(''),
  fileName: z.string().regex(/^[^/\\]+\.(ts|mts|js|mjs|cjs)$/, 'the code file name, ending in .ts, .mts, .js, .mjs or .cjs'),
  source: z
    .string()
    .min(1, 'the code is empty')
    .refine((s) => Buffer.byteLength(s) <= MAX_SOURCE_BYTES, 'the code is larger than 1 MiB'),
  handler: z
    .string()
    .regex(/^[A-Za-z_$][A-Za-z0-9_$]*$/, 'the name of an exported function')
    .default('handler'),
  role: z
    .string()
    .min(1)
    .refine(
      (r) => !/^(acs|arn):/.test(r) || parseRoleArn(r) !== undefined,
      'a role name, or a role ARN (acs:ram::ACCOUNT:role/NAME or arn:aws:iam::ACCOUNT:role/NAME)',
    )
    .optional(),
  timeoutSeconds: z.int().min(1).max(900).default(60),
  memoryMb: z.int().min(64).max(3072).default(256),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'), z.string()).default({}),
});
export type DeployInput = z.input<typeof deploySchema>;

export interface FunctionVersion {
  name: string;
  version: number;
  fileName: string;
  codeSha256: string;
  handler: string;
  role: string | null;
  timeoutSeconds: number;
  memoryMb: number;
  env: Record<string, string>;
  createdAt: string;
  /** The code; absent in listings. */
  source?: string;
}

export interface FunctionInfo {
  name: string;
  description: string;
  latestVersion: number;
  createdAt: string;
  updatedAt: string;
  /** The latest version's settings. */
  latest: FunctionVersion;
}

export class FunctionNotFoundError extends ConfixError {
  constructor(
    readonly functionName: string,
    readonly version?: number,
  ) {
    super(
      'FunctionNotFound',
      'not_found',
      version === undefined
        ? `no function named "${functionName}"; deploy it with \`confix function deploy ${functionName} --file …\``
        : `function ${functionName} has no version ${version}`,
    );
  }
}

/** Settings or code refused at deploy; `issues` name each field (code problems with file, line and column). */
export class FunctionValidationError extends ConfixError {
  constructor(override readonly issues: { path: (string | number)[]; message: string }[]) {
    super('InvalidFunction', 'invalid', `the function is invalid: ${issues.map((i) => `${i.path.join('.') || '(function)'}: ${i.message}`).join('; ')}`, {
      issues,
    });
  }
}

/** A function still named by a rule or a subscription cannot be deleted. */
export class FunctionInUseError extends ConfixError {
  constructor(
    readonly functionName: string,
    readonly users: string[],
  ) {
    super('FunctionInUse', 'conflict', `function ${functionName} is still used by ${users.join(', ')}; change or delete those first`, { details: { users } });
  }
}

interface VersionRow {
  name: string;
  version: number;
  file_name: string;
  source?: string;
  code_sha256: string;
  handler: string;
  role: string | null;
  timeout_seconds: number;
  memory_mb: number;
  env: Record<string, string>;
  created_at: Date;
}

const toVersion = (r: VersionRow): FunctionVersion => ({
  name: r.name,
  version: r.version,
  fileName: r.file_name,
  codeSha256: r.code_sha256,
  handler: r.handler,
  role: r.role,
  timeoutSeconds: r.timeout_seconds,
  memoryMb: r.memory_mb,
  env: r.env,
  createdAt: new Date(r.created_at).toISOString(),
  ...(r.source !== undefined ? { source: r.source } : {}),
});

const VERSION_COLUMNS = 'v.name, v.version, v.file_name, v.code_sha256, v.handler, v.role, v.timeout_seconds, v.memory_mb, v.env, v.created_at';

/** What the runtime needs of a version. */
export function definitionOf(v: FunctionVersion & { source: string }): FunctionDefinition {
  return {
    name: v.name,
    version: String(v.version),
    fileName: v.fileName,
    source: v.source,
    handler: v.handler,
    timeoutSeconds: v.timeoutSeconds,
    memoryMb: v.memoryMb,
    env: v.env,
  };
}

export class FunctionStore {
  constructor(private readonly db: Db) {}

  /**
   * Deploys code and settings: a new version, unless they are the latest
   * version's (then `created` is false and nothing changes).
   */
  async deploy(raw: unknown): Promise<{ fn: FunctionInfo; version: FunctionVersion; created: boolean }> {
    const parsed = deploySchema.safeParse(raw);
    if (!parsed.success) throw new FunctionValidationError(parsed.error.issues.map((i) => ({ path: i.path as (string | number)[], message: i.message })));
    const d = parsed.data;
    const sha = createHash('sha256').update(d.source).digest('hex');
    const latest = await this.latestOrUndefined(d.name);
    const same =
      latest &&
      latest.codeSha256 === sha &&
      latest.fileName === d.fileName &&
      latest.handler === d.handler &&
      (latest.role ?? undefined) === d.role &&
      latest.timeoutSeconds === d.timeoutSeconds &&
      latest.memoryMb === d.memoryMb &&
      JSON.stringify(sortKeys(latest.env)) === JSON.stringify(sortKeys(d.env));
    if (same) {
      // The description alone may change without a version.
      await this.db.query('UPDATE functions SET description = $2, updated_at = now() WHERE name = $1 AND description <> $2', [d.name, d.description]);
      return { fn: await this.get(d.name), version: latest, created: false };
    }
    // Compiled and loaded as at a cold start (top-level code runs, briefly) before anything is kept.
    const check = await checkFunctionCode(d.source, d.fileName, {
      handler: d.handler,
      memoryMb: Math.max(d.memoryMb, 128),
      timeoutSeconds: Math.min(d.timeoutSeconds, 10),
      env: d.env,
    });
    if (!check.ok) {
      const e = check.error;
      // A compile error's message starts with its place (and shows the line); a load error's does not.
      const where = e.line ? `${d.fileName}:${e.line}${e.column ? `:${e.column}` : ''}: ` : '';
      const message = where && e.message.startsWith(where) ? e.message.slice(where.length) : e.message;
      throw new FunctionValidationError([{ path: ['source'], message: `${where}${e.type}: ${message}` }]);
    }
    const version = await this.db.transaction(async (tx) => {
      const [f] = await tx.query<{ latest_version: number }>(
        `INSERT INTO functions (name, description, latest_version) VALUES ($1, $2, 1)
         ON CONFLICT (name) DO UPDATE SET latest_version = functions.latest_version + 1, description = EXCLUDED.description, updated_at = now()
         RETURNING latest_version`,
        [d.name, d.description],
      );
      const n = f!.latest_version;
      await tx.query(
        `INSERT INTO function_versions (name, version, file_name, source, code_sha256, handler, role, timeout_seconds, memory_mb, env)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [d.name, n, d.fileName, d.source, sha, d.handler, d.role ?? null, d.timeoutSeconds, d.memoryMb, JSON.stringify(d.env)],
      );
      return n;
    });
    return { fn: await this.get(d.name), version: await this.version(d.name, version), created: true };
  }

  async list(): Promise<FunctionInfo[]> {
    return this.read();
  }

  async get(name: string): Promise<FunctionInfo> {
    const [f] = await this.read(name);
    if (!f) throw new FunctionNotFoundError(name);
    return f;
  }

  /** Functions with their latest version's settings: all, or the one named. */
  private async read(name?: string): Promise<FunctionInfo[]> {
    const rows = await this.db.query<VersionRow & { description: string; latest_version: number; f_created: Date; f_updated: Date }>(
      `SELECT ${VERSION_COLUMNS}, f.description, f.latest_version, f.created_at AS f_created, f.updated_at AS f_updated
       FROM functions f JOIN function_versions v ON v.name = f.name AND v.version = f.latest_version
       ${name === undefined ? '' : 'WHERE f.name = $1'} ORDER BY f.name`,
      name === undefined ? [] : [name],
    );
    return rows.map((r) => ({
      name: r.name,
      description: r.description,
      latestVersion: r.latest_version,
      createdAt: new Date(r.f_created).toISOString(),
      updatedAt: new Date(r.f_updated).toISOString(),
      latest: toVersion(r),
    }));
  }

  /** Every version, newest first (without code). */
  async versions(name: string): Promise<FunctionVersion[]> {
    const rows = await this.db.query<VersionRow>(`SELECT ${VERSION_COLUMNS} FROM function_versions v WHERE v.name = $1 ORDER BY v.version DESC`, [name]);
    if (!rows.length) throw new FunctionNotFoundError(name);
    return rows.map(toVersion);
  }

  /** One version with its code (the latest when none is given). */
  async version(name: string, version?: number, q: Queryable = this.db): Promise<FunctionVersion & { source: string }> {
    const rows = await q.query<VersionRow & { source: string }>(
      version === undefined
        ? `SELECT ${VERSION_COLUMNS}, v.source FROM function_versions v JOIN functions f ON f.name = v.name AND f.latest_version = v.version WHERE v.name = $1`
        : `SELECT ${VERSION_COLUMNS}, v.source FROM function_versions v WHERE v.name = $1 AND v.version = $2`,
      version === undefined ? [name] : [name, version],
    );
    if (!rows[0]) throw new FunctionNotFoundError(name, version);
    return toVersion(rows[0]) as FunctionVersion & { source: string };
  }

  private async latestOrUndefined(name: string): Promise<FunctionVersion | undefined> {
    try {
      return await this.version(name);
    } catch (err) {
      if (err instanceof FunctionNotFoundError) return undefined;
      throw err;
    }
  }

  /** Rules and subscriptions that name the function. */
  async usedBy(name: string): Promise<string[]> {
    const rules = await this.db.query<{ name: string }>(
      `SELECT r.name FROM rules r LEFT JOIN remediations m ON m.rule_id = r.rule_id
       WHERE r.source->>'function' = $1 OR m.spec->>'function' = $1 ORDER BY r.name`,
      [name],
    );
    const subs = await this.db.query<{ topic: string; name: string }>(
      `SELECT topic, name FROM subscriptions WHERE endpoint->>'type' = 'function' AND endpoint->>'function' = $1 ORDER BY topic, name`,
      [name],
    );
    return [...rules.map((r) => `rule ${r.name}`), ...subs.map((s) => `subscription ${s.topic}/${s.name}`)];
  }

  /** Deletes a function with its versions and invocations; refused while a rule or subscription names it. */
  async remove(name: string): Promise<void> {
    const users = await this.usedBy(name);
    if (users.length) throw new FunctionInUseError(name, users);
    const rows = await this.db.query('DELETE FROM functions WHERE name = $1 RETURNING 1', [name]);
    if (!rows.length) throw new FunctionNotFoundError(name);
  }
}

function sortKeys(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}
