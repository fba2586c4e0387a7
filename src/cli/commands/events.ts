/**
 * Events, topics, subscriptions and deliveries: `confix get topics|topic|
 * subscriptions|deliveries|delivery|events|event`, `confix topic put|delete`,
 * `confix subscription put|delete` and `confix delivery redeliver`.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { readFileSync } from 'node:fs';
import pc from 'picocolors';
import { parse as parseYaml } from 'yaml';
import { client, globals, print, printJson } from '../context.js';
import { floatOption, intOption } from '../options.js';
import { table, time, yaml } from '../format.js';
import type { Topic, Subscription } from '../../events/topics.js';
import type { Delivery } from '../../events/deliveries.js';
import { EVENT_FORMATS } from '../../events/formats.js';

type SubscriptionView = Subscription & { deadLetters: number; secret?: string };
type TopicView = Topic & { subscriptions: number };
type TopicDetail = Topic & { subscriptions: SubscriptionView[] };
interface CloudEvent {
  id: string;
  type: string;
  source: string;
  subject?: string;
  time: string;
  /** What eventSummary reads of the native events' data (src/events/types.ts). */
  data?: {
    rule?: { name: string };
    oldEvaluationResult?: { complianceType: string } | null;
    newEvaluationResult?: { complianceType: string };
    resultClosed?: boolean;
    execution?: { id: string; status: string; errorCode?: string };
  };
}

const STATUSES = ['QUEUED', 'IN_PROGRESS', 'DELIVERED', 'DEAD'];
const PATTERN_EXAMPLE = `'{"type":["io.confix.compliance.changed.v1"],"data":{"newEvaluationResult":{"complianceType":["NON_COMPLIANT"]}}}'`;

