/**
 * Retention: events and function invocations are kept for a while, not for
 * ever. The service prunes, once an hour, events older than the retention
 * (with their deliveries, unless one is still queued or in progress) and
 * ended invocations older than it (CONFIX_RETENTION_DAYS, default 30), and
 * audit log rows older than the audit retention (CONFIX_AUDIT_RETENTION_DAYS,
 * default 365: long, for who-did-what questions, but not for ever). Results,
 * timelines and executions are the compliance record and are kept.
 */
import type { Db } from './index.js';

export const DEFAULT_RETENTION_DAYS = 30;

/** CONFIX_RETENTION_DAYS (a whole number of days, at least 1), else 30. */
export function retentionDaysFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.CONFIX_RETENTION_DAYS;
  if (v === undefined || v === '') return DEFAULT_RETENTION_DAYS;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new Error(`CONFIX_RETENTION_DAYS must be a whole number of days, at least 1, not "${v}"`);
  return Number(v);
}

export const DEFAULT_AUDIT_RETENTION_DAYS = 365;

/** CONFIX_AUDIT_RETENTION_DAYS (a whole number of days, at least 1), else 365. */
export function auditRetentionDaysFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.CONFIX_AUDIT_RETENTION_DAYS;
  if (v === undefined || v === '') return DEFAULT_AUDIT_RETENTION_DAYS;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new Error(`CONFIX_AUDIT_RETENTION_DAYS must be a whole number of days, at least 1, not "${v}"`);
  return Number(v);
}

export interface PruneSummary {
  events: number;
  deliveries: number;
  invocations: number;
  /** Audit log rows. */
  audit: number;
}

export interface Retention {
  /** Days events and ended invocations are kept. */
  days: number;
  /** Days audit log rows are kept (default CONFIX_AUDIT_RETENTION_DAYS, else 365). */
  auditDays?: number;
}

/**
 * Deletes what is older than the retention before `now` (a number: the days
 * of events and invocations, the audit log's from CONFIX_AUDIT_RETENTION_DAYS);
 * answers how much went.
 */
export async function prune(db: Db, retention: number | Retention, now = new Date()): Promise<PruneSummary> {
  const { days, auditDays = auditRetentionDaysFromEnv() } = typeof retention === 'number' ? { days: retention } : retention;
  const before = new Date(now.getTime() - days * 86_400_000);
  const auditBefore = new Date(now.getTime() - auditDays * 86_400_000);
  return db.transaction(async (tx) => {
    // An event goes with its deliveries only when none is still on its way.
    const [d] = await tx.query<{ n: number }>(
      `WITH old AS (
         SELECT e.event_id FROM events e WHERE e.time < $1
           AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.event_id AND d.status IN ('QUEUED', 'IN_PROGRESS'))),
       gone AS (DELETE FROM deliveries d USING old WHERE d.event_id = old.event_id RETURNING 1)
       SELECT count(*)::int AS n FROM gone`,
      [before],
    );
    const events = await tx.query(
      `DELETE FROM events e WHERE e.time < $1
         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.event_id) RETURNING 1`,
      [before],
    );
    const invocations = await tx.query(
      `DELETE FROM invocations WHERE finished_at < $1 AND status IN ('SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED') RETURNING 1`,
      [before],
    );
    // audit_log_time (migration 12) serves this.
    const [a] = await tx.query<{ n: number }>(`WITH gone AS (DELETE FROM audit_log WHERE time < $1 RETURNING 1) SELECT count(*)::int AS n FROM gone`, [
      auditBefore,
    ]);
    return { events: events.length, deliveries: d?.n ?? 0, invocations: invocations.length, audit: a?.n ?? 0 };
  });
}
