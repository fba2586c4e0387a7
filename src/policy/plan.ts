/**
 * Plan and apply: compare the organization's delegated administrators and
 * folders, the account groups, the rules (with their
 * remediations) and the remediation exceptions declared in policy documents
 * with the store, show what would be created, changed and deleted, and make
 * it so in one transaction. Groups are applied before rules, so a rule may
 * name a group declared in the same files (and groups are checked against the
 * organization as declared). Only what came from policy files
 * is ever deleted, and only when asked to prune (like kubectl apply --prune).
 */
import type { Db, Queryable } from '../store/index.js';
import { validateRule, RuleValidationError, type RuleSpec } from '../rules/model.js';
import { type RuleStore, specOf } from '../rules/store.js';
import { diffConfigurations, type DiffOp } from '../inventory/diff.js';
import type { Inventory } from '../inventory/index.js';
import type { ExceptionStore } from '../remediation/exceptions.js';
import { exceptionDocSchema, keyOfException, planExceptions, resolveExceptionResource, type ExceptionPlan, type ExceptionSpec } from './exceptions.js';
import {
  accountGroupSchema,
  checkAccountGroup,
  groupProblems,
  groupSpecOf,
  noSuchGroup,
  type AccountGroupSpec,
  type AccountGroupStore,
} from '../accounts/groups.js';
import { checkOrganizationDocument, type OrganizationPlan } from '../accounts/organization-policy.js';
import type { DirectoryChange } from '../providers/index.js';
import type { FunctionLookup } from '../remediation/config.js';
import { ruleFunctionIssues } from '../rules/function-check.js';
import { queueAutomatic, type AutoDeps } from '../remediation/auto.js';
import type { Rule } from '../rules/model.js';
import { ConfixError } from '../errors.js';

