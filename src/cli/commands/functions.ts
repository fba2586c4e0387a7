/**
 * Functions: `confix function deploy|invoke|delete`, `confix get functions`,
 * `confix get function NAME`, `confix get invocations`, `confix get
 * invocation ID`, `confix logs FUNCTION` and `confix invocation cancel ID`.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import pc from 'picocolors';
import { client, globals, print, printJson } from '../context.js';
import { ApiClientError, type ApiClient } from '../client.js';
import { intOption } from '../options.js';
import { table, time } from '../format.js';
import type { FunctionInfo, FunctionVersion } from '../../functions/store.js';
import type { Invocation, InvocationSource } from '../../functions/invocations.js';
import type { LogLine } from '../../functions/runtime.js';

type FunctionDetail = FunctionInfo & { versions: FunctionVersion[]; usedBy: string[] };
type InvocationSummary = Omit<Invocation, 'input' | 'result' | 'logs'>;
type Invoked = Invocation & { deduplicated: boolean };
type FunctionLogLine = LogLine & { invocationId: string; version: number };

const ENDED = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED'];

export function invocationStatusColor(s: string): string {
  if (s === 'SUCCEEDED') return pc.green(s);
  if (s === 'FAILED' || s === 'TIMED_OUT') return pc.red(s);
  if (s === 'CANCELLED') return pc.dim(s);
  return pc.yellow(s);
}

function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** Where an invocation came from, with the command that shows it. */
function describeSource(s: InvocationSource): string {
  switch (s.type) {
    case 'manual':
      return 'manual (API or CLI)';
    case 'remediation':
      return `remediation execution ${s.id} (confix get execution ${s.id})`;
    case 'rule':
      return `rule ${s.rule} (${s.id})`;
    case 'subscription':
      return `subscription ${s.subscription} (${s.id})`;
  }
}

function shortSource(s: InvocationSource): string {
  if (s.type === 'manual') return 'manual';
  if (s.type === 'remediation') return `remediation ${s.id}`;
  if (s.type === 'rule') return `rule ${s.rule}`;
  return `subscription ${s.subscription}`;
}

const LEVEL_COLOR: Record<string, (s: string) => string> = { error: pc.red, warn: pc.yellow, info: (s) => s, debug: pc.dim };

/** TIME LEVEL [invocation-id] message */
function logLine(l: LogLine & { invocationId?: string }): string {
  const level = (LEVEL_COLOR[l.level] ?? ((s: string) => s))(l.level.toUpperCase().padEnd(5));
  const head = `${l.time} ${level} ${l.invocationId ? `[${l.invocationId}] ` : ''}`;
  // A message's further lines under its first.
  return head + l.message.replace(/\n/g, '\n' + ' '.repeat(l.time.length + 7 + (l.invocationId ? l.invocationId.length + 3 : 0)));
}

/** JSON for people: short values on the line, longer ones indented under it. */
function jsonBlock(label: string, value: unknown): string {
  const s = JSON.stringify(value);
  if (s === undefined || value === null) return `${label}: ${pc.dim('(none)')}`;
  if (s.length <= 100) return `${label}: ${s}`;
  return `${label}:\n${JSON.stringify(value, null, 2).replace(/^/gm, '  ')}`;
}

function printInvocation(i: Invocation, o: { showInput?: boolean } = {}): void {
  print(
    `${pc.bold(i.invocationId)}  ${invocationStatusColor(i.status)}${i.cancelRequested && !ENDED.includes(i.status) ? pc.yellow(' (cancel requested)') : ''}`,
  );
  print(`  function ${i.functionName} version ${i.version}  attempt ${i.attempt}${i.idempotencyKey ? `  idempotency key ${i.idempotencyKey}` : ''}`);
  print(`  source ${describeSource(i.source)}`);
  const usage = [
    i.durationMs !== null ? `duration ${duration(i.durationMs)}` : '',
    i.initDurationMs !== null ? `(init ${duration(i.initDurationMs)})` : '',
    i.maxRssMb !== null ? `max memory ${i.maxRssMb} MB` : '',
  ].filter(Boolean);
  print(`  created ${time(i.createdAt)}  started ${time(i.startedAt)}  finished ${time(i.finishedAt)}${usage.length ? `  ${usage.join(' ')}` : ''}`);
  if (o.showInput) print(jsonBlock('input', i.input));
  if (i.status === 'SUCCEEDED') print(jsonBlock('result', i.result));
  if (i.error) {
    print(pc.red(`error ${i.error.type}${i.error.code ? ` (${i.error.code})` : ''}: ${i.error.message}`));
    const stack = i.error.stack?.split('\n').slice(1).join('\n');
    if (stack) print(pc.dim(stack.replace(/^\s*/gm, '    ')));
  }
  if (i.logs.length || i.logsTruncated) {
    print(pc.dim('logs:'));
    for (const l of i.logs) print(('  ' + logLine(l)).replace(/\n/g, '\n  '));
    if (i.logsTruncated) print(pc.dim(`  … ${i.logsTruncated} more line${i.logsTruncated === 1 ? '' : 's'} dropped past the log cap`));
  } else if (ENDED.includes(i.status)) print(pc.dim('no logs'));
}