/** --filter: an event pattern as JSON, or @FILE holding JSON or YAML. */
export function patternOption(value: string): Record<string, unknown> {
  let text = value;
  let from = 'the filter';
  let isYaml = false;
  if (value.startsWith('@')) {
    const file = value.slice(1);
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new InvalidArgumentError(
        `cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message}`,
      );
    }
    from = file;
    isYaml = /\.ya?ml$/i.test(file);
  }
  let parsed: unknown;
  try {
    parsed = isYaml ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`${from} is not valid ${isYaml ? 'YAML' : 'JSON'}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new InvalidArgumentError(`${from} must be a JSON object (an event pattern), like ${PATTERN_EXAMPLE}`);
  return parsed as Record<string, unknown>;
}

function statusOption(value: string): string {
  const s = value.toUpperCase().replace(/-/g, '_');
  if (!STATUSES.includes(s)) throw new InvalidArgumentError(`--status must be one of ${STATUSES.join(', ')}`);
  return s;
}

/** --secret: the value, @FILE, or - for standard input (so it need not stay in the shell history). */
async function secretValue(value: string): Promise<string> {
  let secret = value;
  if (value === '-') {
    if (process.stdin.isTTY) throw new Error('--secret -: pipe the secret into standard input');
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    secret = Buffer.concat(chunks).toString('utf8');
  } else if (value.startsWith('@')) {
    try {
      secret = readFileSync(value.slice(1), 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new Error(
        `--secret: cannot read ${value.slice(1)}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message}`,
      );
    }
  }
  secret = secret.replace(/[\r\n]+$/, '');
  if (!secret) throw new Error('--secret: the secret is empty');
  return secret;
}

const compact = (v: unknown, max = 60) => {
  if (v === null || v === undefined) return pc.dim('all');
  const s = JSON.stringify(v);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
};

function endpointText(e: Subscription['endpoint']): string {
  if (e.type === 'webhook') return `webhook ${e.url}`;
  const fn = (e as { function?: unknown }).function;
  return `function ${typeof fn === 'string' ? fn : ((fn as { name?: string } | undefined)?.name ?? JSON.stringify(fn))}`;
}

export function deliveryStatusColor(s: string): string {
  if (s === 'DELIVERED') return pc.green(s);
  if (s === 'DEAD') return pc.red(s);
  return pc.yellow(s);
}

function subscriptionsTable(items: SubscriptionView[]): string {
  return table(
    ['TOPIC', 'NAME', 'ENDPOINT', 'FORMAT', 'STATE', 'MAX ATTEMPTS', 'DEAD', 'FILTER'],
    items.map((s) => [
      s.topic,
      s.name,
      endpointText(s.endpoint),
      s.format,
      s.state === 'ACTIVE' ? s.state : pc.dim(s.state),
      s.maxAttempts,
      s.deadLetters ? pc.red(String(s.deadLetters)) : '0',
      compact(s.filter, 50),
    ]),
  );
}

function deliveriesTable(items: Delivery[]): string {
  return table(
    ['DELIVERY', 'TOPIC', 'SUBSCRIPTION', 'EVENT TYPE', 'STATUS', 'ATTEMPTS', 'CREATED', 'LAST ERROR'],
    items.map((d) => [
      d.deliveryId,
      d.topic,
      d.subscription,
      d.eventType,
      deliveryStatusColor(d.status),
      d.attempts.length,
      time(d.createdAt),
      d.status === 'DELIVERED' ? '' : (d.lastError ?? ''),
    ]),
  );
}

/** One line about what an event says. */
function eventSummary(e: CloudEvent): string {
  const d = e.data ?? {};
  if (d.newEvaluationResult) {
    const was = d.oldEvaluationResult?.complianceType ?? 'none';
    return `${d.rule?.name ?? '?'}: ${was} → ${d.newEvaluationResult.complianceType}${d.resultClosed ? ' (closed)' : ''}`;
  }
  if (d.execution) return `${d.rule?.name ?? '?'}: ${d.execution.id} ${d.execution.status}${d.execution.errorCode ? ` (${d.execution.errorCode})` : ''}`;
  return '';
}

export function eventCommands(program: Command, get: Command) {
  get
    .command('topics')
    .description('Topics: the default one receives every event, the others those matching their filter')
    .addHelpText('after', '\nAdd --json for JSON (a list of topics).')
    .action(async (_o: unknown, cmd: Command) => {
      const { items } = await client(cmd).get<{ items: TopicView[] }>('/topics');
      if (globals(cmd).json) return printJson(items);
      print(
        table(
          ['NAME', 'SUBSCRIPTIONS', 'FILTER', 'DESCRIPTION', 'UPDATED'],
          items.map((t) => [t.name, t.subscriptions, compact(t.filter), t.description, time(t.updatedAt)]),
        ),
      );
    });

  get
    .command('topic <name>')
    .description('A topic: its filter and its subscriptions')
    .addHelpText('after', '\nAdd --json for JSON (the topic with its subscriptions).\n\nExample:\n  confix get topic default')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const t = await client(cmd).get<TopicDetail>(`/topics/${encodeURIComponent(name)}`);
      if (globals(cmd).json) return printJson(t);
      print(`${pc.bold(t.name)}${t.description ? `  ${t.description}` : ''}`);
      if (t.filter === null || t.filter === undefined) print(`  filter: ${pc.dim('none (every event)')}`);
      else print(`  filter:\n${yaml(t.filter).replace(/^/gm, '    ')}`);
      print(`  created ${time(t.createdAt)}  updated ${time(t.updatedAt)}`);
      if (!t.subscriptions.length) return print(pc.dim(`\nno subscriptions; add one with \`confix subscription put NAME --topic ${t.name} --webhook URL\``));
      print('');
      print(subscriptionsTable(t.subscriptions));
    });

  get
    .command('subscriptions')
    .description('Subscriptions: endpoint, format, filter, state and dead letters (never the signing secret)')
    .option('--topic <topic>', 'only this topic')
    .addHelpText('after', '\nAdd --json for JSON (a list of subscriptions).')
    .action(async (o: { topic?: string }, cmd: Command) => {
      const { items } = await client(cmd).get<{ items: SubscriptionView[] }>('/subscriptions', { topic: o.topic });
      if (globals(cmd).json) return printJson(items);
      if (!items.length) return print('no subscriptions; add one with `confix subscription put NAME --webhook URL` (see --help)');
      print(subscriptionsTable(items));
    });

  get
    .command('deliveries')
    .description('Deliveries of events to subscriptions, newest first; --dead lists the dead letters')
    .option('--topic <topic>', 'only this topic')
    .option('--subscription <name>', 'only this subscription')
    .option('--status <status>', `only ${STATUSES.join(', ')}`, statusOption)
    .option('--dead', 'only dead letters (deliveries that used up their attempts), same as --status DEAD')
    .option('--event <id>', 'only deliveries of this event')
    .option('--limit <n>', 'at most this many', intOption('--limit', 1, 10000), 50)
    .addHelpText(
      'after',
      `
Add --json for JSON (a list of deliveries).

Examples:
  confix get deliveries --dead
  confix get deliveries --topic default --subscription soc --status QUEUED
  confix delivery redeliver --topic default --subscription soc --dead     # send the dead letters again`,
    )
    .action(async (o: { topic?: string; subscription?: string; status?: string; dead?: boolean; event?: string; limit: number }, cmd: Command) => {
      if (o.dead && o.status && o.status !== 'DEAD') throw new Error(`--dead lists DEAD deliveries; it cannot be combined with --status ${o.status}`);
      const status = o.dead ? 'DEAD' : o.status;
      const { items } = await client(cmd).get<{ items: Delivery[] }>('/deliveries', {
        topic: o.topic,
        subscription: o.subscription,
        status,
        eventId: o.event,
        limit: o.limit,
      });
      if (globals(cmd).json) return printJson(items);
      if (!items.length) return print(status === 'DEAD' ? 'no dead letters' : 'no deliveries');
      print(deliveriesTable(items));
      if (status === 'DEAD')
        print(pc.dim('send them again with `confix delivery redeliver ID…` or `confix delivery redeliver --topic T --subscription S --dead`'));
    });

  get
    .command('delivery <id>')
    .description('One delivery: its event, status and every attempt with the HTTP status or the error')
    .addHelpText('after', '\nAdd --json for JSON.')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const d = await client(cmd).get<Delivery>(`/deliveries/${encodeURIComponent(id)}`);
      if (globals(cmd).json) return printJson(d);
      print(`${pc.bold(d.deliveryId)}  ${deliveryStatusColor(d.status)}`);
      print(`  topic ${d.topic}  subscription ${d.subscription}`);
      print(`  event ${d.eventId} (${d.eventType})`);
      print(
        `  created ${time(d.createdAt)}${d.deliveredAt ? `  delivered ${time(d.deliveredAt)}` : ''}${d.status === 'QUEUED' ? `  next attempt ${time(d.notBefore)}` : ''}`,
      );
      if (d.lastError && d.status !== 'DELIVERED') print(pc.red(`  last error: ${d.lastError}`));
      if (!d.attempts.length) return print(pc.dim('no attempts yet'));
      print(pc.dim('attempts:'));
      print(
        table(
          ['#', 'AT', 'RESULT', 'STATUS CODE', 'DURATION', 'ERROR'],
          d.attempts.map((a) => [a.attempt, time(a.at), a.ok ? pc.green('ok') : pc.red('failed'), a.statusCode ?? '', `${a.durationMs} ms`, a.error ?? '']),
        ).replace(/^/gm, '  '),
      );
    });

  get
    .command('events')
    .description('Events confix emitted (compliance changes, remediation start/success/failure), newest first')
    .option('--type <type>', 'only this type, like io.confix.compliance.changed.v1')
    .option('--subject <resourceId>', 'only events about this resource')
    .option('--provider <name>', 'only events on resources of this provider (sandbox, aws, … as named in confix.yaml)')
    .option('--since <when>', 'only since this ISO time, or this long ago (30m, 12h, 7d)')
    .option('--limit <n>', 'at most this many', intOption('--limit', 1, 10000), 20)
    .addHelpText('after', '\nAdd --json for JSON (the native CloudEvents).\n\nExample:\n  confix get events --type io.confix.remediation.failed.v1 --since 1d')
    .action(async (o: { type?: string; subject?: string; provider?: string; since?: string; limit: number }, cmd: Command) => {
      const { items } = await client(cmd).get<{ items: CloudEvent[] }>('/events', {
        type: o.type,
        subject: o.subject,
        provider: o.provider,
        since: o.since,
        limit: o.limit,
      });
      if (globals(cmd).json) return printJson(items);
      if (!items.length) return print('no events');
      print(
        table(
          ['TIME', 'TYPE', 'SUBJECT', 'SUMMARY', 'ID'],
          items.map((e) => [time(e.time), e.type, e.subject ?? '', eventSummary(e), e.id]),
        ),
      );
    });

  get
    .command('event <id>')
    .description('One event as stored: the native CloudEvent (JSON) every delivery format is made from')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      printJson(await client(cmd).get<CloudEvent>(`/events/${encodeURIComponent(id)}`));
    });

  const topic = program.command('topic').description('Create, replace and delete topics: named streams of events that subscriptions deliver');

  topic
    .command('put <name>')
    .description('Create or replace a topic (replacing sets every field: what is not given is cleared)')
    .option('--description <text>', 'what the topic is for')
    .option('--filter <pattern>', 'an EventBridge-style event pattern over the native event: JSON, or @FILE (JSON or YAML)', patternOption)
    .addHelpText(
      'after',
      `
Without --filter the topic receives every event (like the default topic).

Examples:
  confix topic put security --description "critical findings" \\
      --filter '{"type":["io.confix.compliance.changed.v1"],"data":{"rule":{"riskLevel":[1]}}}'
  confix topic put remediation --filter '{"type":[{"prefix":"io.confix.remediation."}]}'
  confix topic put buckets --filter @buckets-pattern.yaml`,
    )
    .action(async (name: string, o: { description?: string; filter?: Record<string, unknown> }, cmd: Command) => {
      const body: Record<string, unknown> = {};
      if (o.description !== undefined) body.description = o.description;
      if (o.filter !== undefined) body.filter = o.filter;
      const t = await client(cmd).put<Topic>(`/topics/${encodeURIComponent(name)}`, body);
      if (globals(cmd).json) return printJson(t);
      print(
        `topic ${t.name} ${t.createdAt === t.updatedAt ? 'created' : 'replaced'}; it receives ${t.filter ? `events matching ${compact(t.filter, 200)}` : 'every event'}`,
      );
    });

  topic
    .command('delete <name>')
    .description('Delete a topic with its subscriptions and their deliveries (the default topic stays)')
    .addHelpText('after', '\nExample:\n  confix topic delete security')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const res = await client(cmd).delete<{ deleted: string; subscriptions: string[] }>(`/topics/${encodeURIComponent(name)}`);
      if (globals(cmd).json) return printJson(res);
      print(
        `deleted topic ${name}${res.subscriptions.length ? ` with its subscription${res.subscriptions.length === 1 ? '' : 's'} ${res.subscriptions.join(', ')}` : ''}`,
      );
    });

  const subscription = program
    .command('subscription')
    .description("Create, replace and delete subscriptions: a topic's events, in a format, to a webhook or a function");

  subscription
    .command('put <name>')
    .description('Create or replace a subscription (replacing sets every field: what is not given takes its default)')
    .option('--topic <topic>', 'the topic', 'default')
    .option('--webhook <url>', 'POST each event to this URL, signed')
    .option(
      '--secret <secret>',
      'the signing secret (16-256 characters): the value, @FILE, or - for standard input; default: one is generated and printed once',
    )
    .option('--timeout <seconds>', 'wait this long for the webhook to answer', floatOption('--timeout', 1, 60))
    .option('--function <name>', 'invoke this function with each event')
    .addOption(
      new Option('--format <format>', 'native (CloudEvents), eventbridge (AWS Config via EventBridge) or mns (Alibaba Cloud Message Service)').choices(
        EVENT_FORMATS,
      ),
    )
    .option(
      '--filter <pattern>',
      'only events matching this EventBridge-style pattern over the event in the format: JSON, or @FILE (JSON or YAML)',
      patternOption,
    )
    .option('--max-attempts <n>', 'attempts before a delivery is dead-lettered (default 8)', intOption('--max-attempts', 1, 20))
    .option('--disabled', 'create it disabled: it gets no new deliveries until put again without --disabled')
    .addHelpText(
      'after',
      `
Give the endpoint one way: --webhook URL or --function NAME. A webhook is
signed: every POST carries x-confix-signature: t=UNIX_SECONDS,v1=HEX, the
HMAC-SHA256 of "t.BODY" with the secret. Without --secret one is generated
and printed this once; putting the subscription again without --secret
generates a new one. Webhooks to internal addresses are refused unless the
service's CONFIX_WEBHOOK_ALLOW names them.

Failed deliveries are retried with backoff (about 2 s, 4 s, 8 s … up to
10 minutes) and, after --max-attempts, dead-lettered: see them with
\`confix get deliveries --dead\`, send them again with \`confix delivery redeliver\`.

Examples:
  confix subscription put soc --webhook https://hooks.example.com/confix
  confix subscription put eb --topic security --webhook https://hooks.example.com/eb --format eventbridge \\
      --filter '{"detail":{"newEvaluationResult":{"complianceType":["NON_COMPLIANT"]}}}'
  confix subscription put fix-buckets --function fix-bucket-acl --format mns
  confix subscription put soc --webhook https://hooks.example.com/confix --secret @soc-secret.txt --max-attempts 3`,
    )
    .action(
      async (
        name: string,
        o: {
          topic: string;
          webhook?: string;
          secret?: string;
          timeout?: number;
          function?: string;
          format?: string;
          filter?: Record<string, unknown>;
          maxAttempts?: number;
          disabled?: boolean;
        },
        cmd: Command,
      ) => {
        if (o.webhook !== undefined && o.function !== undefined) throw new Error('give the endpoint one way: --webhook URL or --function NAME, not both');
        if (o.webhook === undefined && o.function === undefined) throw new Error('give the endpoint: --webhook URL or --function NAME');
        if (o.function !== undefined && (o.secret !== undefined || o.timeout !== undefined))
          throw new Error('--secret and --timeout go with --webhook, not --function');
        const endpoint =
          o.webhook !== undefined
            ? {
                webhook: {
                  url: o.webhook,
                  ...(o.secret !== undefined ? { secret: await secretValue(o.secret) } : {}),
                  ...(o.timeout !== undefined ? { timeoutSeconds: o.timeout } : {}),
                },
              }
            : { function: o.function };
        const body: Record<string, unknown> = { endpoint, state: o.disabled ? 'DISABLED' : 'ACTIVE' };
        if (o.format !== undefined) body.format = o.format;
        if (o.filter !== undefined) body.filter = o.filter;
        if (o.maxAttempts !== undefined) body.maxAttempts = o.maxAttempts;
        const s = await client(cmd).put<SubscriptionView>(`/topics/${encodeURIComponent(o.topic)}/subscriptions/${encodeURIComponent(name)}`, body);
        if (globals(cmd).json) return printJson(s);
        print(
          `subscription ${s.name} on topic ${s.topic} ${s.createdAt === s.updatedAt ? 'created' : 'replaced'}: ${endpointText(s.endpoint)}, ${s.format} format, ` +
            `${s.filter ? `events matching ${compact(s.filter, 200)}` : 'every event'}, up to ${s.maxAttempts} attempt${s.maxAttempts === 1 ? '' : 's'}${s.state === 'DISABLED' ? ', DISABLED' : ''}`,
        );
        if (s.secret) {
          print(`signing secret: ${s.secret}`);
          print(pc.yellow('this secret is shown once and not again: keep it now (receivers check x-confix-signature with it)'));
        }
      },
    );

  subscription
    .command('delete <name>')
    .description('Delete a subscription with its deliveries')
    .option('--topic <topic>', 'the topic', 'default')
    .addHelpText('after', '\nExample:\n  confix subscription delete soc --topic default')
    .action(async (name: string, o: { topic: string }, cmd: Command) => {
      const res = await client(cmd).delete<{ deleted: string; topic: string }>(
        `/topics/${encodeURIComponent(o.topic)}/subscriptions/${encodeURIComponent(name)}`,
      );
      if (globals(cmd).json) return printJson(res);
      print(`deleted subscription ${name} of topic ${o.topic}`);
    });

  const delivery = program.command('delivery').description('Send deliveries again');

  delivery
    .command('redeliver [ids...]')
    .description('Send deliveries again with a fresh round of attempts: the ones named, or the dead letters (--dead) of a topic or subscription')
    .option('--dead', 'every dead letter (of --topic and/or --subscription when given)')
    .option('--topic <topic>', 'with --dead: only this topic')
    .option('--subscription <name>', 'with --dead: only this subscription')
    .addHelpText(
      'after',
      `
A redelivered event keeps its id (x-confix-event-id), so receivers can
de-duplicate. Only DEAD or DELIVERED deliveries are sent again; one still
being tried is left alone.

Examples:
  confix delivery redeliver dl-5f0c1d2e3a4b5c6d dl-0a1b2c3d4e5f6071
  confix delivery redeliver --topic default --subscription soc --dead`,
    )
    .action(async (ids: string[], o: { dead?: boolean; topic?: string; subscription?: string }, cmd: Command) => {
      if (ids.length && o.dead) throw new Error('name deliveries, or use --dead; not both');
      if (ids.length && (o.topic !== undefined || o.subscription !== undefined))
        throw new Error('--topic and --subscription narrow --dead; with delivery ids leave them out');
      if (!ids.length && !o.dead) throw new Error('name the deliveries to send again (IDs), or use --dead with --topic T --subscription S');
      const res = await client(cmd).post<{ redelivered: Delivery[]; skipped: { deliveryId: string; reason: string }[] }>(
        '/deliveries/redeliver',
        ids.length ? { ids } : { allDead: true, topic: o.topic, subscription: o.subscription },
      );
      if (globals(cmd).json) printJson(res);
      else {
        if (res.redelivered.length) {
          print(`${res.redelivered.length} deliver${res.redelivered.length === 1 ? 'y' : 'ies'} queued again:`);
          print(
            table(
              ['DELIVERY', 'TOPIC', 'SUBSCRIPTION', 'EVENT TYPE'],
              res.redelivered.map((d) => [d.deliveryId, d.topic, d.subscription, d.eventType]),
            ),
          );
          print(pc.dim('follow with `confix get deliveries` or `confix get delivery ID`'));
        } else if (o.dead) print('no dead letters to send again');
        for (const s of res.skipped) print(pc.red(`not redelivered: ${s.deliveryId}: ${s.reason}`));
      }
      if (res.skipped.length) throw new Error(`${res.skipped.length} of ${ids.length} could not be redelivered`);
    });
}
