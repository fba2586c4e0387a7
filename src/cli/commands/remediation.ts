import type { Command } from 'commander';
import pc from 'picocolors';
import { client, globals, print, printJson } from '../context.js';
import { collect, intOption } from '../options.js';
import { diffLines, table, time, yaml } from '../format.js';
import type { Execution } from '../../remediation/executions.js';
import type { DiffOp } from '../../inventory/diff.js';
import { EXECUTION_STATUSES, isActive } from '../../remediation/statuses.js';

interface PauseState {
  paused: boolean;
  pausedAt: string | null;
  reason: string | null;
  resumedAt: string | null;
}

export function statusColor(s: string): string {
  if (s === 'SUCCEEDED') return pc.green(s);
  if (s === 'FAILED') return pc.red(s);
  if (s === 'CANCELLED') return pc.dim(s);
  return pc.yellow(s);
}

function printExecution(x: Execution): void {
  print(`${pc.bold(x.executionId)}  ${statusColor(x.status)}${x.dryRun ? pc.dim(' (dry run)') : ''}`);
  print(`  rule ${x.ruleName}  action ${x.action}  trigger ${x.trigger}  attempt ${x.attempt}${x.rollbackOf ? `  rollback of ${x.rollbackOf}` : ''}`);
  print(`  resource ${x.resourceType} ${x.resourceId} (${x.accountId}/${x.regionId})`);
  if (x.decidedBy) print(`  ${x.status === 'CANCELLED' ? 'rejected' : 'approved'} by ${x.decidedBy} at ${time(x.decidedAt)}`);
  print(`  created ${time(x.createdAt)}  started ${time(x.startedAt)}  finished ${time(x.finishedAt)}`);
  if (x.errorCode) print(pc.red(`  error ${x.errorCode}: ${x.errorMessage}`));
  if (x.steps.length) print(pc.dim('steps:'));
  for (const s of x.steps) {
    const mark = s.status === 'SUCCEEDED' ? pc.green('✓') : s.status === 'FAILED' ? pc.red('✗') : pc.dim('-');
    print(`  ${mark} ${s.name.padEnd(10)} ${s.message}`);
    if (s.name === 'preview' && Array.isArray(s.detail) && s.detail.length) print(diffLines(s.detail as DiffOp[], '      ').join('\n'));
  }
  if (x.priorState !== null && x.priorState !== undefined) {
    print(pc.dim('prior state (for rollback):'));
    print(yaml(x.priorState).replace(/^/gm, '  '));
  }
}

/** A failed execution's reason, marked when retrying cannot help. */
function failureOf(x: { errorCode: string | null; errorMessage: string | null; retryable?: boolean | null }): string {
  if (!x.errorCode) return '';
  return `${x.retryable === false ? pc.red('[permanent] ') : x.retryable ? pc.dim('[retryable] ') : ''}${x.errorCode}: ${x.errorMessage}`;
}