/** NAME=VALUE, repeatable, into an environment. */
function envOption(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq < 1) throw new InvalidArgumentError(`--env takes NAME=VALUE, not "${value}"`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

/** The flag that sets each deploy setting, to name it in errors. */
const FLAGS: Record<string, string> = {
  fileName: '--file',
  handler: '--handler',
  role: '--role',
  timeoutSeconds: '--timeout',
  memoryMb: '--memory',
  env: '--env',
  description: '--description',
  name: 'NAME',
};

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${what} is not JSON: ${(err as Error).message}`);
  }
}

/** An invocation once it has ended: asked to wait a minute at a time, then read every half second. */
async function untilEnded(api: ApiClient, i: Invocation): Promise<Invocation> {
  while (!ENDED.includes(i.status)) {
    await new Promise((r) => setTimeout(r, 500));
    i = await api.get<Invocation>(`/invocations/${encodeURIComponent(i.invocationId)}`);
  }
  return i;
}

export function functionCommands(program: Command, get: Command) {
  const fn = program
    .command('function')
    .description('Deploy, invoke and delete functions: TypeScript or JavaScript handlers run like Function Compute or Lambda, one process per invocation');

  fn.command('deploy <name>')
    .description('Deploy a function from a code file: a new version when the code or settings changed, else nothing')
    .requiredOption('--file <path>', 'the code: a .ts, .mts, .js, .mjs or .cjs file (its name is kept, and shown in stack traces)')
    .option('--handler <name>', 'the exported function called as handler(event, context)', 'handler')
    .option(
      '--role <role>',
      "the role it runs with: a role name (the management account's) or a role ARN; its trust policy must name fc.aliyuncs.com or lambda.amazonaws.com",
    )
    .option('--timeout <seconds>', 'stop an invocation after this long (TIMED_OUT)', intOption('--timeout', 1, 900), 60)
    .option('--memory <mb>', 'the memory of its process; past it the invocation fails', intOption('--memory', 64, 3072), 256)
    .option('--env <name=value>', 'an environment variable (repeatable); shown in clear to anyone who can read the function: not for secrets', envOption)
    .option('--description <text>', 'what the function is for')
    .addHelpText(
      'after',
      `
Every deploy gives all the settings: those not given take their defaults, not
the previous version's. The code is compiled and loaded as at a cold start
before it is kept; a problem is shown at its file and line, and nothing is
deployed. Functions get credentials from their role (context.credentials),
never from confix's own keys or environment.

Examples:
  confix function deploy revoke-open-ports --file ./functions/revoke.ts --role ConfigCustomRemediationRole
  confix function deploy tagger --file tagger.js --timeout 30 --memory 128 --env TAG=owner --env DEFAULT=platform`,
    )
    .action(
      async (
        name: string,
        o: { file: string; handler: string; role?: string; timeout: number; memory: number; env?: Record<string, string>; description?: string },
        cmd: Command,
      ) => {
        const source = await readFile(o.file, 'utf8').catch((err: NodeJS.ErrnoException) => {
          throw new Error(`cannot read ${o.file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
        });
        const fileName = basename(o.file);
        const body: Record<string, unknown> = { fileName, source, handler: o.handler, timeoutSeconds: o.timeout, memoryMb: o.memory, env: o.env ?? {} };
        if (o.role !== undefined) body.role = o.role;
        if (o.description !== undefined) body.description = o.description;
        let res: { created: boolean; function: FunctionInfo; version: FunctionVersion };
        try {
          res = await client(cmd).put(`/functions/${encodeURIComponent(name)}`, body);
        } catch (err) {
          if (!(err instanceof ApiClientError) || err.code !== 'InvalidFunction' || !err.body?.issues?.length) throw err;
          // The code's problems at the file as given on the command line; settings by their flag.
          const lines = err.body.issues.map((i) => {
            if (i.path === 'source') return i.message.startsWith(`${fileName}:`) ? `${o.file}${i.message.slice(fileName.length)}` : `${o.file}: ${i.message}`;
            const head = i.path.split('.')[0] ?? '';
            return `${FLAGS[head] ?? (i.path || 'function')}: ${i.message}`;
          });
          throw new Error(`${name} was not deployed:\n  ${lines.join('\n').replace(/\n/g, '\n  ')}`);
        }
        if (globals(cmd).json) return printJson(res);
        if (res.created) print(`deployed ${name} version ${res.version.version}`);
        else print(`${name} unchanged (version ${res.version.version})`);
      },
    );

  fn.command('invoke <name>')
    .description('Invoke a function with an event and wait for it: prints the status, the result (JSON) or error, and the logs; exits 1 unless it SUCCEEDED')
    .option('--event <json>', 'the event, as JSON text')
    .option('--event-file <path>', 'the event from a JSON file, or - for standard input')
    .option('--function-version <n>', 'run this version (default the latest); NAME:N says the same', intOption('--function-version', 1))
    .option('--idempotency-key <key>', 'asking again with the same key answers the first invocation instead of running another')
    .option('--no-wait', 'answer at once with the queued invocation')
    .addHelpText(
      'after',
      `
Ctrl-C stops waiting, not the invocation; \`confix invocation cancel ID\` stops it.
(The version flag is --function-version: --version is confix's own.)

Examples:
  confix function invoke revoke-open-ports --event '{"resourceId":"sg-web-prod"}'
  confix function invoke revoke-open-ports:2 --event-file event.json
  echo '{"n":21}' | confix function invoke echo --event-file - --json
  confix function invoke nightly --no-wait --idempotency-key 2026-05-01`,
    )
    .action(
      async (nameArg: string, o: { event?: string; eventFile?: string; functionVersion?: number; idempotencyKey?: string; wait: boolean }, cmd: Command) => {
        if (o.event !== undefined && o.eventFile !== undefined) throw new Error('give the event one way: --event or --event-file, not both');
        const m = /^([^:]+):(\d+)$/.exec(nameArg);
        const name = m ? m[1]! : nameArg;
        const qualified = m ? Number(m[2]) : undefined;
        if (qualified !== undefined && o.functionVersion !== undefined && qualified !== o.functionVersion)
          throw new Error(`${nameArg} names version ${qualified} but --function-version ${o.functionVersion}`);
        const version = qualified ?? o.functionVersion;
        let event: unknown;
        if (o.event !== undefined) event = parseJson(o.event, '--event');
        else if (o.eventFile !== undefined) {
          const text = o.eventFile === '-' ? await readStdin() : await readFile(o.eventFile, 'utf8');
          event = parseJson(text, o.eventFile === '-' ? 'the event on standard input' : o.eventFile);
        }
        const api = client(cmd);
        const started = await api.post<Invoked>(`/functions/${encodeURIComponent(name)}/invocations`, {
          ...(event !== undefined ? { event } : {}),
          ...(version !== undefined ? { version } : {}),
          ...(o.idempotencyKey !== undefined ? { idempotencyKey: o.idempotencyKey } : {}),
          wait: o.wait,
          ...(o.wait ? { timeoutSeconds: 60 } : {}),
        });
        const dedup = started.deduplicated ? pc.dim(`(idempotency key ${o.idempotencyKey} used before: this is that invocation; nothing new ran)`) : '';
        if (!o.wait) {
          if (globals(cmd).json) return printJson(started);
          print(`invoked ${name}: ${started.invocationId} ${invocationStatusColor(started.status)}${dedup ? ` ${dedup}` : ''}`);
          if (!ENDED.includes(started.status)) print(pc.dim(`follow with \`confix get invocation ${started.invocationId}\` or \`confix logs ${name}\``));
          return;
        }
        const done = { ...(await untilEnded(api, started)), deduplicated: started.deduplicated };
        if (globals(cmd).json) printJson(done);
        else {
          if (dedup) print(dedup);
          printInvocation(done);
        }
        if (done.status !== 'SUCCEEDED')
          throw new Error(`invocation ${done.invocationId} ${done.status}${done.error ? `: ${done.error.type}: ${done.error.message}` : ''}`);
      },
    );

  fn.command('delete <name>')
    .description('Delete a function with its versions and invocations; refused while a rule or subscription names it')
    .addHelpText('after', '\nExample:\n  confix function delete revoke-open-ports')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const res = await client(cmd).delete<{ deleted: string }>(`/functions/${encodeURIComponent(name)}`);
      if (globals(cmd).json) return printJson(res);
      print(`deleted function ${name}`);
    });

  program
    .command('invocation')
    .description('Act on function invocations')
    .command('cancel <id>')
    .description('Stop an invocation: a queued one is cancelled at once, a running one is stopped by its worker')
    .addHelpText('after', '\nExample:\n  confix invocation cancel inv-4f1c2a9b0d3e5f67')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const i = await client(cmd).post<Invocation>(`/invocations/${encodeURIComponent(id)}/cancel`);
      if (globals(cmd).json) return printJson(i);
      if (i.status === 'CANCELLED') print(`${i.invocationId} cancelled`);
      else print(`${i.invocationId} is ${i.status}: asked to stop; \`confix get invocation ${i.invocationId}\` shows when it has`);
    });

  program
    .command('logs <function>')
    .description("A function's log lines across its invocations, oldest first: TIME LEVEL [invocation] message")
    .option('--since <when>', 'only lines after this: an ISO time, or a duration back from now like 10m, 2h, 7d')
    .option('--limit <n>', 'at most this many lines (the newest)', intOption('--limit', 1, 10_000), 200)
    .option('-f, --follow', 'keep printing new lines of running and ending invocations, every second, until Ctrl-C')
    .addHelpText(
      'after',
      `
Lines are saved while their invocation runs (about every half second) and
whole when it ends; --follow prints new lines of running and ending
invocations every second. With --json: a list, or with --follow one
JSON object per line.

Examples:
  confix logs revoke-open-ports --since 10m
  confix logs revoke-open-ports -f`,
    )
    .action(async (name: string, o: { since?: string; limit: number; follow?: boolean }, cmd: Command) => {
      const api = client(cmd);
      const json = globals(cmd).json;
      const path = `/functions/${encodeURIComponent(name)}`;
      const emit = (l: FunctionLogLine) => print(json ? JSON.stringify(l) : logLine(l));
      if (!o.follow) {
        const { items } = await api.get<{ items: FunctionLogLine[] }>(`${path}/logs`, { since: o.since, limit: o.limit });
        if (json) return printJson(items);
        if (!items.length) return print(pc.dim(`no log lines${o.since ? ` since ${o.since}` : ''}`));
        for (const l of items) emit(l);
        return;
      }
      // Lines are saved while an invocation runs (about every half second) and again, whole, when it ends:
      // each invocation's lines are printed once, in order, by counting those already printed.
      const printed = new Map<string, number>();
      const finished = new Set<string>();
      const list = () => api.get<{ items: InvocationSummary[] }>('/invocations', { function: name, limit: 200 }).then((r) => r.items);
      const before = await list();
      const { items } = await api.get<{ items: FunctionLogLine[] }>(`${path}/logs`, { since: o.since, limit: o.limit });
      for (const l of items) {
        printed.set(l.invocationId, (printed.get(l.invocationId) ?? 0) + 1);
        emit(l);
      }
      // Ended before we looked: their lines were shown above (or are older than asked).
      for (const i of before) if (ENDED.includes(i.status)) finished.add(i.invocationId);
      for (;;) {
        await new Promise((r) => setTimeout(r, 1000));
        const open = (await list()).filter((i) => !finished.has(i.invocationId) && i.status !== 'QUEUED').reverse();
        for (const s of open) {
          const i = await api.get<Invocation>(`/invocations/${encodeURIComponent(s.invocationId)}`);
          const from = printed.get(i.invocationId) ?? 0;
          for (const l of i.logs.slice(from)) emit({ ...l, invocationId: i.invocationId, version: i.version });
          printed.set(i.invocationId, Math.max(from, i.logs.length));
          if (ENDED.includes(i.status)) {
            finished.add(i.invocationId);
            if (i.logsTruncated && !json)
              print(pc.dim(`… [${i.invocationId}] ${i.logsTruncated} more line${i.logsTruncated === 1 ? '' : 's'} dropped past the log cap`));
          }
        }
      }
    });

  get
    .command('functions')
    .description('Deployed functions: latest version, code file, handler, role, limits')
    .addHelpText('after', '\nAdd --json for JSON (a list of functions).')
    .action(async (_o: unknown, cmd: Command) => {
      const { items } = await client(cmd).get<{ items: FunctionInfo[] }>('/functions');
      if (globals(cmd).json) return printJson(items);
      if (!items.length) return print('no functions; deploy one with `confix function deploy NAME --file handler.ts`');
      print(
        table(
          ['NAME', 'VERSION', 'FILE', 'HANDLER', 'ROLE', 'TIMEOUT', 'MEMORY', 'UPDATED', 'DESCRIPTION'],
          items.map((f) => [
            f.name,
            f.latestVersion,
            f.latest.fileName,
            f.latest.handler,
            f.latest.role ?? pc.dim('none'),
            `${f.latest.timeoutSeconds} s`,
            `${f.latest.memoryMb} MB`,
            time(f.updatedAt),
            f.description,
          ]),
        ),
      );
    });

  get
    .command('function <name>')
    .description('A function: its latest settings, what uses it, and its versions')
    .addHelpText('after', '\nAdd --json for JSON.')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const f = await client(cmd).get<FunctionDetail>(`/functions/${encodeURIComponent(name)}`);
      if (globals(cmd).json) return printJson(f);
      const v = f.latest;
      print(`${pc.bold(f.name)}  version ${f.latestVersion}${f.description ? `  ${f.description}` : ''}`);
      print(`  file ${v.fileName}  handler ${v.handler}  role ${v.role ?? pc.dim('none (no credentials)')}`);
      print(`  timeout ${v.timeoutSeconds} s  memory ${v.memoryMb} MB  created ${time(f.createdAt)}  updated ${time(f.updatedAt)}`);
      const env = Object.entries(v.env);
      print(`  env ${env.length ? env.map(([k, x]) => `${k}=${x}`).join(' ') : pc.dim('none')}`);
      print(`  used by ${f.usedBy.length ? f.usedBy.join(', ') : pc.dim('nothing')}`);
      print('');
      print(
        table(
          ['VERSION', 'CREATED', 'FILE', 'SHA256', 'HANDLER', 'ROLE', 'TIMEOUT', 'MEMORY', 'ENV'],
          f.versions.map((x) => [
            x.version,
            time(x.createdAt),
            x.fileName,
            x.codeSha256.slice(0, 12),
            x.handler,
            x.role ?? '',
            `${x.timeoutSeconds} s`,
            `${x.memoryMb} MB`,
            Object.keys(x.env).join(', '),
          ]),
        ),
      );
    });

  get
    .command('invocations')
    .description('Function invocations, newest first')
    .option('--function <name>', 'only this function')
    .option('--status <status>', 'only QUEUED, RUNNING, SUCCEEDED, FAILED, TIMED_OUT or CANCELLED')
    .option('--source <source>', 'only this source: manual, remediation, rule or subscription, optionally with :ID (remediation:EXECUTION_ID)')
    .option('--limit <n>', 'at most this many', intOption('--limit', 1, 1000), 50)
    .addHelpText('after', '\nAdd --json for JSON (a list, without input, result and logs: `confix get invocation ID` has them).')
    .action(async (o: { function?: string; status?: string; source?: string; limit: number }, cmd: Command) => {
      const { items } = await client(cmd).get<{ items: InvocationSummary[] }>('/invocations', {
        function: o.function,
        status: o.status,
        source: o.source,
        limit: o.limit,
      });
      if (globals(cmd).json) return printJson(items);
      if (!items.length) return print('no invocations');
      print(
        table(
          ['INVOCATION', 'FUNCTION', 'VERSION', 'STATUS', 'SOURCE', 'CREATED', 'DURATION', 'ERROR'],
          items.map((i) => [
            i.invocationId,
            i.functionName,
            i.version,
            invocationStatusColor(i.status) + (i.cancelRequested && !ENDED.includes(i.status) ? pc.dim(' cancelling') : ''),
            shortSource(i.source),
            time(i.createdAt),
            duration(i.durationMs),
            i.error ? `${i.error.type}: ${i.error.message.split('\n')[0]}` : '',
          ]),
        ),
      );
    });

  get
    .command('invocation <id>')
    .description('One invocation: input, result or error, logs, duration, and what started it')
    .addHelpText('after', '\nAdd --json for JSON.')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const i = await client(cmd).get<Invocation>(`/invocations/${encodeURIComponent(id)}`);
      if (globals(cmd).json) return printJson(i);
      printInvocation(i, { showInput: true });
    });
}
