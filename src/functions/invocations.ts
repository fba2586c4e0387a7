/**
 * Invocations (task mode): every call of a function is a row with its input,
 * status, result or error, captured logs and duration. The rows are the
 * queue: the function worker claims them with a lease, like remediation
 * executions. An idempotency key makes asking twice answer the first
 * invocation. A running invocation whose worker died is run again (at most
 * MAX_ATTEMPTS times in all), as asynchronous invocations are retried by the
 * clouds.
 */
import { randomBytes } from 'node:crypto';
import type { Db, Queryable } from '../store/index.js';
import { Where, pageSize } from '../store/where.js';
import type { InvocationError, LogLine, InvocationResult } from './runtime.js';
import { FunctionNotFoundError } from './store.js';
import { ConfixError } from '../errors.js';

export type InvocationStatus = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'CANCELLED';
export const FINAL: InvocationStatus[] = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED'];
export const MAX_ATTEMPTS = 3;

export type InvocationSource =
  | { type: 'manual' }
  | { type: 'remediation'; id: string }
  | { type: 'rule'; id: string; rule: string }
  | { type: 'subscription'; id: string; subscription: string };

export interface Invocation {
  invocationId: string;
  functionName: string;
  version: number;
  status: InvocationStatus;
  source: InvocationSource;
  idempotencyKey: string | null;
  input: unknown;
  result: unknown;
  error: InvocationError | null;
  logs: LogLine[];
  logsTruncated: number;
  attempt: number;
  cancelRequested: boolean;
  durationMs: number | null;
  initDurationMs: number | null;
  maxRssMb: number | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

interface Row {
  invocation_id: string;
  function_name: string;
  version: number;
  status: InvocationStatus;
  source: InvocationSource;
  idempotency_key: string | null;
  input: unknown;
  result: unknown;
  error: InvocationError | null;
  logs: LogLine[];
  logs_truncated: number;
  attempt: number;
  cancel_requested: boolean;
  duration_ms: number | null;
  init_duration_ms: number | null;
  max_rss_mb: number | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

function toInvocation(r: Row): Invocation {
  return {
    invocationId: r.invocation_id,
    functionName: r.function_name,
    version: r.version,
    status: r.status,
    source: r.source,
    idempotencyKey: r.idempotency_key,
    input: r.input,
    result: r.result,
    error: r.error,
    logs: r.logs,
    logsTruncated: r.logs_truncated,
    attempt: r.attempt,
    cancelRequested: r.cancel_requested,
    durationMs: r.duration_ms,
    initDurationMs: r.init_duration_ms,
    maxRssMb: r.max_rss_mb,
    createdAt: iso(r.created_at)!,
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
  };
}

export class InvocationNotFoundError extends ConfixError {
  constructor(readonly invocationId: string) {
    super('InvocationNotFound', 'not_found', `no invocation ${invocationId}`);
  }
}

/** Cancelling one that has ended. */
export class InvocationFinishedError extends ConfixError {
  constructor(readonly invocation: Invocation) {
    super('InvocationFinished', 'conflict', `invocation ${invocation.invocationId} has already ended (${invocation.status})`, {
      details: { status: invocation.status },
    });
  }
}

export interface InvocationFilter {
  functionName?: string;
  status?: InvocationStatus;
  sourceType?: InvocationSource['type'];
  sourceId?: string;
  limit?: number;
}

export class InvocationStore {
  constructor(private readonly db: Db) {}

  /**
   * Queues an invocation of a function's version (the latest when none is
   * given). With an idempotency key already used for the function, answers
   * that invocation instead (`deduplicated`).
   */
  async enqueue(i: {
    functionName: string;
    version?: number;
    input?: unknown;
    idempotencyKey?: string;
    source?: InvocationSource;
  }): Promise<Invocation & { deduplicated: boolean }> {
    const id = `inv-${randomBytes(8).toString('hex')}`;
    const rows = await this.db.query<Row>(
      `INSERT INTO invocations (invocation_id, function_name, version, status, source, idempotency_key, input)
       SELECT $1, v.name, v.version, 'QUEUED', $4, $5, $6 FROM functions f JOIN function_versions v ON v.name = f.name
       WHERE f.name = $2 AND v.version = COALESCE($3::integer, f.latest_version)
       ON CONFLICT (function_name, idempotency_key) DO NOTHING RETURNING *`,
      [
        id,
        i.functionName,
        i.version ?? null,
        JSON.stringify(i.source ?? { type: 'manual' }),
        i.idempotencyKey ?? null,
        i.input === undefined ? null : JSON.stringify(i.input),
      ],
    );
    if (rows[0]) return { ...toInvocation(rows[0]), deduplicated: false };
    if (i.idempotencyKey !== undefined) {
      const [prior] = await this.db.query<Row>('SELECT * FROM invocations WHERE function_name = $1 AND idempotency_key = $2', [
        i.functionName,
        i.idempotencyKey,
      ]);
      if (prior) return { ...toInvocation(prior), deduplicated: true };
    }
    throw new FunctionNotFoundError(i.functionName, i.version);
  }

