/**
 * `confix delete KIND NAME`: one verb for deleting what the CLI creates, with
 * --help, --json and an error naming the object when there is none. The older
 * spellings (`topic delete`, `exception remove`, `credentials remove`, `token
 * revoke`, …) keep working.
 */
import type { Command } from 'commander';
import pc from 'picocolors';
import { client, globals, print, printJson } from '../context.js';
import { ApiClientError, type ApiClient } from '../client.js';
import type { Counts } from '../../evaluation/compliance.js';

interface RuleView {
  name: string;
  origin: 'api' | 'policy';
  compliance: Counts;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** How many executions a rule has: its remediation's counts, else (no remediation any more) the list, bounded. */
async function executionCount(api: ApiClient, rule: string): Promise<{ count: number; atLeast: boolean }> {
  try {
    const d = await api.get<{ counts: Record<string, number> }>(`/rules/${encodeURIComponent(rule)}/remediation`, { limit: 1 });
    return { count: Object.values(d.counts).reduce((a, b) => a + b, 0), atLeast: false };
  } catch (err) {
    if (!(err instanceof ApiClientError) || err.code !== 'NoRemediation') throw err;
    const limit = 1000;
    const { items } = await api.get<{ items: unknown[] }>('/executions', { rule, limit });
    return { count: items.length, atLeast: items.length >= limit };
  }
}

/** Deletes a rule, saying what went with it (its results and timeline, executions and exceptions: the database cascades them). */
async function deleteRule(cmd: Command, name: string): Promise<void> {
  const api = client(cmd);
  const path = `/rules/${encodeURIComponent(name)}`;
  const rule = await api.get<RuleView>(path); // 404 names the rule
  const executions = await executionCount(api, rule.name);
  const { items: exceptions } = await api.get<{ items: unknown[] }>(`${path}/remediation/exceptions`);
  await api.delete<{ deleted: string }>(path);
  const c = rule.compliance;
  const results = c.nonCompliant + c.compliant + c.notApplicable + c.insufficientData;
  if (globals(cmd).json)
    return printJson({
      deleted: rule.name,
      origin: rule.origin,
      results: { total: results, ...c },
      executions: executions.count,
      exceptions: exceptions.length,
    });
  const went = [
    `${plural(results, 'evaluation result')}${c.nonCompliant ? ` (${c.nonCompliant} non-compliant)` : ''} with their timeline`,
    `${executions.atLeast ? 'at least ' : ''}${plural(executions.count, 'remediation execution')}`,
    plural(exceptions.length, 'remediation exception'),
  ];
  print(`deleted rule ${rule.name} with ${went.slice(0, -1).join(', ')} and ${went.at(-1)}`);
  if (rule.origin === 'policy')
    print(
      pc.yellow(
        `${rule.name} came from policy files: applying them again creates it again; take it out of them (\`confix plan -f … --prune\` shows what else they no longer declare)`,
      ),
    );
}

interface Deleter {
  kind: string;
  arg: string;
  description: string;
  example: string;
  setup?: (c: Command) => Command;
  run: (cmd: Command, name: string, o: Record<string, string>) => Promise<void>;
}

const enc = encodeURIComponent;

const DELETERS: Deleter[] = [
  {
    kind: 'rule',
    arg: 'name',
    description: 'Delete a rule with its evaluation results, timeline, remediation, executions and exceptions',
    example: 'confix delete rule sg-disallow-risky-ports-for-all-ips',
    run: (cmd, name) => deleteRule(cmd, name),
  },
  {
    kind: 'account-group',
    arg: 'name',
    description: 'Delete an account group; refused while a rule is scoped to it (also: confix account-group delete)',
    example: 'confix delete account-group seed-000',
    run: async (cmd, name) => {
      const res = await client(cmd).delete<{ deleted: string }>(`/account-groups/${enc(name)}`);
      if (globals(cmd).json) return printJson(res);
      print(`deleted account group ${name}`);
    },
  },
  {
    kind: 'topic',
    arg: 'name',
    description: 'Delete a topic with its subscriptions and their deliveries; the default topic stays (also: confix topic delete)',
    example: 'confix delete topic security',
    run: async (cmd, name) => {
      const res = await client(cmd).delete<{ deleted: string; subscriptions: string[] }>(`/topics/${enc(name)}`);
      if (globals(cmd).json) return printJson(res);
      print(
        `deleted topic ${name}${res.subscriptions.length ? ` with its ${res.subscriptions.length === 1 ? 'subscription' : 'subscriptions'} ${res.subscriptions.join(', ')}` : ''}`,
      );
    },
  },
  {
    kind: 'subscription',
    arg: 'name',
    description: 'Delete a subscription with its deliveries (also: confix subscription delete)',
    example: 'confix delete subscription soc --topic security',
    setup: (c) => c.option('--topic <topic>', 'the topic it is on', 'default'),
    run: async (cmd, name, o) => {
      const res = await client(cmd).delete<{ deleted: string; topic: string }>(`/topics/${enc(o.topic!)}/subscriptions/${enc(name)}`);
      if (globals(cmd).json) return printJson(res);
      print(`deleted subscription ${name} of topic ${o.topic}`);
    },
  },
  {
    kind: 'function',
    arg: 'name',
    description: 'Delete a function with its versions and invocations; refused while a rule or subscription names it (also: confix function delete)',
    example: 'confix delete function revoke-open-ports',
    run: async (cmd, name) => {
      const res = await client(cmd).delete<{ deleted: string }>(`/functions/${enc(name)}`);
      if (globals(cmd).json) return printJson(res);
      print(`deleted function ${name}`);
    },
  },
  {
    kind: 'exception',
    arg: 'resource',
    description: "Delete a resource's remediation exception under a rule: its remediation may fix it again (also: confix exception remove)",
    example: 'confix delete exception i-bp1memberapp0000001 --rule ecs-instance-monitor-enabled',
    setup: (c) => c.requiredOption('--rule <name>', 'the rule the resource is exempted from'),
    run: async (cmd, resource, o) => {
      const res = await client(cmd).delete<{ removed: boolean }>(`/rules/${enc(o.rule!)}/remediation/exceptions/${enc(resource)}`);
      if (globals(cmd).json) return printJson({ ...res, rule: o.rule, resourceId: resource });
      print(`deleted the exception of ${resource} under ${o.rule}: it is no longer exempted from the rule's remediation`);
    },
  },
  {
    kind: 'credentials',
    arg: 'account',
    description: "Delete an account's stored access key (also: confix credentials remove --account ID)",
    example: 'confix delete credentials 100931896542',
    run: async (cmd, account) => {
      const res = await client(cmd).delete<{ removed: boolean; accountId: string }>(`/credentials/${enc(account)}`);
      if (globals(cmd).json) return printJson(res);
      print(`deleted the access key of account ${account}`);
    },
  },
  {
    kind: 'token',
    arg: 'name',
    description: 'Revoke an API token (by name or id): it is refused from now on; its record stays, as the audit log names it (also: confix token revoke)',
    example: 'confix delete token ci-reader',
    run: async (cmd, name) => {
      const t = await client(cmd).delete<{ name: string; role: string }>(`/tokens/${enc(name)}`);
      if (globals(cmd).json) return printJson(t);
      print(`revoked token "${t.name}" (${t.role}): it is refused from now on`);
    },
  },
];

export function deleteCommands(program: Command) {
  const del = program
    .command('delete')
    .description(`Delete one thing by name: ${DELETERS.map((d) => d.kind).join(', ')}`)
    .addHelpText(
      'after',
      `
Each answers with what it deleted (--json for JSON), and fails naming the
thing when there is none. Examples:
${DELETERS.map((d) => `  ${d.example}`).join('\n')}`,
    );
  for (const d of DELETERS) {
    const c = del.command(`${d.kind} <${d.arg}>`).description(d.description).addHelpText('after', `\nAdd --json for JSON.\n\nExample:\n  ${d.example}`);
    (d.setup?.(c) ?? c).action((name: string, o: Record<string, string>, cmd: Command) => d.run(cmd, name, o));
  }
}
