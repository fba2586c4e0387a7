/**
 * The audit log: every API request that changes something (any method but
 * GET, HEAD and OPTIONS) and every refused request, with who (the token's
 * name and role), what (method, route pattern and its path parameters) and
 * how it ended (status and outcome). Never a request body or a secret.
 */
import type { Db } from '../store/index.js';

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

export class AuditLog {
  constructor(private readonly db: Db) {}

  async record(e: Omit<AuditEntry, 'id' | 'time'>): Promise<void> {
    await this.db.query(
      `INSERT INTO audit_log (token_name, role, method, route, target, status, outcome, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [e.tokenName, e.role, e.method, e.route, JSON.stringify(e.target), e.status, e.outcome, e.reason],
    );
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
