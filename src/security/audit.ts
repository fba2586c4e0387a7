/**
 * The audit log: every API request that changes something (any method but
 * GET, HEAD and OPTIONS) and every refused request, with who (the token's
 * name and role), what (method, route pattern and its path parameters) and
 * how it ended (status and outcome). Never a request body or a secret.
 *
 * What one request may write is bounded, so that nobody (least of all a
 * caller without a token) can fill the store through it:
 *
 * - Every row's route, each target value and the reason are cut at
 *   AUDIT_LIMITS.fieldChars characters, noting how long they were
 *   ("/rules/aaaa… (15360 characters)"); a target keeps at most
 *   AUDIT_LIMITS.targetKeys path parameters. NUL characters, which
 *   PostgreSQL text cannot hold, are written as U+FFFD.
 * - Refusals of callers without a valid token (401: no token, a malformed,
 *   unknown, expired or revoked one; tokenName null) are written one row
 *   each up to AUDIT_LIMITS.unauthenticatedPerWindow rows in a window of
 *   AUDIT_LIMITS.windowMs (one minute), per service process. Past that they
 *   are counted, and when the window ends one summary row is written:
 *   method and route "*", status 401, outcome denied, target
 *   { suppressed: "N", from, to } and the reason "N more unauthenticated
 *   refusals suppressed (no token: 900, unknown: 40)". A timer writes it at
 *   the window's end (or the next refusal after it, whichever comes first;
 *   flush() writes it now). A process that stops with a summary pending
 *   loses at most that one minute's count.
 * - Requests with a valid token (their changes and their 403s) are never
 *   held back: each is written.
 *
 * Rows are kept CONFIX_AUDIT_RETENTION_DAYS days (default 365) and pruned
 * with the rest of the retention (src/store/retention.ts).
 */
import type { Db, Queryable } from '../store/index.js';

export type AuditOutcome = 'ok' | 'denied' | 'error';

export interface AuditEntry {
  id: number;
  time: string;
  tokenName: string | null;
  role: string | null;
  method: string;
  route: string;
  target: Record<string, string>;
  status: number;
  outcome: AuditOutcome;
  reason: string | null;
}

export const AUDIT_LIMITS = {
  /** Characters kept of a route, of each target value and of a reason; longer ones are cut, noting their length. */
  fieldChars: 512,
  /** Path parameters kept in a target. */
  targetKeys: 16,
  /** Characters kept of a method. */
  methodChars: 16,
  /** Rows written for refusals of callers without a valid token, per window and process; the rest go into one summary row. */
  unauthenticatedPerWindow: 60,
  /** The window of that limit. */
  windowMs: 60_000,
} as const;

export interface AuditLogOptions {
  /** Default AUDIT_LIMITS.unauthenticatedPerWindow. */
  unauthenticatedPerWindow?: number;
  /** Default AUDIT_LIMITS.windowMs. */
  windowMs?: number;
  /** The clock (tests). */
  now?: () => number;
  /** Told when writing a summary row from the timer fails (nobody else would hear of it). */
  onError?: (err: Error) => void;
}

interface Row {
  id: number | string;
  time: Date | string;
  token_name: string | null;
  role: string | null;
  method: string;
  route: string;
  target: Record<string, string> | string;
  status: number;
  outcome: AuditOutcome;
  reason: string | null;
}

/** `s` cut at `max` characters (never inside a surrogate pair), noting how long it was; NUL written as U+FFFD. */
export function clip(s: string, max: number = AUDIT_LIMITS.fieldChars): string {
  let out = s;
  if (s.length > max) {
    let end = max;
    const last = s.charCodeAt(end - 1);
    if (last >= 0xd800 && last <= 0xdbff) end--; // a high surrogate: keep the pair whole by dropping it
    out = `${s.slice(0, end)}… (${s.length} characters)`;
  }
  return out.includes('\0') ? out.replace(/\0/g, '\ufffd') : out;
}

function clipTarget(target: Record<string, string>): Record<string, string> {
  const entries = Object.entries(target);
  const out: Record<string, string> = {};
  for (const [k, v] of entries.slice(0, AUDIT_LIMITS.targetKeys)) out[clip(k, 64)] = clip(String(v));
  if (entries.length > AUDIT_LIMITS.targetKeys) out['…'] = `${entries.length - AUDIT_LIMITS.targetKeys} more parameters`;
  return out;
}

type NewEntry = Omit<AuditEntry, 'id' | 'time'>;

