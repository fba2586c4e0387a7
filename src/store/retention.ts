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
import { pruneEventsBefore } from '../events/deliveries.js';
import { pruneInvocationsBefore } from '../functions/invocations.js';
import { pruneAuditBefore } from '../security/audit.js';

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
  // Each table's owner deletes its own rows, in one transaction.
  return db.transaction(async (tx) => {
    const { events, deliveries } = await pruneEventsBefore(tx, before);
    const invocations = await pruneInvocationsBefore(tx, before);
    const audit = await pruneAuditBefore(tx, auditBefore);
    return { events, deliveries, invocations, audit };
  });
}
