import type { Command } from 'commander';
import { createInterface } from 'node:readline';
import pc from 'picocolors';
import { client, globals, print, printJson } from '../context.js';
import { collect, distinctPaths, intOption } from '../options.js';
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
      throw new Error(
        describePolicyProblems(
          docs,
          issues.map((i) => ({ document: i.document, path: i.pathSegments, message: i.message })),
        ),
      );
    throw err;
  }
}

/** A NON_COMPLIANT result's standing with its rule's automatic remediation (GET /compliance). */
interface AutomaticView {
  state: 'DUE' | 'QUEUED' | 'AWAITING_APPROVAL' | 'IN_PROGRESS' | 'ATTEMPTS_EXHAUSTED' | 'REFUSED' | 'REJECTED' | 'EXEMPT';
  attempts: number;
  maximumAttempts: number;
  executionId?: string;
  attempt?: number;
  notBefore?: string;
}

function describeAutomatic(a: AutomaticView | undefined): string {
  if (!a) return '';
  const of = `${a.attempts}/${a.maximumAttempts}`;
  switch (a.state) {
    case 'DUE':
      return `attempt ${a.attempt}/${a.maximumAttempts} due${a.notBefore ? ` ${time(a.notBefore)}` : ''}`;
    case 'QUEUED':
      return `queued ${a.executionId} (attempts ${of})`;
    case 'AWAITING_APPROVAL':
      return `awaiting approval ${a.executionId}`;
    case 'IN_PROGRESS':
      return `in progress ${a.executionId}`;
    case 'ATTEMPTS_EXHAUSTED':
      return pc.red(`attempts spent (${of}), last ${a.executionId}`);
    case 'REFUSED':
      return pc.red(`refused, not retried (${a.executionId})`);
    case 'REJECTED':
      return pc.yellow(`rejected ${a.executionId}`);
    case 'EXEMPT':
      return pc.dim('exempt');
  }
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** Names, at most ten, then how many more. */
function names(list: string[]): string {
  return list.length <= 10 ? list.join(', ') : `${list.slice(0, 10).join(', ')} and ${list.length - 10} more`;
}

/** The loud line of what --prune deletes ("--prune DELETES 4 rules: a, b, c, d"), or undefined when it deletes nothing. */
export function pruneSummary(plan: Plan, applied = false): string | undefined {
  const parts = [
    plan.delete.length ? `${plural(plan.delete.length, 'rule')}: ${names(plan.delete)}` : '',
    plan.accountGroups.delete.length ? `${plural(plan.accountGroups.delete.length, 'account group')}: ${names(plan.accountGroups.delete)}` : '',
    plan.exceptions.delete.length
      ? `${plural(plan.exceptions.delete.length, 'remediation exception')}: ${names(plan.exceptions.delete.map((e) => `${e.rule} / ${e.resourceId}`))}`
      : '',
  ].filter(Boolean);
  return parts.length ? `--prune ${applied ? 'DELETED' : 'DELETES'} ${parts.join('; ')}` : undefined;
}

/** What a plan deletes, as keys, to compare what was confirmed with what was done. */
function deletionKeys(plan: Plan): string[] {
  return [
    ...plan.delete.map((r) => `rule ${r}`),
    ...plan.accountGroups.delete.map((g) => `account group ${g}`),
    ...plan.exceptions.delete.map((e) => `exception ${e.rule} / ${e.resourceId}`),
  ];
}

/** Asks on the terminal; anything but y or yes (or Ctrl-C, or end of input) is no. */
function confirm(question: string): Promise<boolean> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    let answered = false;
    rl.on('SIGINT', () => rl.close());
    rl.on('close', () => {
      if (answered) return;
      process.stderr.write('\n');
      resolve(false);
    });
    rl.question(question, (answer) => {
      answered = true;
      rl.close();
      resolve(/^y(es)?$/i.test(answer.trim()));
    });
  });
}

