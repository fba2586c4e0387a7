/**
 * Plan and apply: compare the rules (with their remediations) and the
 * remediation exceptions declared in policy documents with the store, show
 * what would be created, changed and deleted, and make it so in one
 * transaction. Only what came from policy files is ever deleted, and only
 * when asked to prune (like kubectl apply --prune).
 */
import type { Db } from '../store/index.js';
import { validateRule, RuleValidationError, type RuleSpec } from '../rules/model.js';
import { RuleStore, specOf } from '../rules/store.js';
import { diffConfigurations, type DiffOp } from '../inventory/diff.js';
import type { Inventory } from '../inventory/index.js';
import type { ExceptionStore } from '../remediation/exceptions.js';
import { exceptionDocSchema, keyOfException, planExceptions, resolveExceptionResource, type ExceptionPlan, type ExceptionSpec } from './exceptions.js';

/** What plan and apply work with (the engine has them all). */
export interface PolicyDeps {
  rules: RuleStore;
  exceptions: ExceptionStore;
  inventory: Inventory;
}

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
  /** Remediation exceptions (kind: RemediationException). */
  exceptions: ExceptionPlan;
}

export interface PlanOptions {
  /** Delete rules that came from policy files but are not declared in these documents. */
  prune?: boolean;
}

/** The rules of the documents, checked; every problem of every document is reported at once. */
export function validatePolicy(docs: PolicyInput[]): RuleSpec[] {
  const { rules, issues } = checkDocuments(docs);
  if (issues.length) throw new PolicyValidationError(issues);
  return rules;
}

interface CheckedDocuments {
  rules: RuleSpec[];
  exceptions: { document: number; source: string; value: ReturnType<typeof exceptionDocSchema.parse> }[];
  issues: PolicyIssue[];
}

function checkDocuments(docs: PolicyInput[]): CheckedDocuments {
  const out: CheckedDocuments = { rules: [], exceptions: [], issues: [] };
  const seen = new Map<string, string>();
  docs.forEach((d, i) => {
    if (d.kind === 'RemediationException') {
      const parsed = exceptionDocSchema.safeParse(d.body);
      if (parsed.success) out.exceptions.push({ document: i, source: d.source, value: parsed.data });
      else for (const x of parsed.error.issues) out.issues.push({ document: i, source: d.source, path: x.path as (string | number)[], message: x.message });
      return;
    }
    if (d.kind !== 'Rule') {
      out.issues.push({ document: i, source: d.source, path: ['kind'], message: `unknown kind "${d.kind}"; expected Rule or RemediationException` });
      return;
    }
    try {
      const spec = validateRule(d.body);
      const first = seen.get(spec.name);
      if (first) out.issues.push({ document: i, source: d.source, path: ['name'], message: `rule "${spec.name}" is also declared in ${first}` });
      seen.set(spec.name, d.source);
      out.rules.push(spec);
    } catch (err) {
      if (!(err instanceof RuleValidationError)) throw err;
      for (const x of err.issues) out.issues.push({ document: i, source: d.source, path: x.path, message: x.message });
    }
  });
  return out;
}

export async function planPolicy(deps: PolicyDeps, docs: PolicyInput[], opts: PlanOptions = {}): Promise<Plan> {
  const checked = checkDocuments(docs);
  const { rules: specs, issues } = checked;
  const current = await deps.rules.list();
  const byName = new Map(current.map((r) => [r.name, r]));
  const plan: Plan = { create: [], update: [], delete: [], unchanged: [], notDeclared: [], exceptions: { create: [], update: [], delete: [], unchanged: 0, notDeclared: [] } };
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

  // Exceptions: their rule must exist after this apply, their resource must be known.
  const ruleAfter = (name: string) => declared.has(name) || (byName.has(name) && !plan.delete.includes(name));
  const exceptions: ExceptionSpec[] = [];
  const seenExceptions = new Map<string, string>();
  for (const e of checked.exceptions) {
    const at = (path: string, message: string) => issues.push({ document: e.document, source: e.source, path: [path], message });
    if (!ruleAfter(e.value.rule)) {
      at('rule', `no rule named "${e.value.rule}" in the store or in these documents${plan.delete.includes(e.value.rule) ? ' (this apply deletes it)' : ''}`);
      continue;
    }
    const key = await resolveExceptionResource(deps.inventory, e.value);
    if (typeof key === 'string') {
      at('resourceId', key);
      continue;
    }
    const spec: ExceptionSpec = { rule: e.value.rule, ...key, reason: e.value.reason, expiresAt: e.value.expires };
    const first = seenExceptions.get(keyOfException(spec));
    if (first) at('resourceId', `an exception for ${spec.resourceId} under ${spec.rule} is also declared in ${first}`);
    seenExceptions.set(keyOfException(spec), e.source);
    exceptions.push(spec);
  }
  if (issues.length) throw new PolicyValidationError(issues);
  plan.exceptions = planExceptions(exceptions, await deps.exceptions.list(), !!opts.prune);
  return plan;
}

/** Applies a plan in one transaction; returns it with the names of rules to evaluate. */
export async function applyPolicy(deps: PolicyDeps & { db: Db }, docs: PolicyInput[], opts: PlanOptions = {}): Promise<Plan> {
  const { db, rules, exceptions } = deps;
  const plan = await planPolicy(deps, docs, opts);
  await db.transaction(async (tx) => {
    for (const s of plan.create) await rules.create(s, 'policy', tx);
    for (const u of plan.update) await rules.update(u.name, u.after, 'policy', tx);
    for (const d of plan.delete) await rules.delete(d, tx);
    const ruleId = async (name: string) => (await rules.get(name, tx)).ruleId;
    for (const e of [...plan.exceptions.create, ...plan.exceptions.update])
      await exceptions.put(await ruleId(e.rule), e, e.reason, e.expiresAt ? new Date(e.expiresAt) : null, 'policy', tx);
    for (const e of plan.exceptions.delete) await exceptions.remove(await ruleId(e.rule), e, tx);
  });
  if (plan.create.length || plan.update.length || plan.delete.length) rules.notifyChanged();
  return plan;
}