  /**
   * Fails the running invocations whose worker's lease ran out MAX_ATTEMPTS
   * times (RuntimeLost); answers them, so their API tokens can be revoked.
   */
  async failLost(): Promise<{ invocationId: string; functionName: string }[]> {
    const rows = await this.db.query<{ invocation_id: string; function_name: string }>(
      `UPDATE invocations SET status = 'FAILED', finished_at = now(), lease_owner = NULL, lease_expires_at = NULL,
         error = jsonb_build_object('type', 'RuntimeLost', 'message', 'the worker running the invocation stopped ' || attempt || ' times before it ended')
       WHERE status = 'RUNNING' AND lease_expires_at < now() AND attempt >= $1 RETURNING invocation_id, function_name`,
      [MAX_ATTEMPTS],
    );
    return rows.map((r) => ({ invocationId: r.invocation_id, functionName: r.function_name }));
  }

  /**
   * Claims queued invocations, and running ones whose worker's lease ran out
   * (their attempt counts; past MAX_ATTEMPTS they fail instead).
   */
  async claim(owner: string, limit: number, leaseMs: number): Promise<Invocation[]> {
    const rows = await this.db.query<Row>(
      `WITH c AS (
         SELECT invocation_id FROM invocations
         WHERE status = 'QUEUED' OR (status = 'RUNNING' AND lease_expires_at < now())
         ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)
       UPDATE invocations i SET status = 'RUNNING', attempt = i.attempt + 1, lease_owner = $1, started_at = now(),
         lease_expires_at = now() + make_interval(secs => $3::double precision / 1000)
       FROM c WHERE i.invocation_id = c.invocation_id RETURNING i.*`,
      [owner, limit, leaseMs],
    );
    return rows.map(toInvocation);
  }

  /** Keeps a running invocation's lease; answers the ids among `ids` someone asked to cancel. */
  async renew(ids: string[], owner: string, leaseMs: number): Promise<string[]> {
    if (!ids.length) return [];
    const rows = await this.db.query<{ invocation_id: string; cancel_requested: boolean }>(
      `UPDATE invocations SET lease_expires_at = now() + make_interval(secs => $3::double precision / 1000)
       WHERE invocation_id = ANY($1::text[]) AND lease_owner = $2 AND status = 'RUNNING' RETURNING invocation_id, cancel_requested`,
      [ids, owner, leaseMs],
    );
    return rows.filter((r) => r.cancel_requested).map((r) => r.invocation_id);
  }

  /** Appends log lines to a running invocation (seen before it ends); the end records the whole list again. */
  async appendLogs(id: string, owner: string, lines: LogLine[]): Promise<void> {
    if (!lines.length) return;
    await this.db.query(`UPDATE invocations SET logs = logs || $3::jsonb WHERE invocation_id = $1 AND lease_owner = $2 AND status = 'RUNNING'`, [
      id,
      owner,
      JSON.stringify(lines),
    ]);
  }

