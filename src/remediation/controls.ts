/**
 * The error-percentage control: when more than `errorPercentage` of a rule's
 * recent executions failed, automatic remediation of that rule is paused —
 * its automatic executions stay queued and new ones wait with them — until
 * an operator resumes it. Concurrency and per-minute limits are applied where
 * executions are claimed (ExecutionStore.claim).
 */
import type { Db } from '../store/index.js';
import type { RemediationSpec } from './config.js';

/** How many of the latest finished executions make up "recent" (within the last hour, since the last resume). */
export const ERROR_WINDOW = 20;
/** Fewer finished executions than this never pause a rule: two failures out of three say little. */
export const ERROR_MIN_SAMPLE = 5;

export interface PauseState {
  paused: boolean;
  pausedAt: string | null;
  reason: string | null;
  resumedAt: string | null;
}

export class RemediationControls {
  constructor(private readonly db: Db) {}

  async state(ruleId: string): Promise<PauseState> {
    const [r] = await this.db.query<{ paused_at: Date | null; paused_reason: string | null; resumed_at: Date | null }>(
      'SELECT paused_at, paused_reason, resumed_at FROM remediations WHERE rule_id = $1',
      [ruleId],
    );
    const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);
    return { paused: !!r?.paused_at, pausedAt: iso(r?.paused_at), reason: r?.paused_reason ?? null, resumedAt: iso(r?.resumed_at) };
  }

  /** Pauses automatic remediation of a rule (an operator's choice, or the error control). False if it was already paused or has no remediation. */
  async pause(ruleId: string, reason: string): Promise<boolean> {
    const rows = await this.db.query('UPDATE remediations SET paused_at = now(), paused_reason = $2 WHERE rule_id = $1 AND paused_at IS NULL RETURNING 1', [
      ruleId,
      reason,
    ]);
    return rows.length === 1;
  }

  /** Resumes it; failures before now no longer count. False if it was not paused. */
  async resume(ruleId: string): Promise<boolean> {
    const rows = await this.db.query(
      'UPDATE remediations SET paused_at = NULL, paused_reason = NULL, resumed_at = now() WHERE rule_id = $1 AND paused_at IS NOT NULL RETURNING 1',
      [ruleId],
    );
    return rows.length === 1;
  }

  /**
   * After a failed execution: pauses the rule when the failures among its
   * recent executions exceed the error percentage. Answers with the reason
   * when this call paused it.
   */
  async afterFailure(ruleId: string, ruleName: string, spec: RemediationSpec): Promise<string | undefined> {
    const [r] = await this.db.query<{ n: number; failed: number }>(
      `WITH recent AS (
         SELECT x.status FROM remediation_executions x JOIN remediations m ON m.rule_id = x.rule_id
         WHERE x.rule_id = $1 AND x.status IN ('SUCCEEDED', 'FAILED') AND NOT x.dry_run
           AND x.finished_at > GREATEST(now() - interval '1 hour', COALESCE(m.resumed_at, '-infinity'))
         ORDER BY x.finished_at DESC LIMIT ${ERROR_WINDOW})
       SELECT count(*)::int AS n, count(*) FILTER (WHERE status = 'FAILED')::int AS failed FROM recent`,
      [ruleId],
    );
    if (!r || r.n < ERROR_MIN_SAMPLE) return undefined;
    const limit = spec.executionControls.errorPercentage;
    if (r.failed * 100 <= limit * r.n) return undefined;
    const reason = `${r.failed} of the last ${r.n} executions failed (${Math.round((r.failed * 100) / r.n)}%, above the ${limit}% error limit); resume with \`confix remediation resume ${ruleName}\` once the cause is fixed`;
    return (await this.pause(ruleId, reason)) ? reason : undefined;
  }
}
