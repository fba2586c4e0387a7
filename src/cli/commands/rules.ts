import type { Command } from 'commander';
import pc from 'picocolors';
import { client, globals, print, printJson } from '../context.js';
import { intOption } from '../options.js';
import { diffLines, table, time, yaml } from '../format.js';
import { ApiClientError } from '../client.js';
import { describePolicyProblems, readPolicyDocuments, type PolicyDocument } from '../../policy/files.js';
import type { Plan } from '../../policy/plan.js';
import type { Rule } from '../../rules/model.js';
import type { Counts, ResultView, TimelineEntry } from '../../evaluation/compliance.js';
import type { EvaluationSummary } from '../../evaluation/evaluator.js';

type RuleWithCounts = Rule & { compliance: Counts };

const RISK = { 1: pc.red('critical'), 2: pc.yellow('warning'), 3: 'info' } as Record<number, string>;

export function complianceColor(c: string): string {
  if (c === 'NON_COMPLIANT') return pc.red(c);
  if (c === 'COMPLIANT') return pc.green(c);
  return pc.dim(c);
}

function summaryLine(s: EvaluationSummary): string {
  return `evaluated ${s.rules} rule${s.rules === 1 ? '' : 's'} over ${s.resources} resources: ${s.evaluations} evaluations, ${s.changed} results changed, ${s.closed} closed (${(s.durationMs / 1000).toFixed(1)} s)`;
}

/** Sends documents; maps the service's per-document issues back to file:line. */
async function sendPolicy<T>(cmd: Command, path: string, docs: PolicyDocument[], prune?: boolean): Promise<T> {
  try {
    return await client(cmd).post<T>(path, { prune: prune ?? false, documents: docs.map((d) => ({ source: d.source, kind: d.kind, body: d.body })) });
  } catch (err) {
    const issues = (err as ApiClientError).body?.issues as { document: number; pathSegments: (string | number)[]; path: string; message: string }[] | undefined;
    if (err instanceof ApiClientError && err.code === 'InvalidPolicy' && issues)
      throw new Error(describePolicyProblems(docs, issues.map((i) => ({ document: i.document, path: i.pathSegments, message: i.message }))));
    throw err;
  }
}

function printPlan(plan: Plan): void {
  const g = plan.accountGroups;
  const o = plan.organization;
  if (o?.changes.length) {
    print(pc.yellow('~ update organization'));
    print(diffLines(o.changes, '    ').join('\n'));
  }
  for (const s of g.create) {
    print(pc.green(`+ create account group ${s.name}`));
    print(pc.green(yaml(s).replace(/^/gm, '    ')));
  }
  for (const u of g.update) {
    print(pc.yellow(`~ update account group ${u.name}`));
    if (u.changes.length) print(diffLines(u.changes, '    ').join('\n'));
    else print(pc.dim('    (no change to its definition; it becomes managed by policy files)'));
  }
  for (const d of g.delete) print(pc.red(`- delete account group ${d} (no longer declared)`));
  if (g.notDeclared.length) print(pc.dim(`  kept account groups: ${g.notDeclared.join(', ')} (from policy files, not declared here; --prune deletes those no rule uses)`));
  for (const s of plan.create) {
    print(pc.green(`+ create rule ${s.name}`));
    print(pc.green(yaml(s).replace(/^/gm, '    ')));
  }
  for (const u of plan.update) {
    print(pc.yellow(`~ update rule ${u.name}`));
    if (u.changes.length) print(diffLines(u.changes, '    ').join('\n'));
    else print(pc.dim('    (no change to its definition; it becomes managed by policy files)'));
  }
  for (const d of plan.delete) print(pc.red(`- delete rule ${d} (no longer declared)`));
  if (plan.notDeclared.length) print(pc.dim(`  kept: ${plan.notDeclared.join(', ')} (from policy files, not declared here; --prune deletes them)`));
  const x = plan.exceptions;
  const until = (e: { expiresAt: string | null }) => (e.expiresAt ? ` until ${time(e.expiresAt)}` : '');
  for (const e of x.create) print(pc.green(`+ create exception ${e.rule} / ${e.resourceId}${until(e)}: ${e.reason}`));
  for (const e of x.update) {
    print(pc.yellow(`~ update exception ${e.rule} / ${e.resourceId}`));
    if (e.before.reason !== e.reason) print(`    reason: "${e.before.reason}" → "${e.reason}"`);
    if (e.before.expiresAt !== e.expiresAt) print(`    expires: ${e.before.expiresAt ?? 'never'} → ${e.expiresAt ?? 'never'}`);
  }
  for (const e of x.delete) print(pc.red(`- delete exception ${e.rule} / ${e.resourceId} (no longer declared)`));
  if (x.notDeclared.length) print(pc.dim(`  kept exceptions: ${x.notDeclared.map((e) => `${e.rule} / ${e.resourceId}`).join(', ')} (from policy files, not declared here; --prune deletes them)`));
  const n = (o?.changes.length ? 1 : 0) + plan.create.length + plan.update.length + plan.delete.length + x.create.length + x.update.length + x.delete.length + g.create.length + g.update.length + g.delete.length;
  const groups = g.create.length + g.update.length + g.delete.length + g.unchanged.length ? `; account groups: ${g.create.length} to create, ${g.update.length} to change, ${g.delete.length} to delete, ${g.unchanged.length} unchanged` : '';
  const exceptions = x.create.length + x.update.length + x.delete.length + x.unchanged ? `; exceptions: ${x.create.length} to create, ${x.update.length} to change, ${x.delete.length} to delete, ${x.unchanged} unchanged` : '';
  const org = o ? `; organization: ${o.changes.length ? `${o.changes.length} change${o.changes.length === 1 ? '' : 's'}` : 'unchanged'}` : '';
  print(`${n ? '' : 'no changes. '}plan: ${plan.create.length} to create, ${plan.update.length} to change, ${plan.delete.length} to delete, ${plan.unchanged.length} unchanged${org}${groups}${exceptions}`);
}

