/**
 * Remediation executions: one row per attempt to fix one resource. The rows
 * are the work queue: workers claim them with FOR UPDATE SKIP LOCKED and a
 * lease, so several workers can share one database, and a crashed worker's
 * lease runs out and its execution is taken up again.
 */
import { randomBytes } from 'node:crypto';
import type { Db } from '../store/index.js';
import { Where, pageSize } from '../store/where.js';
import { keyString, type ResourceKey } from '../providers/types.js';
import { ConfixError } from '../errors.js';

import { ACTIVE_STATUSES, EXECUTION_STATUSES, sqlList, type ExecutionStatus, type ExecutionTrigger } from './statuses.js';

export { EXECUTION_STATUSES, EXECUTION_TRIGGERS, ACTIVE_STATUSES, type ExecutionStatus, type ExecutionTrigger } from './statuses.js';
const ACTIVE_SQL = sqlList(ACTIVE_STATUSES);

/**
 * An action runs reread, reevaluate, parameters, credentials, preview, apply,
 * verify, confirm; a function (action `function:NAME`) reread, reevaluate,
 * preview, invoke, confirm; a rollback reread, credentials, apply, confirm.
 */
export const STEP_NAMES = ['reread', 'reevaluate', 'parameters', 'credentials', 'preview', 'apply', 'invoke', 'verify', 'confirm'] as const;

export interface Step {
  name: (typeof STEP_NAMES)[number];
  status: 'SUCCEEDED' | 'FAILED' | 'SKIPPED';
  startedAt: string;
  finishedAt: string;
  message: string;
  detail?: unknown;
}

export interface Execution extends ResourceKey {
  executionId: string;
  ruleId: string;
  ruleName: string;
  /** The rule's risk level now (1 critical, 2 warning, 3 info). */
  ruleRiskLevel: 1 | 2 | 3;
  /** The provider that governs the resource (sandbox, aws, …); null for a resource never recorded. */
  provider: string | null;
  /** The built-in action's name, or `function:NAME` for a function remediation. */
  action: string;
  status: ExecutionStatus;
  trigger: ExecutionTrigger;
  dryRun: boolean;
  attempt: number;
  notBefore: string;
  leaseOwner: string | null;
  leaseExpiresAt: string | null;
  parameters: Record<string, unknown> | null;
  steps: Step[];
  errorCode: string | null;
  errorMessage: string | null;
  /** For a FAILED execution: whether retrying can help (false: a refusal, a validation error, a service-managed or missing resource); null when not said. */
  retryable: boolean | null;
  priorState: unknown;
  rollbackOf: string | null;
  /** The configuration item of the resource the execution was queued for (automatic executions: their attempts are counted per item). */
  ciId: number | null;
  /** Who approved or rejected it (executions of rules whose remediation needs approval). */
  decidedBy: string | null;
  decidedAt: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

interface Row {
  execution_id: string;
  rule_id: string;
  name: string;
  risk_level: 1 | 2 | 3;
  provider: string | null;
  account_id: string;
  region_id: string;
  resource_type: string;
  resource_id: string;
  action: string;
  status: ExecutionStatus;
  trigger: ExecutionTrigger;
  dry_run: boolean;
  attempt: number;
  not_before: Date;
  lease_owner: string | null;
  lease_expires_at: Date | null;
  parameters: Record<string, unknown> | null;
  steps: Step[];
  error_code: string | null;
  error_message: string | null;
  retryable: boolean | null;
  prior_state: unknown;
  rollback_of: string | null;
  ci_id: number | string | null;
  decided_by: string | null;
  decided_at: Date | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

function toExecution(r: Row): Execution {
  return {
    executionId: r.execution_id,
    ruleId: r.rule_id,
    ruleName: r.name,
    ruleRiskLevel: r.risk_level,
    provider: r.provider ?? null,
    accountId: r.account_id,
    regionId: r.region_id,
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    action: r.action,
    status: r.status,
    trigger: r.trigger,
    dryRun: r.dry_run,
    attempt: r.attempt,
    notBefore: iso(r.not_before)!,
    leaseOwner: r.lease_owner,
    leaseExpiresAt: iso(r.lease_expires_at),
    parameters: r.parameters,
    steps: r.steps,
    errorCode: r.error_code,
    errorMessage: r.error_message,
    retryable: r.retryable ?? null,
    priorState: r.prior_state,
    rollbackOf: r.rollback_of,
    ciId: r.ci_id === null || r.ci_id === undefined ? null : Number(r.ci_id),
    decidedBy: r.decided_by,
    decidedAt: iso(r.decided_at),
    createdAt: iso(r.created_at)!,
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
  };
}

/** Serialises claims across workers (an arbitrary constant, confix's own). */
const CLAIM_LOCK = 0x636f6e66;

// The provider is the resource's (resources rows are never deleted: a deleted resource keeps its row).
const SELECT = `SELECT x.*, r.name, r.risk_level, res.provider FROM remediation_executions x JOIN rules r ON r.rule_id = x.rule_id
  LEFT JOIN resources res ON res.account_id = x.account_id AND res.region_id = x.region_id AND res.resource_type = x.resource_type AND res.resource_id = x.resource_id`;

/** One past execution, as automatic remediation weighs it. */
export interface ExecutionHistory {
  executionId: string;
  status: ExecutionStatus;
  trigger: ExecutionTrigger;
  dryRun: boolean;
  rollbackOf: string | null;
  attempt: number;
  ciId: number | null;
  errorCode: string | null;
  /** For a FAILED one: whether retrying can help (null: not said). */
  retryable: boolean | null;
  createdAt: Date;
  /** When it (last) started running; null while it has not. */
  startedAt: Date | null;
  finishedAt: Date | null;
  notBefore: Date;
}

export class ExecutionExistsError extends ConfixError {
  constructor(readonly executionId: string) {
    super('ExecutionExists', 'conflict', `an execution is already active for this rule and resource: ${executionId}`);
  }
}

export class ExecutionStore {
  constructor(private readonly db: Db) {}

