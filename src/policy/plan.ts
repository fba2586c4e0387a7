/**
 * Plan and apply: compare the rules declared in policy documents with the
 * store, show what would be created, changed and deleted, and make it so in
 * one transaction. Only rules that came from policy files are ever deleted,
 * and only when asked to prune (like kubectl apply --prune).
 */
import type { Db } from '../store/index.js';
import { validateRule, RuleValidationError, type RuleSpec } from '../rules/model.js';
import { RuleStore, specOf } from '../rules/store.js';
import { diffConfigurations, type DiffOp } from '../inventory/diff.js';

export interface PolicyInput {
  /** Where it came from, for messages ("rules.yaml#2"). */
  source: string;
  kind: string;
  body: Record<string, unknown>;
}

export interface PolicyIssue {
  /** Index into the documents sent. */
  document: number;
  source: string;
  path: (string | number)[];
  message: string;
}

export class PolicyValidationError extends Error {
  constructor(readonly issues: PolicyIssue[]) {
    super(
      `the policy has ${issues.length} problem${issues.length === 1 ? '' : 's'}; nothing was changed:\n` +
        issues.map((i) => `  ${i.source}: ${i.path.join('.') || '(document)'}: ${i.message}`).join('\n'),
    );
    this.name = 'PolicyValidationError';
  }
}

export interface Plan {
  create: RuleSpec[];
  update: { name: string; changes: DiffOp[]; after: RuleSpec }[];
  delete: string[];
  unchanged: string[];
  /** Rules from policy files that these documents do not declare, kept because prune was not asked for. */
  notDeclared: string[];
}

export interface PlanOptions {
  /** Delete rules that came from policy files but are not declared in these documents. */
  prune?: boolean;
}

export function validatePolicy(docs: PolicyInput[]): RuleSpec[] {
  const issues: PolicyIssue[] = [];
  const specs: RuleSpec[] = [];
  const seen = new Map<string, string>();
  docs.forEach((d, i) => {
    if (d.kind !== 'Rule') {
      issues.push({ document: i, source: d.source, path: ['kind'], message: `unknown kind "${d.kind}"` });
      return;
    }
    try {
      const spec = validateRule(d.body);
      const first = seen.get(spec.name);
      if (first) issues.push({ document: i, source: d.source, path: ['name'], message: `rule "${spec.name}" is also declared in ${first}` });
      seen.set(spec.name, d.source);
      specs.push(spec);
    } catch (err) {
      if (!(err instanceof RuleValidationError)) throw err;
      for (const x of err.issues) issues.push({ document: i, source: d.source, path: x.path, message: x.message });
    }
  });
  if (issues.length) throw new PolicyValidationError(issues);
  return specs;
}

export async function planPolicy(rules: RuleStore, docs: PolicyInput[], opts: PlanOptions = {}): Promise<Plan> {
  const specs = validatePolicy(docs);
  const current = await rules.list();
  const byName = new Map(current.map((r) => [r.name, r]));
  const plan: Plan = { create: [], update: [], delete: [], unchanged: [], notDeclared: [] };
  for (const s of specs) {
    const cur = byName.get(s.name);
    if (!cur) plan.create.push(s);
    else {
      const changes = diffConfigurations(JSON.parse(JSON.stringify(specOf(cur))), JSON.parse(JSON.stringify(s)));
      if (changes.length || cur.origin !== 'policy') plan.update.push({ name: s.name, changes, after: s });
      else plan.unchanged.push(s.name);
    }
  }
  const declared = new Set(specs.map((s) => s.name));
  for (const r of current) if (r.origin === 'policy' && !declared.has(r.name)) (opts.prune ? plan.delete : plan.notDeclared).push(r.name);
  return plan;
}

/** Applies a plan in one transaction; returns it with the names of rules to evaluate. */
export async function applyPolicy(db: Db, rules: RuleStore, docs: PolicyInput[], opts: PlanOptions = {}): Promise<Plan> {
  const plan = await planPolicy(rules, docs, opts);
  await db.transaction(async (tx) => {
    for (const s of plan.create) await rules.create(s, 'policy', tx);
    for (const u of plan.update) await rules.update(u.name, u.after, 'policy', tx);
    for (const d of plan.delete) await rules.delete(d, tx);
  });
  if (plan.create.length || plan.update.length || plan.delete.length) rules.notifyChanged();
  return plan;
}