function printPlan(plan: Plan, how: { applied?: boolean; brief?: boolean } = {}): void {
  // brief: only the totals and what --prune deletes (the items were shown before a confirmation).
  const item = how.brief ? (_line: string) => {} : print;
  const g = plan.accountGroups;
  const o = plan.organization;
  if (o?.changes.length) {
    item(pc.yellow('~ update organization'));
    item(diffLines(o.changes, '    ').join('\n'));
  }
  for (const s of g.create) {
    item(pc.green(`+ create account group ${s.name}`));
    item(pc.green(yaml(s).replace(/^/gm, '    ')));
  }
  for (const u of g.update) {
    item(pc.yellow(`~ update account group ${u.name}`));
    if (u.changes.length) item(diffLines(u.changes, '    ').join('\n'));
    else item(pc.dim('    (no change to its definition; it becomes managed by policy files)'));
  }
  for (const d of g.delete) item(pc.red(`- delete account group ${d} (no longer declared)`));
  if (g.notDeclared.length)
    item(pc.dim(`  kept account groups: ${g.notDeclared.join(', ')} (from policy files, not declared here; --prune deletes those no rule uses)`));
  for (const s of plan.create) {
    item(pc.green(`+ create rule ${s.name}`));
    item(pc.green(yaml(s).replace(/^/gm, '    ')));
  }
  for (const u of plan.update) {
    item(pc.yellow(`~ update rule ${u.name}`));
    if (u.changes.length) item(diffLines(u.changes, '    ').join('\n'));
    else item(pc.dim('    (no change to its definition; it becomes managed by policy files)'));
  }
  for (const d of plan.delete) item(pc.red(`- delete rule ${d} (no longer declared)`));
  if (plan.notDeclared.length) item(pc.dim(`  kept: ${plan.notDeclared.join(', ')} (from policy files, not declared here; --prune deletes them)`));
  const x = plan.exceptions;
  const until = (e: { expiresAt: string | null }) => (e.expiresAt ? ` until ${time(e.expiresAt)}` : '');
  for (const e of x.create) item(pc.green(`+ create exception ${e.rule} / ${e.resourceId}${until(e)}: ${e.reason}`));
  for (const e of x.update) {
    item(pc.yellow(`~ update exception ${e.rule} / ${e.resourceId}`));
    if (e.before.reason !== e.reason) item(`    reason: "${e.before.reason}" → "${e.reason}"`);
    if (e.before.expiresAt !== e.expiresAt) item(`    expires: ${e.before.expiresAt ?? 'never'} → ${e.expiresAt ?? 'never'}`);
  }
  for (const e of x.delete) item(pc.red(`- delete exception ${e.rule} / ${e.resourceId} (no longer declared)`));
  if (x.notDeclared.length)
    item(
      pc.dim(
        `  kept exceptions: ${x.notDeclared.map((e) => `${e.rule} / ${e.resourceId}`).join(', ')} (from policy files, not declared here; --prune deletes them)`,
      ),
    );
  for (const a of plan.automaticRemediation ?? []) {
    const pace = `at most ${a.controls.concurrency} at once and ${a.controls.perMinute} a minute`;
    const more = [a.exhausted ? `${a.exhausted} with their automatic attempts spent` : '', a.exempt ? `${a.exempt} exempted` : ''].filter(Boolean).join(', ');
    if (a.queue === null)
      item(pc.cyan(`  automatic remediation of ${a.rule}: queues executions for what its evaluation after this apply finds NON_COMPLIANT (${pace})`));
    else
      item(
        pc.cyan(
          `  automatic remediation of ${a.rule}: queues ${a.queue} execution${a.queue === 1 ? '' : 's'} for resources NON_COMPLIANT now (${pace})${more ? `; left alone: ${more}` : ''}`,
        ),
      );
  }
  const n =
    (o?.changes.length ? 1 : 0) +
    plan.create.length +
    plan.update.length +
    plan.delete.length +
    x.create.length +
    x.update.length +
    x.delete.length +
    g.create.length +
    g.update.length +
    g.delete.length;
  const groups =
    g.create.length + g.update.length + g.delete.length + g.unchanged.length
      ? `; account groups: ${g.create.length} to create, ${g.update.length} to change, ${g.delete.length} to delete, ${g.unchanged.length} unchanged`
      : '';
  const exceptions =
    x.create.length + x.update.length + x.delete.length + x.unchanged
      ? `; exceptions: ${x.create.length} to create, ${x.update.length} to change, ${x.delete.length} to delete, ${x.unchanged} unchanged`
      : '';
  const org = o ? `; organization: ${o.changes.length ? `${o.changes.length} change${o.changes.length === 1 ? '' : 's'}` : 'unchanged'}` : '';
  print(
    `${n ? '' : 'no changes. '}plan: ${plan.create.length} to create, ${plan.update.length} to change, ${plan.delete.length} to delete, ${plan.unchanged.length} unchanged${org}${groups}${exceptions}`,
  );
  const deletes = pruneSummary(plan, how.applied);
  if (deletes) print(pc.bold(pc.red(deletes)));
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
      print(
        `compliance: ${compliance.nonCompliant} non-compliant, ${compliance.compliant} compliant, ${compliance.notApplicable} not applicable, ${compliance.insufficientData} insufficient data`,
      );
      if (nc.items.length) {
        print(
          table(
            ['ACCOUNT', 'REGION', 'TYPE', 'RESOURCE', 'WHY'],
            nc.items.map((r) => [r.accountId, r.regionId, r.resourceType, r.resourceId, r.annotation]),
          ),
        );
        if (nc.total > nc.items.length) print(pc.dim(`… ${nc.total - nc.items.length} more; confix get compliance --rule ${name} --limit N`));
      }
    });

  get
    .command('managed-rules')
    .description('The managed rule library and its parameters')
    .action(async (_o: unknown, cmd: Command) => {
      const { items } = await client(cmd).get<{
        items: {
          identifier: string;
          aliases: string[];
          description: string;
          resourceTypes: string[];
          parameters: Record<string, { description: string; default?: string; required: boolean }>;
        }[];
      }>('/managed-rules');
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
    .description("Evaluation results: all, a rule's, or every rule's for one resource (with its timeline)")
    .option('--rule <name>', 'only this rule')
    .option('--resource <id>', 'only this resource; also shows its timeline')
    .option('--type <complianceType>', 'only COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE or INSUFFICIENT_DATA')
    .option('--provider <name>', 'only resources of this provider (sandbox, aws, … as named in confix.yaml)')
    .option('--limit <n>', 'at most this many', intOption('--limit', 1, 10000), 100)
    .option('--summary', 'counts by risk level, account and resource type instead')
    .action(async (o: { rule?: string; resource?: string; type?: string; provider?: string; limit: number; summary?: boolean }, cmd: Command) => {
      const api = client(cmd);
      if (o.summary) {
        const s = await api.get<{
          totals: Counts & { nonCompliantResources: number };
          byRiskLevel: Record<string, Counts>;
          byAccount: Record<string, Counts & { nonCompliantResources: number }>;
          byResourceType: Record<string, Counts & { nonCompliantResources: number }>;
        }>('/compliance/summary');
        if (globals(cmd).json) return printJson(s);
        print(
          `${s.totals.nonCompliantResources} non-compliant resources; results: ${s.totals.nonCompliant} non-compliant, ${s.totals.compliant} compliant, ${s.totals.notApplicable} n/a, ${s.totals.insufficientData} insufficient data\n`,
        );
        print(
          table(
            ['RISK LEVEL', 'NON_COMPLIANT', 'COMPLIANT'],
            Object.entries(s.byRiskLevel).map(([k, c]) => [RISK[Number(k)] ?? k, c.nonCompliant, c.compliant]),
          ) + '\n',
        );
        print(
          table(
            ['ACCOUNT', 'NON_COMPLIANT RESOURCES', 'NON_COMPLIANT', 'COMPLIANT'],
            Object.entries(s.byAccount).map(([k, c]) => [k, c.nonCompliantResources, c.nonCompliant, c.compliant]),
          ) + '\n',
        );
        print(
          table(
            ['RESOURCE TYPE', 'NON_COMPLIANT RESOURCES', 'NON_COMPLIANT', 'COMPLIANT'],
            Object.entries(s.byResourceType).map(([k, c]) => [k, c.nonCompliantResources, c.nonCompliant, c.compliant]),
          ),
        );
        return;
      }
      const res = await api.get<{ items: (ResultView & { automaticRemediation?: AutomaticView })[]; total: number }>('/compliance', {
        rule: o.rule,
        resourceId: o.resource,
        complianceType: o.type,
        provider: o.provider,
        limit: o.limit,
      });
      const timeline = o.resource
        ? (await api.get<{ items: TimelineEntry[] }>('/compliance/timeline', { resourceId: o.resource, rule: o.rule, limit: 50 })).items
        : undefined;
      if (globals(cmd).json) return printJson(timeline ? { ...res, timeline } : res);
      if (!res.items.length) print('no results match');
      else {
        const auto = res.items.some((r) => r.automaticRemediation);
        print(
          table(
            ['RULE', 'RESOURCE', 'TYPE', 'ACCOUNT', 'COMPLIANCE', 'WHY', ...(auto ? ['AUTOMATIC REMEDIATION'] : [])],
            res.items.map((r) => [
              r.ruleName,
              r.resourceId,
              r.resourceType,
              r.accountId,
              complianceColor(r.complianceType),
              r.annotation,
              ...(auto ? [describeAutomatic(r.automaticRemediation)] : []),
            ]),
          ),
        );
        if (res.items.some((r) => r.automaticRemediation?.state === 'ATTEMPTS_EXHAUSTED' || r.automaticRemediation?.state === 'REFUSED'))
          print(
            pc.dim(
              'attempts spent or refused: automatic remediation leaves these alone until they change; `confix remediate --rule R --resource ID` tries again by hand',
            ),
          );
      }
      if (res.total > res.items.length) print(pc.dim(`showing ${res.items.length} of ${res.total}; use --limit or filters`));
      if (timeline?.length) {
        print(`\n${pc.bold('timeline')}`);
        for (const t of timeline)
          print(
            `  ${time(t.recordedAt)}  ${t.ruleName}  ${t.previousComplianceType ? complianceColor(t.previousComplianceType) + ' → ' : ''}${t.closed ? pc.dim('closed') : complianceColor(t.complianceType)}  ${pc.dim(t.annotation)}`,
          );
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

  const FILES = 'a policy file or a directory of them; repeat -f for more (they add up)';
  const PRUNE = 'also delete rules, account groups and exceptions that came from policy files but are not declared in these';

  program
    .command('plan')
    .description('Show what applying policy files (kind Rule, AccountGroup, Organization and RemediationException) would create, change and delete')
    .requiredOption('-f, --file <path>', FILES, collect)
    .option('--prune', PRUNE)
    .addHelpText(
      'after',
      '\nExamples:\n  confix plan -f examples/policies\n  confix plan -f examples/policies -f policies --prune     # what apply --prune would delete, in red\n\nAdd --json for JSON (the plan).',
    )
    .action(async (o: { file: string[]; prune?: boolean }, cmd: Command) => {
      const plan = await sendPolicy<Plan>(cmd, '/policy/plan', readPolicyDocuments(distinctPaths(o.file)), o.prune);
      if (globals(cmd).json) return printJson(plan);
      printPlan(plan);
    });

  program
    .command('apply')
    .description(
      'Make the organization, account groups, rules, their remediations and the remediation exceptions match policy files, then evaluate what changed',
    )
    .requiredOption('-f, --file <path>', FILES, collect)
    .option('--prune', PRUNE)
    .option('-y, --yes', 'with --prune, delete without asking')
    .addHelpText(
      'after',
      `
With --prune, apply first shows what it would delete and asks (y/N) on a
terminal; without a terminal (a script, CI) it refuses, applying nothing,
unless --yes is given. An apply that deletes nothing does not ask.

Examples:
  confix apply -f examples/policies
  confix apply -f examples/policies -f policies --prune
  confix apply -f policies --prune --yes        # in CI, after reviewing \`confix plan -f policies --prune\`

Add --json for JSON ({plan, evaluation}).`,
    )
    .action(async (o: { file: string[]; prune?: boolean; yes?: boolean }, cmd: Command) => {
      const docs = readPolicyDocuments(distinctPaths(o.file));
      const json = globals(cmd).json;
      let confirmed: Plan | undefined;
      let shown = false; // the preview's items are on the terminal already
      if (o.prune && !o.yes) {
        const preview = await sendPolicy<Plan>(cmd, '/policy/plan', docs, true);
        const deletes = pruneSummary(preview);
        if (deletes) {
          if (!process.stdin.isTTY || !process.stderr.isTTY)
            throw new Error(
              `${deletes}. Nothing was applied: there is no terminal to confirm on. Review it with \`confix plan ${o.file.map((f) => `-f ${f}`).join(' ')} --prune\`, then add --yes`,
            );
          shown = !json && !!process.stdout.isTTY;
          if (shown) printPlan(preview);
          else process.stderr.write(pc.bold(pc.red(deletes)) + '\n'); // where the question is
          if (!(await confirm(`Apply, and delete ${deletionKeys(preview).length === 1 ? 'it' : 'them'}? [y/N] `))) throw new Error('nothing was applied');
          confirmed = preview;
        }
      }
      const res = await sendPolicy<{ plan: Plan; evaluation: EvaluationSummary }>(cmd, '/policy/apply', docs, o.prune);
      // Deleted while the question was open: something declared changed in between (another apply).
      const unasked = confirmed ? deletionKeys(res.plan).filter((k) => !deletionKeys(confirmed!).includes(k)) : [];
      if (json) {
        if (unasked.length) process.stderr.write(pc.yellow(`also deleted, changed since the question: ${unasked.join(', ')}`) + '\n');
        return printJson(res);
      }
      printPlan(res.plan, { applied: true, brief: shown });
      if (unasked.length) print(pc.yellow(`also deleted, changed since the question: ${unasked.join(', ')}`));
      if (res.evaluation.rules) print(summaryLine(res.evaluation));
    });
}