export class AuditLog {
  private readonly perWindow: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly onError: (err: Error) => void;
  /** The current window of unauthenticated refusals. */
  private windowStart = Number.NEGATIVE_INFINITY;
  private written = 0;
  private suppressed = 0;
  private byReason = new Map<string, number>();
  private suppressedFrom = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    opts: AuditLogOptions = {},
  ) {
    this.perWindow = opts.unauthenticatedPerWindow ?? AUDIT_LIMITS.unauthenticatedPerWindow;
    this.windowMs = opts.windowMs ?? AUDIT_LIMITS.windowMs;
    this.now = opts.now ?? Date.now;
    this.onError = opts.onError ?? (() => undefined);
  }

  /**
   * Writes one entry, its fields cut to their limits; a refusal of a caller
   * without a valid token past this window's allowance is only counted, into
   * the window's summary row.
   */
  async record(e: NewEntry): Promise<void> {
    if (e.tokenName === null && e.outcome === 'denied') {
      const now = this.now();
      if (now >= this.windowStart + this.windowMs) {
        // A new window: the last one's summary (if any) is written first, with this row.
        const summary = this.takeSummary();
        this.windowStart = now;
        this.written = 0;
        if (summary) await this.insert(summary);
      }
      if (this.written >= this.perWindow) {
        if (this.suppressed === 0) {
          this.suppressedFrom = this.windowStart;
          this.timer = setTimeout(() => void this.flush().catch(this.onError), Math.max(0, this.windowStart + this.windowMs - now));
          this.timer.unref();
        }
        this.suppressed++;
        const why = clip(e.reason ?? `HTTP ${e.status}`, 64);
        if (this.byReason.size < 20 || this.byReason.has(why)) this.byReason.set(why, (this.byReason.get(why) ?? 0) + 1);
        return;
      }
      this.written++;
    }
    await this.insert(e);
  }

  /** Writes the pending summary row of suppressed unauthenticated refusals, if there is one. */
  async flush(): Promise<void> {
    const summary = this.takeSummary();
    if (summary) await this.insert(summary);
  }

  /** The summary row of the refusals suppressed so far, which are then no longer pending. */
  private takeSummary(): NewEntry | undefined {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const n = this.suppressed;
    if (n === 0) return undefined;
    const reasons = [...this.byReason].sort((a, b) => b[1] - a[1]).map(([r, c]) => `${r}: ${c}`);
    const from = this.suppressedFrom;
    this.suppressed = 0;
    this.byReason = new Map();
    return {
      tokenName: null,
      role: null,
      method: '*',
      route: '*',
      target: { suppressed: String(n), from: new Date(from).toISOString(), to: new Date(from + this.windowMs).toISOString() },
      status: 401,
      outcome: 'denied',
      reason: `${n} more unauthenticated refusal${n === 1 ? '' : 's'} suppressed (${reasons.join(', ')})`,
    };
  }

  private async insert(e: NewEntry): Promise<void> {
    await this.db.query(`INSERT INTO audit_log (token_name, role, method, route, target, status, outcome, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [
      e.tokenName === null ? null : clip(e.tokenName, 256),
      e.role,
      clip(e.method, AUDIT_LIMITS.methodChars),
      clip(e.route),
      JSON.stringify(clipTarget(e.target)),
      e.status,
      e.outcome,
      e.reason === null ? null : clip(e.reason),
    ]);
  }

  /** Newest first. */
  async list(opts: { limit?: number; token?: string; outcome?: AuditOutcome } = {}): Promise<AuditEntry[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (opts.token !== undefined) {
      params.push(opts.token);
      where.push(`token_name = $${params.length}`);
    }
    if (opts.outcome !== undefined) {
      params.push(opts.outcome);
      where.push(`outcome = $${params.length}`);
    }
    params.push(Math.min(Math.max(opts.limit ?? 100, 1), 1000));
    const rows = await this.db.query<Row>(
      `SELECT id, time, token_name, role, method, route, target, status, outcome, reason FROM audit_log
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map((r) => ({
      id: Number(r.id),
      time: new Date(r.time).toISOString(),
      tokenName: r.token_name,
      role: r.role,
      method: r.method,
      route: r.route,
      target: typeof r.target === 'string' ? (JSON.parse(r.target) as Record<string, string>) : r.target,
      status: r.status,
      outcome: r.outcome,
      reason: r.reason,
    }));
  }
}

/** Deletes audit entries older than `before`, for retention (src/store/retention.ts; audit_log_time, migration 12, serves it). */
export async function pruneAuditBefore(q: Queryable, before: Date): Promise<number> {
  const [a] = await q.query<{ n: number }>('WITH gone AS (DELETE FROM audit_log WHERE time < $1 RETURNING 1) SELECT count(*)::int AS n FROM gone', [before]);
  return a?.n ?? 0;
}