  /** Queues an execution; refuses when one is already active for the rule and resource. */
  async enqueue(e: {
    ruleId: string;
    key: ResourceKey;
    action: string;
    trigger: ExecutionTrigger;
    dryRun?: boolean;
    attempt?: number;
    notBefore?: Date;
    awaitingApproval?: boolean;
    rollbackOf?: string;
    ciId?: number | null;
  }): Promise<Execution> {
    const id = `rx-${randomBytes(8).toString('hex')}`;
    try {
      await this.db.query(
        `INSERT INTO remediation_executions (execution_id, rule_id, account_id, region_id, resource_type, resource_id, action, status, trigger, dry_run, attempt, not_before, rollback_of, ci_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
           -- The configuration item judged now, unless given: what automatic attempts are counted against.
           COALESCE($14, (SELECT ci_id FROM evaluation_results WHERE rule_id = $2 AND account_id = $3 AND region_id = $4 AND resource_type = $5 AND resource_id = $6)))`,
        [
          id,
          e.ruleId,
          e.key.accountId,
          e.key.regionId,
          e.key.resourceType,
          e.key.resourceId,
          e.action,
          e.awaitingApproval ? 'AWAITING_APPROVAL' : 'QUEUED',
          e.trigger,
          e.dryRun ?? false,
          e.attempt ?? 1,
          e.notBefore ?? new Date(),
          e.rollbackOf ?? null,
          e.ciId ?? null,
        ],
      );
    } catch (err) {
      if ((err as { code?: string }).code !== '23505') throw err;
      const [active] = await this.db.query<{ execution_id: string }>(
        `SELECT execution_id FROM remediation_executions WHERE rule_id = $1 AND account_id = $2 AND region_id = $3 AND resource_type = $4 AND resource_id = $5
           AND status IN (${ACTIVE_SQL})`,
        [e.ruleId, e.key.accountId, e.key.regionId, e.key.resourceType, e.key.resourceId],
      );
      throw new ExecutionExistsError(active?.execution_id ?? '(unknown)');
    }
    return this.get(id);
  }