/** What plan and apply work with (the engine has them all). */
export interface PolicyDeps {
  rules: RuleStore;
  exceptions: ExceptionStore;
  inventory: Inventory;
  groups: AccountGroupStore;
  /** Functions rules name must be deployed. */
  functions: FunctionLookup;
  /** Writes the resource directory (kind: Organization). */
  sandbox: { changeOrganization(change: DirectoryChange, q?: Queryable): Promise<void> };
  /** With these, the plan counts the executions automatic remediation would queue. */
  automatic?: AutoDeps;
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

export class PolicyValidationError extends ConfixError {
  constructor(override readonly issues: PolicyIssue[]) {
    super(
      'InvalidPolicy',
      'invalid',
      `the policy has ${issues.length} problem${issues.length === 1 ? '' : 's'}; nothing was changed:\n` +
        issues.map((i) => `  ${i.source}: ${i.path.join('.') || '(document)'}: ${i.message}`).join('\n'),
      { issues },
    );
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
  /** Account groups (kind: AccountGroup), applied before the rules. */
  accountGroups: GroupPlan;
  /** The organization (kind: Organization), applied first; null when no document declares it. */
  organization: { changes: OrganizationPlan['changes'] } | null;
  /**
   * Rules whose automatic remediation this apply turns on or changes, and
   * how many executions it would queue for what they find NON_COMPLIANT now
   * (null for a new rule, or one whose scope, source or parameters change: its
   * evaluation decides).
   */
  automaticRemediation: { rule: string; queue: number | null; exhausted: number; exempt: number; controls: { concurrency: number; perMinute: number } }[];
}

export interface GroupPlan {
  create: AccountGroupSpec[];
  update: { name: string; changes: DiffOp[]; after: AccountGroupSpec }[];
  delete: string[];
  unchanged: string[];
  /** Groups from policy files that these documents do not declare, kept because prune was not asked for, or because rules still use them. */
  notDeclared: string[];
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
  /** Where each of `rules` was declared. */
  ruleDocs: { document: number; source: string }[];
  /** AccountGroup documents; `refused` when their shape is wrong already (reported). */
  groups: { document: number; source: string; body: Record<string, unknown>; refused?: boolean }[];
  exceptions: { document: number; source: string; value: ReturnType<typeof exceptionDocSchema.parse> }[];
  /** The Organization document, if any (there is one organization). */
  organization?: { document: number; source: string; body: Record<string, unknown> };
  issues: PolicyIssue[];
}

function checkDocuments(docs: PolicyInput[]): CheckedDocuments {
  const out: CheckedDocuments = { rules: [], ruleDocs: [], groups: [], exceptions: [], issues: [] };
  const seen = new Map<string, string>();
  const seenGroups = new Map<string, string>();
  docs.forEach((d, i) => {
    if (d.kind === 'Organization') {
      if (out.organization)
        out.issues.push({ document: i, source: d.source, path: [], message: `the organization is also declared in ${out.organization.source}; there is one` });
      else out.organization = { document: i, source: d.source, body: d.body };
      return;
    }
    if (d.kind === 'AccountGroup') {
      // The shape here; the organization (owner, accounts, folder) is checked when planning.
      const parsed = accountGroupSchema.safeParse(d.body);
      if (!parsed.success) {
        for (const x of parsed.error.issues) out.issues.push({ document: i, source: d.source, path: x.path as (string | number)[], message: x.message });
        out.groups.push({ document: i, source: d.source, body: d.body, refused: true });
        return;
      }
      const first = seenGroups.get(parsed.data.name);
      if (first)
        out.issues.push({ document: i, source: d.source, path: ['name'], message: `account group "${parsed.data.name}" is also declared in ${first}` });
      seenGroups.set(parsed.data.name, d.source);
      out.groups.push({ document: i, source: d.source, body: d.body });
      return;
    }
    if (d.kind === 'RemediationException') {
      const parsed = exceptionDocSchema.safeParse(d.body);
      if (parsed.success) out.exceptions.push({ document: i, source: d.source, value: parsed.data });
      else for (const x of parsed.error.issues) out.issues.push({ document: i, source: d.source, path: x.path as (string | number)[], message: x.message });
      return;
    }
    if (d.kind !== 'Rule') {
      out.issues.push({
        document: i,
        source: d.source,
        path: ['kind'],
        message: `unknown kind "${d.kind}"; expected Rule, AccountGroup, Organization or RemediationException`,
      });
      return;
    }
    try {
      const spec = validateRule(d.body);
      const first = seen.get(spec.name);
      if (first) out.issues.push({ document: i, source: d.source, path: ['name'], message: `rule "${spec.name}" is also declared in ${first}` });
      seen.set(spec.name, d.source);
      out.rules.push(spec);
      out.ruleDocs.push({ document: i, source: d.source });
    } catch (err) {
      if (!(err instanceof RuleValidationError)) throw err;
      for (const x of err.issues) out.issues.push({ document: i, source: d.source, path: x.path, message: x.message });
    }
  });
  return out;
}

export async function planPolicy(deps: PolicyDeps, docs: PolicyInput[], opts: PlanOptions = {}): Promise<Plan> {
  return (await preparePolicy(deps, docs, opts)).plan;
}

/** The plan, and the directory change it holds (written by apply). */
async function preparePolicy(deps: PolicyDeps, docs: PolicyInput[], opts: PlanOptions): Promise<{ plan: Plan; orgChange?: OrganizationPlan }> {
  const checked = checkDocuments(docs);
  const { rules: specs, issues } = checked;
  const current = await deps.rules.list();
  const byName = new Map(current.map((r) => [r.name, r]));
  const plan: Plan = {
    create: [],
    update: [],
    delete: [],
    unchanged: [],
    notDeclared: [],
    exceptions: { create: [], update: [], delete: [], unchanged: 0, notDeclared: [] },
    accountGroups: { create: [], update: [], delete: [], unchanged: [], notDeclared: [] },
    organization: null,
    automaticRemediation: [],
  };
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

  // The organization first: groups are checked against the directory as this apply leaves it.
  let orgChange: OrganizationPlan | undefined;
  const orgNow = checked.organization || checked.groups.length ? await deps.groups.organization() : null;
  if (checked.organization) {
    const { document, source, body } = checked.organization;
    const found = checkOrganizationDocument(body, orgNow);
    for (const x of found.issues) issues.push({ document, source, path: x.path, message: x.message });
    if (found.plan) {
      orgChange = found.plan;
      plan.organization = { changes: found.plan.changes };
    }
  }

  // Account groups: checked against the organization; a rule's group must exist after this apply.
  {
    const g = plan.accountGroups;
    const org = orgChange?.after ?? orgNow;
    const currentGroups = await deps.groups.list();
    const groupByName = new Map(currentGroups.map((x) => [x.name, x]));
    const declaredGroups = new Set<string>();
    for (const d of checked.groups) {
      const { spec, issues: found } = d.refused ? { spec: undefined, issues: [] } : checkAccountGroup(d.body, org);
      for (const x of found) issues.push({ document: d.document, source: d.source, path: x.path, message: x.message });
      if (!spec) {
        // Refused already: rules naming it are not refused a second time.
        if (typeof d.body.name === 'string') declaredGroups.add(d.body.name);
        continue;
      }
      declaredGroups.add(spec.name);
      const cur = groupByName.get(spec.name);
      if (!cur) g.create.push(spec);
      else {
        const changes = diffConfigurations(JSON.parse(JSON.stringify(groupSpecOf(cur))), JSON.parse(JSON.stringify(spec)));
        if (changes.length || cur.origin !== 'policy') g.update.push({ name: spec.name, changes, after: spec });
        else g.unchanged.push(spec.name);
      }
    }
    // Every rule there will be after this apply, with the group it names.
    const groupOfRuleAfter = new Map<string, string | undefined>();
    for (const r of current) if (!plan.delete.includes(r.name)) groupOfRuleAfter.set(r.name, r.scope.accountGroup);
    for (const s of specs) groupOfRuleAfter.set(s.name, s.scope.accountGroup);
    for (const cur of currentGroups) {
      if (cur.origin !== 'policy' || declaredGroups.has(cur.name)) continue;
      const users = [...groupOfRuleAfter].filter(([, grp]) => grp === cur.name).map(([n]) => n);
      // A group that rules will still use is kept, not pruned.
      (opts.prune && users.length === 0 ? g.delete : g.notDeclared).push(cur.name);
    }
    // A stored group this apply keeps as it is must still be valid in the organization it leaves.
    if (orgChange?.changes.length && checked.organization) {
      const { document, source } = checked.organization;
      for (const cur of currentGroups) {
        if (declaredGroups.has(cur.name) || g.delete.includes(cur.name)) continue;
        const before = new Set(groupProblems(cur, orgNow));
        for (const p of groupProblems(cur, orgChange.after))
          if (!before.has(p))
            issues.push({ document, source, path: [], message: `account group ${cur.name} would break: ${p}; change or delete the group in the same apply` });
      }
    }
    const groupAfter = (name: string) => declaredGroups.has(name) || (groupByName.has(name) && !g.delete.includes(name));
    specs.forEach((s, i) => {
      const grp = s.scope.accountGroup;
      if (grp === undefined || groupAfter(grp)) return;
      const { document, source } = checked.ruleDocs[i]!;
      issues.push({
        document,
        source,
        path: ['scope', 'accountGroup'],
        message: noSuchGroup(grp, [...new Set([...declaredGroups, ...groupByName.keys()])].filter(groupAfter).sort(), ' in the store or in these documents'),
      });
    });
  }

  // Functions the rules name (judge or remediation) must be deployed.
  for (const [i, s] of specs.entries()) {
    const { document, source } = checked.ruleDocs[i]!;
    for (const x of await ruleFunctionIssues(s, deps.functions)) issues.push({ document, source, path: x.path, message: x.message });
  }

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
  // In the order of the documents, as people read them.
  if (issues.length) throw new PolicyValidationError(issues.sort((x, y) => x.document - y.document));
  plan.exceptions = planExceptions(exceptions, await deps.exceptions.list(), !!opts.prune);
  if (deps.automatic) plan.automaticRemediation = await planAutomatic(deps.automatic, plan, byName);
  return { plan, orgChange: orgChange?.changes.length ? orgChange : undefined };
}

/**
 * What the apply starts automatically: for each rule it creates or changes
 * with an AUTO_EXECUTION remediation that differs from the stored one, the
 * executions due for its NON_COMPLIANT resources now (counted, not queued).
 */
async function planAutomatic(deps: AutoDeps, plan: Plan, byName: Map<string, Rule>): Promise<Plan['automaticRemediation']> {
  const out: Plan['automaticRemediation'] = [];
  for (const s of [...plan.create, ...plan.update.map((u) => u.after)]) {
    const spec = s.remediation;
    if (spec?.invokeType !== 'AUTO_EXECUTION') continue;
    const cur = byName.get(s.name);
    const controls = { concurrency: spec.executionControls.concurrency, perMinute: spec.executionControls.perMinute };
    if (
      cur?.remediation?.invokeType === 'AUTO_EXECUTION' &&
      JSON.stringify(cur.remediation) === JSON.stringify(spec) &&
      JSON.stringify(cur.scope) === JSON.stringify(s.scope)
    )
      continue;
    // A new rule, or a new scope: which resources are non-compliant is for its evaluation to say.
    if (
      !cur ||
      JSON.stringify(cur.scope) !== JSON.stringify(s.scope) ||
      JSON.stringify(cur.source) !== JSON.stringify(s.source) ||
      JSON.stringify(cur.parameters) !== JSON.stringify(s.parameters)
    ) {
      out.push({ rule: s.name, queue: null, exhausted: 0, exempt: 0, controls });
      continue;
    }
    const changed = JSON.stringify(cur.remediation) !== JSON.stringify(spec);
    const { states } = await queueAutomatic(deps, { ...cur, ...s, ruleId: cur.ruleId }, { dryRun: true, ...(changed ? { remediationSince: new Date() } : {}) });
    out.push({ rule: s.name, queue: states.DUE, exhausted: states.ATTEMPTS_EXHAUSTED, exempt: states.EXEMPT, controls });
  }
  return out;
}

/** Applies a plan in one transaction; returns it with the names of rules to evaluate. */
export async function applyPolicy(deps: PolicyDeps & { db: Db }, docs: PolicyInput[], opts: PlanOptions = {}): Promise<Plan> {
  const { db, rules, exceptions, groups } = deps;
  const { plan, orgChange } = await preparePolicy(deps, docs, opts);
  const g = plan.accountGroups;
  await db.transaction(async (tx) => {
    if (orgChange) await deps.sandbox.changeOrganization(orgChange.change, tx);
    for (const s of [...g.create, ...g.update.map((u) => u.after)]) await groups.write(s, 'policy', tx);
    for (const s of plan.create) await rules.create(s, 'policy', tx);
    for (const u of plan.update) await rules.update(u.name, u.after, 'policy', tx);
    for (const d of plan.delete) await rules.delete(d, tx);
    const ruleId = async (name: string) => (await rules.get(name, tx)).ruleId;
    for (const e of [...plan.exceptions.create, ...plan.exceptions.update])
      await exceptions.put(await ruleId(e.rule), e, e.reason, e.expiresAt ? new Date(e.expiresAt) : null, 'policy', tx);
    for (const e of plan.exceptions.delete) await exceptions.remove(await ruleId(e.rule), e, tx);
    for (const name of g.delete) await groups.remove(name, tx);
  });
  if (plan.create.length || plan.update.length || plan.delete.length) rules.notifyChanged();
  // Folders moved: every group may hold other accounts now.
  const touched = orgChange ? (await groups.list()).map((x) => x.name) : [];
  groups.notifyChanged([...new Set([...touched, ...g.create.map((s) => s.name), ...g.update.map((u) => u.name), ...g.delete])]);
  return plan;
}