  /** Records the end, only if `owner` still holds it: an invocation ends once. */
  async finish(id: string, owner: string, r: InvocationResult): Promise<Invocation | undefined> {
    const rows = await this.db.query<Row>(
      `UPDATE invocations SET status = $3, result = $4, error = $5, logs = $6, logs_truncated = $7, duration_ms = $8, init_duration_ms = $9, max_rss_mb = $10,
         finished_at = now(), lease_owner = NULL, lease_expires_at = NULL
       WHERE invocation_id = $1 AND lease_owner = $2 AND status = 'RUNNING' RETURNING *`,
      [
        id,
        owner,
        r.status,
        r.result === undefined ? null : JSON.stringify(r.result),
        r.error ? JSON.stringify(r.error) : null,
        JSON.stringify(r.logs),
        r.logsTruncated,
        Math.round(r.durationMs),
        r.initDurationMs === undefined ? null : Math.round(r.initDurationMs),
        r.maxRssMb === undefined ? null : Math.round(r.maxRssMb),
      ],
    );
    return rows[0] ? toInvocation(rows[0]) : undefined;
  }

  /** Ends an invocation that could not start (its version or role is gone, …) as FAILED. */
  async fail(id: string, owner: string, error: InvocationError): Promise<Invocation | undefined> {
    return this.finish(id, owner, { requestId: id, status: 'FAILED', error, logs: [], logsTruncated: 0, durationMs: 0 });
  }

  /**
   * Stops an invocation: a queued one is cancelled at once; a running one is
   * marked, and its worker stops it within a second or so.
   */
  async cancel(id: string): Promise<Invocation> {
    const [queued] = await this.db.query<Row>(
      `UPDATE invocations SET status = 'CANCELLED', finished_at = now(), error = '{"type":"Cancelled","message":"cancelled before it started"}'
       WHERE invocation_id = $1 AND status = 'QUEUED' RETURNING *`,
      [id],
    );
    if (queued) return toInvocation(queued);
    const [running] = await this.db.query<Row>(`UPDATE invocations SET cancel_requested = true WHERE invocation_id = $1 AND status = 'RUNNING' RETURNING *`, [
      id,
    ]);
    if (running) return toInvocation(running);
    throw new InvocationFinishedError(await this.get(id));
  }

  /** Those of `ids` that have ended. */
  async finishedAmong(ids: string[]): Promise<Invocation[]> {
    if (!ids.length) return [];
    const rows = await this.db.query<Row>(`SELECT * FROM invocations WHERE invocation_id = ANY($1::text[]) AND status = ANY($2::text[])`, [ids, FINAL]);
    return rows.map(toInvocation);
  }

  async get(id: string): Promise<Invocation> {
    const [row] = await this.db.query<Row>('SELECT * FROM invocations WHERE invocation_id = $1', [id]);
    if (!row) throw new InvocationNotFoundError(id);
    return toInvocation(row);
  }

  /** Newest first. */
  async list(f: InvocationFilter = {}): Promise<Invocation[]> {
    const w = new Where().eq('function_name', f.functionName).eq('status', f.status).eq(`source->>'type'`, f.sourceType).eq(`source->>'id'`, f.sourceId);
    const rows = await this.db.query<Row>(
      `SELECT * FROM invocations ${w} ORDER BY created_at DESC, invocation_id LIMIT ${pageSize(f.limit, 50, 1000)}`,
      w.params,
    );
    return rows.map(toInvocation);
  }

  /** A function's log lines across its invocations, oldest first, each with its invocation. */
  async logs(functionName: string, o: { since?: Date; limit?: number } = {}): Promise<(LogLine & { invocationId: string; version: number })[]> {
    const rows = await this.db.query<{ invocation_id: string; version: number; time: string; level: LogLine['level']; message: string }>(
      `SELECT * FROM (
         SELECT i.invocation_id, i.version, l.time, l.level, l.message FROM invocations i, jsonb_to_recordset(i.logs) AS l(time text, level text, message text)
         WHERE i.function_name = $1 AND ($2::timestamptz IS NULL OR l.time::timestamptz > $2)
         ORDER BY l.time DESC LIMIT $3) x ORDER BY time`,
      [functionName, o.since ?? null, pageSize(o.limit, 200, 10_000)],
    );
    return rows.map((r) => ({ invocationId: r.invocation_id, version: r.version, time: r.time, level: r.level, message: r.message }));
  }
}

/** Deletes invocations that ended before `before`, for retention (src/store/retention.ts). */
export async function pruneInvocationsBefore(q: Queryable, before: Date): Promise<number> {
  const gone = await q.query('DELETE FROM invocations WHERE finished_at < $1 AND status = ANY($2::text[]) RETURNING 1', [before, FINAL]);
  return gone.length;
}