  /**
   * Queues many executions of one kind in one statement (a bulk "remediate
   * all"). Answers with those queued, and, for resources that already have an
   * active execution of the rule, its id.
   */
  async enqueueMany(e: {
    ruleId: string;
    /** Each with, optionally, its attempt number (default 1), when it is due (default now) and the configuration item it is for. */
    keys: (ResourceKey & { attempt?: number; notBefore?: Date; ciId?: number | null })[];
    action: string;
    trigger: ExecutionTrigger;
    dryRun?: boolean;
    awaitingApproval?: boolean;
  }): Promise<{ queued: Execution[]; existing: Map<string, string> }> {
    const existing = new Map<string, string>();
    if (e.keys.length === 0) return { queued: [], existing };
    const rows = e.keys.map((k) => ({
      id: `rx-${randomBytes(8).toString('hex')}`,
      a: k.accountId,
      r: k.regionId,
      t: k.resourceType,
      i: k.resourceId,
      n: k.attempt ?? 1,
      nb: k.notBefore?.toISOString() ?? null,
      ci: k.ciId ?? null,
    }));
    const inserted = await this.db.query<{ execution_id: string }>(
      `INSERT INTO remediation_executions (execution_id, rule_id, account_id, region_id, resource_type, resource_id, action, status, trigger, dry_run, attempt, not_before, ci_id)
       SELECT k.id, $2, k.a, k.r, k.t, k.i, $3, $4, $5, $6, k.n, COALESCE(k.nb, now()),
         COALESCE(k.ci, (SELECT e.ci_id FROM evaluation_results e WHERE e.rule_id = $2 AND e.account_id = k.a AND e.region_id = k.r AND e.resource_type = k.t AND e.resource_id = k.i))
       FROM jsonb_to_recordset($1::jsonb) AS k(id text, a text, r text, t text, i text, n int, nb timestamptz, ci bigint)
       ON CONFLICT (rule_id, account_id, region_id, resource_type, resource_id) WHERE status IN (${ACTIVE_SQL}) DO NOTHING
       RETURNING execution_id`,
      [JSON.stringify(rows), e.ruleId, e.action, e.awaitingApproval ? 'AWAITING_APPROVAL' : 'QUEUED', e.trigger, e.dryRun ?? false],
    );
    if (inserted.length < rows.length) {
      const got = new Set(inserted.map((r) => r.execution_id));
      const left = rows.filter((r) => !got.has(r.id));
      const active = await this.db.query<{ execution_id: string; account_id: string; region_id: string; resource_type: string; resource_id: string }>(
        `SELECT x.execution_id, x.account_id, x.region_id, x.resource_type, x.resource_id FROM remediation_executions x
           JOIN jsonb_to_recordset($2::jsonb) AS k(a text, r text, t text, i text)
             ON x.account_id = k.a AND x.region_id = k.r AND x.resource_type = k.t AND x.resource_id = k.i
         WHERE x.rule_id = $1 AND x.status IN (${ACTIVE_SQL})`,
        [e.ruleId, JSON.stringify(left)],
      );
      for (const x of active)
        existing.set(keyString({ accountId: x.account_id, regionId: x.region_id, resourceType: x.resource_type, resourceId: x.resource_id }), x.execution_id);
    }
    // In the order asked for (one statement gives them all the same created_at).
    const order = new Map(rows.map((r, i) => [r.id, i]));
    const queued = (await this.getMany(inserted.map((r) => r.execution_id))).sort((a, b) => order.get(a.executionId)! - order.get(b.executionId)!);
    return { queued, existing };
  }