export function ruleCommands(program: Command, get: Command) {
  get
    .command('rules')
    .description('Rules with their state and compliance counts')
    .action(async (_o: unknown, cmd: Command) => {
      const { items } = await client(cmd).get<{ items: RuleWithCounts[] }>('/rules');
      if (globals(cmd).json) return printJson(items);
      if (!items.length) return print('no rules; declare some and `confix apply -f FILE`');
      print(
        table(
          ['NAME', 'SOURCE', 'RISK', 'STATE', 'NON_COMPLIANT', 'COMPLIANT', 'N/A', 'INSUFFICIENT', 'EVALUATED'],
          items.map((r) => [
            r.name,
            'managed' in r.source ? r.source.managed : 'function' in r.source ? `function ${r.source.function}` : 'cel',
            RISK[r.riskLevel],
            r.state === 'ACTIVE' ? r.state : pc.dim(r.state),
            r.compliance.nonCompliant ? pc.red(String(r.compliance.nonCompliant)) : '0',
            r.compliance.compliant,
            r.compliance.notApplicable,
            r.compliance.insufficientData,
            time(r.lastEvaluatedAt),
          ]),
        ),
      );
    });

  get
    .command('rule <name>')
    .description("A rule's definition and its non-compliant resources")
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const api = client(cmd);
      const rule = await api.get<RuleWithCounts>(`/rules/${encodeURIComponent(name)}`);
      const nc = await api.get<{ items: ResultView[]; total: number }>('/compliance', { rule: name, complianceType: 'NON_COMPLIANT', limit: 50 });
      if (globals(cmd).json) return printJson({ rule, nonCompliant: nc });
      const { compliance, ...def } = rule;
      print(yaml(def));
      print(`compliance: ${compliance.nonCompliant} non-compliant, ${compliance.compliant} compliant, ${compliance.notApplicable} not applicable, ${compliance.insufficientData} insufficient data`);
      if (nc.items.length) {
        print(table(['ACCOUNT', 'REGION', 'TYPE', 'RESOURCE', 'WHY'], nc.items.map((r) => [r.accountId, r.regionId, r.resourceType, r.resourceId, r.annotation])));
        if (nc.total > nc.items.length) print(pc.dim(`… ${nc.total - nc.items.length} more; confix get compliance --rule ${name} --limit N`));
      }
    });

  get
    .command('managed-rules')
    .description('The managed rule library and its parameters')
    .action(async (_o: unknown, cmd: Command) => {
      const { items } = await client(cmd).get<{ items: { identifier: string; aliases: string[]; description: string; resourceTypes: string[]; parameters: Record<string, { description: string; default?: string; required: boolean }> }[] }>('/managed-rules');
      if (globals(cmd).json) return printJson(items);
      for (const m of items) {
        print(`${pc.bold(m.identifier)}${m.aliases.length ? pc.dim(` (also ${m.aliases.join(', ')})`) : ''}  ${m.resourceTypes.join(', ')}`);
        print(`  ${m.description}`);
        for (const [k, p] of Object.entries(m.parameters))
          print(`  - ${k}${p.required ? ' (required)' : ''}${p.default !== undefined ? ` default "${p.default}"` : ''}: ${p.description}`);
      }
    });

  get
    .command('compliance')
    .description('Evaluation results: all, a rule\'s, or every rule\'s for one resource (with its timeline)')
    .option('--rule <name>', 'only this rule')
    .option('--resource <id>', 'only this resource; also shows its timeline')
    .option('--type <complianceType>', 'only COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE or INSUFFICIENT_DATA')
    .option('--limit <n>', 'at most this many', intOption('--limit', 1, 10000), 100)
    .option('--summary', 'counts by risk level, account and resource type instead')
    .action(async (o: { rule?: string; resource?: string; type?: string; limit: number; summary?: boolean }, cmd: Command) => {
      const api = client(cmd);
      if (o.summary) {
        const s = await api.get<{ totals: Counts & { nonCompliantResources: number }; byRiskLevel: Record<string, Counts>; byAccount: Record<string, Counts & { nonCompliantResources: number }>; byResourceType: Record<string, Counts & { nonCompliantResources: number }> }>('/compliance/summary');
        if (globals(cmd).json) return printJson(s);
        print(`${s.totals.nonCompliantResources} non-compliant resources; results: ${s.totals.nonCompliant} non-compliant, ${s.totals.compliant} compliant, ${s.totals.notApplicable} n/a, ${s.totals.insufficientData} insufficient data\n`);
        print(table(['RISK LEVEL', 'NON_COMPLIANT', 'COMPLIANT'], Object.entries(s.byRiskLevel).map(([k, c]) => [RISK[Number(k)] ?? k, c.nonCompliant, c.compliant])) + '\n');
        print(table(['ACCOUNT', 'NON_COMPLIANT RESOURCES', 'NON_COMPLIANT', 'COMPLIANT'], Object.entries(s.byAccount).map(([k, c]) => [k, c.nonCompliantResources, c.nonCompliant, c.compliant])) + '\n');
        print(table(['RESOURCE TYPE', 'NON_COMPLIANT RESOURCES', 'NON_COMPLIANT', 'COMPLIANT'], Object.entries(s.byResourceType).map(([k, c]) => [k, c.nonCompliantResources, c.nonCompliant, c.compliant])));
        return;
      }
      const res = await api.get<{ items: ResultView[]; total: number }>('/compliance', { rule: o.rule, resourceId: o.resource, complianceType: o.type, limit: o.limit });
      const timeline = o.resource ? (await api.get<{ items: TimelineEntry[] }>('/compliance/timeline', { resourceId: o.resource, rule: o.rule, limit: 50 })).items : undefined;
      if (globals(cmd).json) return printJson(timeline ? { ...res, timeline } : res);
      if (!res.items.length) print('no results match');
      else
        print(
          table(
            ['RULE', 'RESOURCE', 'TYPE', 'ACCOUNT', 'COMPLIANCE', 'WHY'],
            res.items.map((r) => [r.ruleName, r.resourceId, r.resourceType, r.accountId, complianceColor(r.complianceType), r.annotation]),
          ),
        );
      if (res.total > res.items.length) print(pc.dim(`showing ${res.items.length} of ${res.total}; use --limit or filters`));
      if (timeline?.length) {
        print(`\n${pc.bold('timeline')}`);
        for (const t of timeline)
          print(`  ${time(t.recordedAt)}  ${t.ruleName}  ${t.previousComplianceType ? complianceColor(t.previousComplianceType) + ' → ' : ''}${t.closed ? pc.dim('closed') : complianceColor(t.complianceType)}  ${pc.dim(t.annotation)}`);
      }
    });

  program
    .command('evaluate')
    .description('Re-evaluate now: a rule over its scope, a resource under every rule, or (with neither) every rule')
    .option('--rule <name>', 'this rule')
    .option('--resource <id>', 'this resource')
    .action(async (o: { rule?: string; resource?: string }, cmd: Command) => {
      if (o.rule && o.resource) throw new Error('give --rule or --resource, not both');
      const s = await client(cmd).post<EvaluationSummary>('/evaluations', { rule: o.rule, resourceId: o.resource });
      if (globals(cmd).json) return printJson(s);
      print(summaryLine(s));
    });

  program
    .command('plan')
    .description('Show what applying policy files (kind Rule, AccountGroup, Organization and RemediationException) would create, change and delete')
    .requiredOption('-f, --file <path>', 'a policy file or a directory of them')
    .option('--prune', 'also delete rules, account groups and exceptions that came from policy files but are not declared in these')
    .action(async (o: { file: string; prune?: boolean }, cmd: Command) => {
      const plan = await sendPolicy<Plan>(cmd, '/policy/plan', readPolicyDocuments([o.file]), o.prune);
      if (globals(cmd).json) return printJson(plan);
      printPlan(plan);
    });

  program
    .command('apply')
    .description('Make the organization, account groups, rules, their remediations and the remediation exceptions match policy files, then evaluate what changed')
    .requiredOption('-f, --file <path>', 'a policy file or a directory of them')
    .option('--prune', 'also delete rules, account groups and exceptions that came from policy files but are not declared in these')
    .action(async (o: { file: string; prune?: boolean }, cmd: Command) => {
      const res = await sendPolicy<{ plan: Plan; evaluation: EvaluationSummary }>(cmd, '/policy/apply', readPolicyDocuments([o.file]), o.prune);
      if (globals(cmd).json) return printJson(res);
      printPlan(res.plan);
      if (res.evaluation.rules) print(summaryLine(res.evaluation));
    });
}