export function remediationCommands(program: Command, get: Command) {
  program
    .command('remediate')
    .description("Run a rule's remediation on resources now, like the clouds' Remediate button")
    .requiredOption('--rule <name>', 'the rule whose remediation to run')
    .option('--resource <id>', 'a resource to fix (repeatable)', collect)
    .option('--all-non-compliant', 'every resource the rule finds non-compliant')
    .option('--dry-run', 'record the preview of the change as the execution; change nothing')
    .option('--wait', 'wait for the executions to finish and show them')
    .option('--timeout <seconds>', 'with --wait, give up after this long', intOption('--timeout', 1, 86_400), 120)
    .action(async (o: { rule: string; resource?: string[]; allNonCompliant?: boolean; dryRun?: boolean; wait?: boolean; timeout: number }, cmd: Command) => {
      if (!o.resource?.length && !o.allNonCompliant) throw new Error('name resources with --resource, or use --all-non-compliant');
      const api = client(cmd);
      const res = await api.post<{ queued: Execution[]; failed: { resourceId: string; reason: string }[] }>(
        `/rules/${encodeURIComponent(o.rule)}/remediation/executions`,
        { resourceIds: o.resource, allNonCompliant: o.allNonCompliant ?? false, dryRun: o.dryRun ?? false, trigger: 'MANUAL' },
      );
      let executions = res.queued;
      if (o.wait && executions.length) {
        const deadline = Date.now() + o.timeout * 1000;
        while (executions.some((x) => isActive(x.status)) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 300));
          executions = await Promise.all(executions.map((x) => api.get<Execution>(`/executions/${x.executionId}`)));
        }
      }
      if (globals(cmd).json) return printJson({ queued: executions, failed: res.failed });
      if (executions.length) {
        print(
          table(
            ['EXECUTION', 'RESOURCE', 'STATUS', 'ERROR'],
            executions.map((x) => [x.executionId, x.resourceId, statusColor(x.status), x.errorCode ? `${x.errorCode}: ${x.errorMessage}` : '']),
          ),
        );
        if (o.dryRun && o.wait) for (const x of executions) printExecution(x);
      }
      for (const f of res.failed) print(pc.red(`not queued: ${f.resourceId}: ${f.reason}`));
      if (!executions.length && !res.failed.length) print('nothing to remediate');
      if (executions.length && !o.wait) print(pc.dim('queued; follow with `confix get executions` or add --wait'));
    });

  program
    .command('rollback <executionId>')
    .description(
      'Restore the prior state a successful execution recorded (re-authorise revoked rules, restore the ACL, start the stopped instance), as a new execution',
    )
    .option('--wait', 'wait for the rollback to finish and show it')
    .option('--timeout <seconds>', 'with --wait, give up after this long', intOption('--timeout', 1, 86_400), 120)
    .action(async (id: string, o: { wait?: boolean; timeout: number }, cmd: Command) => {
      const api = client(cmd);
      let x = await api.post<Execution>(`/executions/${encodeURIComponent(id)}/rollback`);
      const deadline = Date.now() + o.timeout * 1000;
      while (o.wait && isActive(x.status) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 300));
        x = await api.get<Execution>(`/executions/${x.executionId}`);
      }
      if (globals(cmd).json) return printJson(x);
      if (o.wait) printExecution(x);
      else print(`rollback of ${id} queued as ${x.executionId}; follow with \`confix get execution ${x.executionId}\``);
    });

  for (const decision of ['approve', 'reject'] as const) {
    const cmd = program
      .command(`${decision} <executionId...>`)
      .description(
        decision === 'approve'
          ? 'Approve executions waiting for approval (AWAITING_APPROVAL): they run now'
          : 'Reject executions waiting for approval: they end CANCELLED with your reason, touching nothing',
      )
      .option('--by <name>', "a note of who decides, recorded after the token's name (the decider recorded is the API token the CLI sends)")
      .addHelpText(
        'after',
        `
The execution records the name of the API token that decided, as the audit
log does: "approved by ops-cli". With --by alice it reads "approved by ops-cli
(note: alice)"; the note is what the caller says, the token is what the
service checked.`,
      );
    if (decision === 'reject') cmd.requiredOption('--reason <text>', 'why (recorded on the execution)');
    cmd.action(async (ids: string[], o: { by?: string; reason?: string }, c: Command) => {
      const api = client(c);
      const done: Execution[] = [];
      const problems: string[] = [];
      for (const id of ids) {
        try {
          done.push(
            await api.post<Execution>(`/executions/${encodeURIComponent(id)}/${decision}`, {
              ...(o.by ? { by: o.by } : {}),
              ...(o.reason ? { reason: o.reason } : {}),
            }),
          );
        } catch (err) {
          problems.push(`${id}: ${(err as Error).message}`);
        }
      }
      if (globals(c).json) printJson({ [decision === 'approve' ? 'approved' : 'rejected']: done, failed: problems });
      else {
        for (const x of done)
          print(`${x.executionId} ${decision === 'approve' ? 'approved: queued to run' : 'rejected: cancelled'} (${x.ruleName} on ${x.resourceId})`);
        for (const p of problems) print(pc.red(`not ${decision}d: ${p}`));
      }
      if (problems.length) throw new Error(`${problems.length} of ${ids.length} could not be ${decision}d`);
    });
  }

  const remediation = program.command('remediation').description("Pause or resume a rule's automatic remediation");
  remediation
    .command('pause <rule>')
    .description("Pause the rule's automatic remediation: its automatic executions wait until resumed (manual ones still run)")
    .option('--reason <text>', 'why (shown with the rule)')
    .action(async (rule: string, o: { reason?: string }, cmd: Command) => {
      const st = await client(cmd).post<PauseState>(`/rules/${encodeURIComponent(rule)}/remediation/pause`, o.reason ? { reason: o.reason } : {});
      if (globals(cmd).json) return printJson(st);
      print(`automatic remediation of ${rule} is paused: ${st.reason}`);
    });
  remediation
    .command('resume <rule>')
    .description("Resume the rule's automatic remediation after a pause (by you or by the error-percentage control)")
    .action(async (rule: string, _o: unknown, cmd: Command) => {
      const st = await client(cmd).post<PauseState>(`/rules/${encodeURIComponent(rule)}/remediation/resume`);
      if (globals(cmd).json) return printJson(st);
      print(`automatic remediation of ${rule} resumed; waiting automatic executions will run`);
    });

  get
    .command('remediation <rule>')
    .description("A rule's remediation detail: configuration, pause state, counts, and the execution result list")
    .option('--limit <n>', 'at most this many executions', intOption('--limit', 1, 10000), 20)
    .action(async (rule: string, o: { limit: number }, cmd: Command) => {
      const d = await client(cmd).get<{
        ruleName: string;
        remediation: Record<string, unknown>;
        state: PauseState;
        counts: Record<string, number>;
        executions: Execution[];
      }>(`/rules/${encodeURIComponent(rule)}/remediation`, { limit: o.limit });
      if (globals(cmd).json) return printJson(d);
      print(pc.bold(`${d.ruleName}: remediation`));
      print(yaml(d.remediation).replace(/^/gm, '  ').trimEnd());
      if (d.state.paused) print(pc.red(`automatic remediation PAUSED since ${time(d.state.pausedAt)}: ${d.state.reason}`));
      else if (d.remediation.invokeType === 'AUTO_EXECUTION')
        print(pc.green('automatic remediation active') + (d.state.resumedAt ? pc.dim(` (resumed ${time(d.state.resumedAt)})`) : ''));
      else print(pc.dim('manual remediation only (MANUAL_EXECUTION): runs when started with `confix remediate`'));
      print(
        Object.entries(d.counts)
          .filter(([, n]) => n > 0)
          .map(([st, n]) => `${statusColor(st)} ${n}`)
          .join('  ') || pc.dim('no executions yet'),
      );
      if (d.executions.length)
        print(
          table(
            ['EXECUTION', 'RESOURCE', 'STATUS', 'TRIGGER', 'ATTEMPT', 'STARTED', 'FINISHED', 'FAILURE REASON'],
            d.executions.map((x) => [
              x.executionId,
              x.resourceId,
              statusColor(x.status) + (x.dryRun ? pc.dim(' dry') : ''),
              x.trigger,
              x.attempt,
              time(x.startedAt),
              time(x.finishedAt),
              failureOf(x),
            ]),
          ),
        );
    });

  get
    .command('actions')
    .description('The built-in remediation actions, what they fix and the permissions they need')
    .action(async (_o: unknown, cmd: Command) => {
      const { items } = await client(cmd).get<{
        items: { name: string; description: string; resourceTypes: string[]; permissions: string[]; rollback: boolean }[];
      }>('/remediation/actions');
      if (globals(cmd).json) return printJson(items);
      print(
        table(
          ['ACTION', 'FIXES', 'PERMISSIONS', 'ROLLBACK', 'DESCRIPTION'],
          items.map((a) => [a.name, a.resourceTypes.join('\n'), a.permissions.join('\n'), a.rollback ? 'yes' : 'no', a.description]),
        ),
      );
    });

  const exception = program.command('exception').description("Exempt resources from a rule's remediation");
  exception
    .command('add')
    .description("Exempt a resource from a rule's remediation, with a reason and an optional expiry")
    .requiredOption('--rule <name>', 'the rule')
    .requiredOption('--resource <id>', 'the resource')
    .requiredOption('--reason <text>', 'why (shown wherever remediation passes the resource by)')
    .option('--expires <when>', 'an ISO time, or a duration from now like 7d, 12h')
    .action(async (o: { rule: string; resource: string; reason: string; expires?: string }, cmd: Command) => {
      const e = await client(cmd).post<{ resourceId: string; ruleName: string; expiresAt: string | null }>(
        `/rules/${encodeURIComponent(o.rule)}/remediation/exceptions`,
        {
          resourceId: o.resource,
          reason: o.reason,
          expires: o.expires,
        },
      );
      if (globals(cmd).json) return printJson(e);
      print(`${e.resourceId} is exempted from ${e.ruleName}'s remediation${e.expiresAt ? ` until ${time(e.expiresAt)}` : ''}`);
    });
  exception
    .command('remove')
    .description('Remove an exception')
    .requiredOption('--rule <name>', 'the rule')
    .requiredOption('--resource <id>', 'the resource')
    .action(async (o: { rule: string; resource: string }, cmd: Command) => {
      const api = client(cmd);
      const url = `/rules/${encodeURIComponent(o.rule)}/remediation/exceptions/${encodeURIComponent(o.resource)}`;
      const res = await api.delete<{ removed: boolean }>(url);
      if (globals(cmd).json) return printJson(res);
      print(`${o.resource} is no longer exempted from ${o.rule}'s remediation`);
    });

  get
    .command('exceptions')
    .description("A rule's remediation exceptions")
    .requiredOption('--rule <name>', 'the rule')
    .action(async (o: { rule: string }, cmd: Command) => {
      const { items } = await client(cmd).get<{
        items: { resourceId: string; resourceType: string; accountId: string; reason: string; expiresAt: string | null; expired: boolean }[];
      }>(`/rules/${encodeURIComponent(o.rule)}/remediation/exceptions`);
      if (globals(cmd).json) return printJson(items);
      if (!items.length) return print('no exceptions');
      print(
        table(
          ['RESOURCE', 'TYPE', 'ACCOUNT', 'REASON', 'EXPIRES'],
          items.map((e) => [
            e.resourceId,
            e.resourceType,
            e.accountId,
            e.reason,
            e.expiresAt ? time(e.expiresAt) + (e.expired ? pc.dim(' (expired)') : '') : 'never',
          ]),
        ),
      );
    });

  get
    .command('executions')
    .description('Remediation executions, newest first')
    .option('--rule <name>', 'only this rule')
    .option('--status <status>', `only ${EXECUTION_STATUSES.slice(0, -1).join(', ')} or ${EXECUTION_STATUSES.at(-1)}`)
    .option('--resource <id>', 'only this resource')
    .option('--provider <name>', 'only resources of this provider (sandbox, aws, … as named in confix.yaml)')
    .option('--limit <n>', 'at most this many', intOption('--limit', 1, 10000), 50)
    .action(async (o: { rule?: string; status?: string; resource?: string; provider?: string; limit: number }, cmd: Command) => {
      const { items } = await client(cmd).get<{ items: Execution[] }>('/executions', {
        rule: o.rule,
        status: o.status,
        resourceId: o.resource,
        provider: o.provider,
        limit: o.limit,
      });
      if (globals(cmd).json) return printJson(items);
      if (!items.length) return print('no executions');
      // The provider column once there is more than one provider among them.
      const several = new Set(items.map((x) => x.provider)).size > 1;
      print(
        table(
          ['EXECUTION', 'RULE', ...(several ? ['PROVIDER'] : []), 'RESOURCE', 'STATUS', 'TRIGGER', 'ATTEMPT', 'CREATED', 'FAILURE REASON'],
          items.map((x) => [
            x.executionId,
            x.ruleName,
            ...(several ? [x.provider ?? '-'] : []),
            x.resourceId,
            statusColor(x.status) + (x.dryRun ? pc.dim(' dry') : ''),
            x.trigger,
            x.attempt,
            time(x.createdAt),
            failureOf(x),
          ]),
        ),
      );
    });

  get
    .command('execution <id>')
    .description('One execution: its steps, times, error and prior state')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const x = await client(cmd).get<Execution>(`/executions/${encodeURIComponent(id)}`);
      if (globals(cmd).json) return printJson(x);
      printExecution(x);
    });
}