  /**
   * The latest executions (newest first, at most `perKey`) of a rule for each
   * of `keys`: what automatic remediation counts attempts from.
   */
  async historyFor(ruleId: string, keys: ResourceKey[], perKey = 50): Promise<Map<string, ExecutionHistory[]>> {
    const out = new Map<string, ExecutionHistory[]>();
    for (const k of keys) out.set(keyString(k), []);
    if (keys.length === 0) return out;
    const rows = await this.db.query<{
      a: string;
      r: string;
      t: string;
      i: string;
      execution_id: string;
      status: ExecutionStatus;
      trigger: ExecutionTrigger;
      dry_run: boolean;
      rollback_of: string | null;
      attempt: number;
      ci_id: number | string | null;
      error_code: string | null;
      retryable: boolean | null;
      created_at: Date;
      started_at: Date | null;
      finished_at: Date | null;
      not_before: Date;
    }>(
      `SELECT k.a, k.r, k.t, k.i, h.* FROM jsonb_to_recordset($2::jsonb) AS k(a text, r text, t text, i text)
       CROSS JOIN LATERAL (
         SELECT x.execution_id, x.status, x.trigger, x.dry_run, x.rollback_of, x.attempt, x.ci_id, x.error_code, x.retryable, x.created_at, x.started_at, x.finished_at, x.not_before
         FROM remediation_executions x
         WHERE x.rule_id = $1 AND x.resource_id = k.i AND x.account_id = k.a AND x.region_id = k.r AND x.resource_type = k.t
         ORDER BY x.created_at DESC, x.execution_id DESC LIMIT $3) h`,
      [ruleId, JSON.stringify(keys.map((k) => ({ a: k.accountId, r: k.regionId, t: k.resourceType, i: k.resourceId }))), perKey],
    );
    for (const r of rows)
      out.get(keyString({ accountId: r.a, regionId: r.r, resourceType: r.t, resourceId: r.i }))?.push({
        executionId: r.execution_id,
        status: r.status,
        trigger: r.trigger,
        dryRun: r.dry_run,
        rollbackOf: r.rollback_of,
        attempt: r.attempt,
        ciId: r.ci_id === null ? null : Number(r.ci_id),
        errorCode: r.error_code,
        retryable: r.retryable ?? null,
        createdAt: new Date(r.created_at),
        startedAt: r.started_at ? new Date(r.started_at) : null,
        finishedAt: r.finished_at ? new Date(r.finished_at) : null,
        notBefore: new Date(r.not_before),
      });
    return out;
  }

