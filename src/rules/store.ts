/** Rules in the store. Emits 'changed' after any write, so evaluators reload. */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { Db, Queryable } from '../store/index.js';
import type { Rule, RuleSpec } from './model.js';
import { ConfixError } from '../errors.js';

interface RuleRow {
  rule_id: string;
  name: string;
  description: string;
  source: Rule['source'];
  parameters: Record<string, string>;
  scope: Rule['scope'];
  triggers: Rule['triggers'];
  risk_level: Rule['riskLevel'];
  state: Rule['state'];
  origin: Rule['origin'];
  version: number;
  created_at: Date;
  updated_at: Date;
  last_evaluated_at: Date | null;
  remediation: Rule['remediation'] | null;
}

const SELECT_RULES = `SELECT r.*, m.spec AS remediation FROM rules r LEFT JOIN remediations m ON m.rule_id = r.rule_id`;

function toRule(r: RuleRow): Rule {
  const rule: Rule = {
    ruleId: r.rule_id,
    name: r.name,
    description: r.description,
    source: r.source,
    parameters: r.parameters,
    scope: r.scope,
    triggers: r.triggers,
    riskLevel: r.risk_level,
    state: r.state,
    origin: r.origin,
    version: r.version,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
    lastEvaluatedAt: r.last_evaluated_at ? new Date(r.last_evaluated_at).toISOString() : null,
  };
  if (r.remediation) rule.remediation = r.remediation;
  return rule;
}

/** Writes (or removes) a rule's remediation in the caller's transaction. */
async function saveRemediation(tx: Queryable, ruleId: string, spec: RuleSpec['remediation']): Promise<void> {
  if (!spec) {
    await tx.query('DELETE FROM remediations WHERE rule_id = $1', [ruleId]);
    return;
  }
  await tx.query(
    `INSERT INTO remediations (rule_id, spec) VALUES ($1, $2)
     ON CONFLICT (rule_id) DO UPDATE SET spec = EXCLUDED.spec, updated_at = now()
       WHERE remediations.spec IS DISTINCT FROM EXCLUDED.spec`,
    [ruleId, JSON.stringify(spec)],
  );
}

export class RuleNotFoundError extends ConfixError {
  constructor(readonly ruleName: string) {
    super('RuleNotFound', 'not_found', `no rule named "${ruleName}"`);
  }
}

export class RuleExistsError extends ConfixError {
  constructor(readonly ruleName: string) {
    super('RuleExists', 'conflict', `a rule named "${ruleName}" already exists`);
  }
}

/** The fields a change compares: what makes a rule different. */
export function specOf(r: Rule | RuleSpec): RuleSpec {
  const spec: RuleSpec = {
    name: r.name,
    description: r.description,
    source: r.source,
    parameters: r.parameters,
    scope: r.scope,
    triggers: r.triggers,
    riskLevel: r.riskLevel,
    state: r.state,
  };
  if (r.remediation) spec.remediation = r.remediation;
  return spec;
}

/** A spec's columns in table order: name, description, source, parameters, scope, triggers, risk_level, state. */
const specColumns = (spec: RuleSpec) => [
  spec.name,
  spec.description,
  JSON.stringify(spec.source),
  JSON.stringify(spec.parameters),
  JSON.stringify(spec.scope),
  JSON.stringify(spec.triggers),
  spec.riskLevel,
  spec.state,
];

export class RuleStore extends EventEmitter {
  constructor(private readonly db: Db) {
    super();
    this.setMaxListeners(100);
  }

  /** When a rule's remediation was last set or changed (undefined without one): automatic attempts count from then. */
  async remediationChangedAt(ruleId: string, q: Queryable = this.db): Promise<Date | undefined> {
    const [r] = await q.query<{ updated_at: Date }>('SELECT updated_at FROM remediations WHERE rule_id = $1', [ruleId]);
    return r ? new Date(r.updated_at) : undefined;
  }

  /** Active periodic rules whose next run is due (or was never set), by name. */
  async duePeriodic(now: Date): Promise<string[]> {
    const due = await this.db.query<{ name: string }>(
      `SELECT name FROM rules WHERE state = 'ACTIVE' AND triggers @> '[{"type":"Periodic"}]'::jsonb AND (next_periodic_at IS NULL OR next_periodic_at <= $1)`,
      [now],
    );
    return due.map((d) => d.name);
  }

  /** Rules were evaluated at `at`: their periodic ones are next due their period later. */
  async markEvaluated(rules: { ruleId: string; periodicSeconds?: number }[], at: Date): Promise<void> {
    if (!rules.length) return;
    await this.db.query(
      `UPDATE rules SET last_evaluated_at = $2,
         next_periodic_at = CASE WHEN triggers @> '[{"type":"Periodic"}]'::jsonb THEN $2::timestamptz + make_interval(secs => ($3::jsonb ->> rule_id)::double precision) ELSE NULL END
       WHERE rule_id = ANY($1::text[])`,
      [rules.map((r) => r.ruleId), at, JSON.stringify(Object.fromEntries(rules.map((r) => [r.ruleId, r.periodicSeconds ?? 0])))],
    );
  }

  async list(q: Queryable = this.db): Promise<Rule[]> {
    return (await q.query<RuleRow>(`${SELECT_RULES} ORDER BY r.name`)).map(toRule);
  }

  async get(name: string, q: Queryable = this.db): Promise<Rule> {
    const [row] = await q.query<RuleRow>(`${SELECT_RULES} WHERE r.name = $1 OR r.rule_id = $1`, [name]);
    if (!row) throw new RuleNotFoundError(name);
    return toRule(row);
  }

  async create(spec: RuleSpec, origin: Rule['origin'] = 'api', q?: Queryable): Promise<Rule> {
    const run = async (tx: Queryable) => {
      const [exists] = await tx.query('SELECT 1 FROM rules WHERE name = $1', [spec.name]);
      if (exists) throw new RuleExistsError(spec.name);
      const [row] = await tx.query<RuleRow>(
        `INSERT INTO rules (rule_id, name, description, source, parameters, scope, triggers, risk_level, state, origin)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
        [`cr-${randomBytes(8).toString('hex')}`, ...specColumns(spec), origin],
      );
      await saveRemediation(tx, row!.rule_id, spec.remediation);
      return toRule({ ...row!, remediation: spec.remediation ?? null });
    };
    const rule = q ? await run(q) : await this.db.transaction(run);
    if (!q) this.emit('changed');
    return rule;
  }

  async update(name: string, spec: RuleSpec, origin?: Rule['origin'], q?: Queryable): Promise<Rule> {
    const run = async (tx: Queryable) => {
      const [row] = await tx.query<RuleRow>(
        `UPDATE rules SET name = $2, description = $3, source = $4, parameters = $5, scope = $6, triggers = $7, risk_level = $8,
           state = $9, origin = COALESCE($10, origin), version = version + 1, updated_at = now(), next_periodic_at = NULL
         WHERE name = $1 OR rule_id = $1 RETURNING *`,
        [name, ...specColumns(spec), origin ?? null],
      );
      if (!row) throw new RuleNotFoundError(name);
      await saveRemediation(tx, row.rule_id, spec.remediation);
      return toRule({ ...row, remediation: spec.remediation ?? null });
    };
    const rule = q ? await run(q) : await this.db.transaction(run);
    if (!q) this.emit('changed');
    return rule;
  }

  async delete(name: string, q?: Queryable): Promise<void> {
    const rows = await (q ?? this.db).query('DELETE FROM rules WHERE name = $1 OR rule_id = $1 RETURNING 1', [name]);
    if (!rows.length) throw new RuleNotFoundError(name);
    if (!q) this.emit('changed');
  }

  /** Announce changes made inside a caller's transaction (policy apply), once it committed. */
  notifyChanged(): void {
    this.emit('changed');
  }
}