  /**
   * Points an execution that is running at the rule's remediation as it is
   * now (its remediation changed after it was queued). False when `owner`
   * no longer holds it.
   */
  async retarget(id: string, owner: string, action: string): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE remediation_executions SET action = $3 WHERE execution_id = $1 AND lease_owner = $2 AND status = 'IN_PROGRESS' RETURNING 1`,
      [id, owner, action],
    );
    return rows.length === 1;
  }

  async get(id: string): Promise<Execution> {
    const [row] = await this.db.query<Row>(`${SELECT} WHERE x.execution_id = $1`, [id]);
    if (!row) throw new ExecutionNotFoundError(id);
    return toExecution(row);
  }

  /** Several executions by id, in one query (ids not found are left out). */
  async getMany(ids: string[]): Promise<Execution[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.query<Row>(`${SELECT} WHERE x.execution_id = ANY($1::text[]) ORDER BY x.created_at, x.execution_id`, [ids]);
    return rows.map(toExecution);
  }

  async list(f: { ruleId?: string; status?: ExecutionStatus; resource?: ResourceKey; provider?: string; limit?: number } = {}): Promise<Execution[]> {
    const w = new Where().eq('x.rule_id', f.ruleId).eq('x.status', f.status).resource('x', f.resource).eq('res.provider', f.provider);
    const rows = await this.db.query<Row>(`${SELECT} ${w} ORDER BY x.created_at DESC, x.execution_id LIMIT ${pageSize(f.limit, 100, 10000)}`, w.params);
    return rows.map(toExecution);
  }

  /**
   * Claims up to `limit` runnable executions for `owner`: queued ones that are
   * due, and in-progress ones whose lease ran out (their worker died). Each
   * rule's execution controls hold back the rest: no more than `concurrency`
   * running at once, no more than `perMinute` started in the last minute, and
   * none of its automatic executions while its automatic remediation is
   * paused. Claims are serialised by an advisory lock so that workers sharing
   * a database cannot both see room for the same slot.
   */
  async claim(owner: string, limit: number, leaseMs: number): Promise<Execution[]> {
    return this.db.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(${CLAIM_LOCK})`);
      const rows = await tx.query<Row>(
        // The oldest due executions only (bounded, so a deep queue costs no more
        // than a shallow one), then each rule's share of them.
        `WITH cand AS (
           (SELECT execution_id, rule_id, not_before, created_at FROM remediation_executions
            WHERE status = 'QUEUED' AND not_before <= now()
              AND NOT (trigger = 'AUTOMATIC' AND rule_id IN (SELECT rule_id FROM remediations WHERE paused_at IS NOT NULL))
            ORDER BY not_before, created_at LIMIT 500)
           UNION ALL
           (SELECT execution_id, rule_id, not_before, created_at FROM remediation_executions
            WHERE status = 'IN_PROGRESS' AND lease_expires_at < now() LIMIT 500)),
         due AS MATERIALIZED (
           SELECT c.*, row_number() OVER (PARTITION BY c.rule_id ORDER BY c.not_before, c.created_at) AS n FROM cand c),
         load AS MATERIALIZED (
           SELECT d.rule_id,
             (SELECT count(*) FROM remediation_executions r WHERE r.rule_id = d.rule_id AND r.status = 'IN_PROGRESS' AND r.lease_expires_at >= now()) AS running,
             (SELECT count(*) FROM remediation_executions r WHERE r.rule_id = d.rule_id AND r.started_at > now() - interval '1 minute') AS recent
           FROM (SELECT DISTINCT rule_id FROM due) d),
         allowed AS (
           SELECT d.execution_id FROM due d JOIN load l ON l.rule_id = d.rule_id LEFT JOIN remediations m ON m.rule_id = d.rule_id
           WHERE d.n <= LEAST(COALESCE((m.spec -> 'executionControls' ->> 'concurrency')::int, 10) - l.running,
                              COALESCE((m.spec -> 'executionControls' ->> 'perMinute')::int, 600) - l.recent)
           ORDER BY d.not_before, d.created_at LIMIT $2),
         c AS (
           SELECT execution_id FROM remediation_executions WHERE execution_id IN (SELECT execution_id FROM allowed) FOR UPDATE SKIP LOCKED)
         UPDATE remediation_executions x SET status = 'IN_PROGRESS', lease_owner = $1,
           lease_expires_at = now() + make_interval(secs => $3::double precision / 1000), started_at = COALESCE(x.started_at, now())
         FROM c, rules r WHERE x.execution_id = c.execution_id AND r.rule_id = x.rule_id
         RETURNING x.*, r.name, r.risk_level,
           (SELECT res.provider FROM resources res WHERE res.account_id = x.account_id AND res.region_id = x.region_id AND res.resource_type = x.resource_type AND res.resource_id = x.resource_id) AS provider`,
        [owner, limit, leaseMs],
      );
      return rows.map(toExecution);
    });
  }

  /**
   * Approves executions waiting for approval: they are queued to run now.
   * Answers with those that were waiting; the others are left as they are.
   */
  async approve(ids: string[], by: string): Promise<Execution[]> {
    const rows = await this.db.query<{ execution_id: string }>(
      `UPDATE remediation_executions SET status = 'QUEUED', not_before = GREATEST(not_before, now()), decided_by = $2, decided_at = now()
       WHERE execution_id = ANY($1::text[]) AND status = 'AWAITING_APPROVAL' RETURNING execution_id`,
      [ids, by],
    );
    return this.getMany(rows.map((r) => r.execution_id));
  }

  /** Rejects executions waiting for approval: they end CANCELLED with the reason, touching nothing. */
  async reject(ids: string[], by: string, reason: string): Promise<Execution[]> {
    const rows = await this.db.query<{ execution_id: string }>(
      `UPDATE remediation_executions SET status = 'CANCELLED', decided_by = $2, decided_at = now(), finished_at = now(),
         error_code = 'Rejected', error_message = $3
       WHERE execution_id = ANY($1::text[]) AND status = 'AWAITING_APPROVAL' RETURNING execution_id`,
      [ids, by, `rejected by ${by}: ${reason}`],
    );
    return this.getMany(rows.map((r) => r.execution_id));
  }

  /** Counts of a rule's executions by status. */
  async counts(ruleId: string): Promise<Record<ExecutionStatus, number>> {
    const rows = await this.db.query<{ status: ExecutionStatus; n: number }>(
      'SELECT status, count(*)::int AS n FROM remediation_executions WHERE rule_id = $1 GROUP BY status',
      [ruleId],
    );
    const out = Object.fromEntries(EXECUTION_STATUSES.map((s) => [s, 0])) as Record<ExecutionStatus, number>;
    for (const r of rows) out[r.status] = r.n;
    return out;
  }

  /** Saves progress and extends the lease; false when the lease was lost (another worker has it now). */
  async progress(
    id: string,
    owner: string,
    leaseMs: number,
    fields: { steps: Step[]; parameters?: Record<string, unknown> | null; priorState?: unknown },
  ): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE remediation_executions SET steps = $3, parameters = COALESCE($4, parameters), prior_state = COALESCE($5, prior_state),
         lease_expires_at = now() + make_interval(secs => $6::double precision / 1000)
       WHERE execution_id = $1 AND lease_owner = $2 AND status = 'IN_PROGRESS' RETURNING 1`,
      [
        id,
        owner,
        JSON.stringify(fields.steps),
        fields.parameters ? JSON.stringify(fields.parameters) : null,
        fields.priorState === undefined ? null : JSON.stringify(fields.priorState),
        leaseMs,
      ],
    );
    return rows.length === 1;
  }

  /** Extends the lease while a step runs; false when the lease was lost. */
  async renew(id: string, owner: string, leaseMs: number): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE remediation_executions SET lease_expires_at = now() + make_interval(secs => $3::double precision / 1000)
       WHERE execution_id = $1 AND lease_owner = $2 AND status = 'IN_PROGRESS' RETURNING 1`,
      [id, owner, leaseMs],
    );
    return rows.length === 1;
  }

  /** Ends an execution, only if `owner` still holds it: an execution ends exactly once. */
  async finish(
    id: string,
    owner: string,
    outcome: {
      status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
      steps: Step[];
      parameters?: Record<string, unknown>;
      errorCode?: string;
      errorMessage?: string;
      retryable?: boolean;
    },
  ): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE remediation_executions SET status = $3, steps = $4, error_code = $5, error_message = $6, parameters = COALESCE($7, parameters), retryable = $8,
         finished_at = now(), lease_owner = NULL, lease_expires_at = NULL
       WHERE execution_id = $1 AND lease_owner = $2 AND status = 'IN_PROGRESS' RETURNING 1`,
      [
        id,
        owner,
        outcome.status,
        JSON.stringify(outcome.steps),
        outcome.errorCode ?? null,
        outcome.errorMessage ?? null,
        outcome.parameters ? JSON.stringify(outcome.parameters) : null,
        outcome.status === 'FAILED' ? (outcome.retryable ?? null) : null,
      ],
    );
    return rows.length === 1;
  }
}

export class ExecutionNotFoundError extends ConfixError {
  constructor(readonly executionId: string) {
    super('ExecutionNotFound', 'not_found', `no execution ${executionId}`);
  }
}
