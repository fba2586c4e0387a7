// The events commands as a user runs them, against a running service: topics,
// a webhook subscription whose generated secret is printed once, a failing
// endpoint's dead letters listed and redelivered, events read back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testService } from '../helpers/service.js';
import { cliFor } from '../helpers/cli.js';
import { verifySignature } from '../../src/events/webhook.js';
import { until } from '../helpers/wait.js';
import { webhookReceiver, type Received, type Receiver } from '../helpers/webhook.js';

let svc: Awaited<ReturnType<typeof testService>>;
let receiver: Receiver;
let base: string;
let failing = true;
let got: Received[];
const dir = mkdtempSync(join(tmpdir(), 'confix-events-cli-'));

/** The real CLI, as a user runs it, against the test service. */
const confix = (...args: string[]) => cliFor(svc)(...args);

before(async () => {
  receiver = await webhookReceiver(() => (failing ? 500 : 204));
  ({ base, got } = receiver);
  process.env.CONFIX_WEBHOOK_ALLOW = '127.0.0.1';
  svc = await testService();
});

after(async () => {
  await svc.close();
  await receiver.close();
  delete process.env.CONFIX_WEBHOOK_ALLOW;
});

test('topic put/get/delete, with filters as JSON or @file and clear errors for bad ones', async () => {
  const put = await confix(
    'topic',
    'put',
    'security',
    '--description',
    'critical findings',
    '--filter',
    '{"type":["io.confix.compliance.changed.v1"],"data":{"rule":{"riskLevel":[1]}}}',
  );
  assert.equal(put.code, 0, put.stderr);
  assert.match(put.stdout, /^topic security created; it receives events matching \{.*"type":\["io\.confix\.compliance\.changed\.v1"\]/);

  const file = join(dir, 'pattern.yaml');
  writeFileSync(file, 'type:\n  - prefix: io.confix.remediation.\n');
  const fromFile = await confix('topic', 'put', 'remediation', '--filter', `@${file}`, '--json');
  assert.equal(fromFile.code, 0, fromFile.stderr);
  assert.deepEqual(JSON.parse(fromFile.stdout).filter, { type: [{ prefix: 'io.confix.remediation.' }] });

  const badJson = await confix('topic', 'put', 'x', '--filter', '{type: [1]');
  assert.notEqual(badJson.code, 0);
  assert.match(badJson.stderr, /--filter.*the filter is not valid JSON/);
  const notObject = await confix('topic', 'put', 'x', '--filter', '["a"]');
  assert.match(notObject.stderr, /must be a JSON object \(an event pattern\)/);
  const missingFile = await confix('topic', 'put', 'x', '--filter', `@${join(dir, 'nope.json')}`);
  assert.match(missingFile.stderr, /cannot read .*nope\.json: no such file/);
  const badPattern = await confix('topic', 'put', 'x', '--filter', '{"type":[{"prefix":1}]}');
  assert.equal(badPattern.code, 1);
  assert.equal(badPattern.stderr.trim(), 'confix: filter: type[0].prefix: prefix takes a string (or {"equals-ignore-case": string}), not number 1');

  const list = await confix('get', 'topics');
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /NAME\s+SUBSCRIPTIONS\s+FILTER/);
  assert.match(list.stdout, /default\s+0\s+all/);
  assert.match(list.stdout, /security\s+0\s+\{"/);
  const json = await confix('get', 'topics', '--json');
  assert.deepEqual(
    JSON.parse(json.stdout).map((t: { name: string }) => t.name),
    ['default', 'remediation', 'security'],
  );

  const one = await confix('get', 'topic', 'security');
  assert.match(one.stdout, /security {2}critical findings/);
  assert.match(one.stdout, /riskLevel:\n\s+- 1/);
  assert.match(one.stdout, /no subscriptions; add one with `confix subscription put NAME --topic security --webhook URL`/);

  const del = await confix('topic', 'delete', 'remediation');
  assert.equal(del.code, 0, del.stderr);
  assert.match(del.stdout, /deleted topic remediation/);
  const delDefault = await confix('topic', 'delete', 'default');
  assert.equal(delDefault.code, 1);
  assert.match(delDefault.stderr, /^confix: name: the default topic cannot be deleted/);
  const missing = await confix('get', 'topic', 'remediation');
  assert.equal(missing.stderr.trim(), 'confix: no topic remediation');
});

test('subscription put prints a generated secret once; listings never show it; bad input is refused clearly', async () => {
  const put = await confix('subscription', 'put', 'soc', '--topic', 'security', '--webhook', `${base}/soc`, '--format', 'eventbridge', '--timeout', '5');
  assert.equal(put.code, 0, put.stderr);
  assert.match(
    put.stdout,
    /subscription soc on topic security created: webhook http:\/\/127\.0\.0\.1:\d+\/soc, eventbridge format, every event, up to 8 attempts/,
  );
  const secret = /signing secret: (whsec_\S+)/.exec(put.stdout)?.[1];
  assert.ok(secret, put.stdout);
  assert.match(put.stdout, /shown once and not again/);

  for (const args of [
    ['get', 'subscriptions'],
    ['get', 'subscriptions', '--json'],
    ['get', 'topic', 'security'],
    ['get', 'topic', 'security', '--json'],
  ]) {
    const r = await confix(...args);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes(secret), `${args.join(' ')} does not show the secret`);
  }
  const subs = await confix('get', 'subscriptions', '--topic', 'security');
  assert.match(subs.stdout, /TOPIC\s+NAME\s+ENDPOINT\s+FORMAT\s+STATE\s+MAX ATTEMPTS\s+DEAD\s+FILTER/);
  assert.match(subs.stdout, /security\s+soc\s+webhook http:\/\/127\.0\.0\.1:\d+\/soc\s+eventbridge\s+ACTIVE\s+8\s+0\s+all/);

  const secretFile = join(dir, 'secret.txt');
  writeFileSync(secretFile, 'a-long-enough-secret-1234\n');
  const given = await confix(
    'subscription',
    'put',
    'soc',
    '--topic',
    'security',
    '--webhook',
    `${base}/soc`,
    '--secret',
    `@${secretFile}`,
    '--disabled',
    '--json',
  );
  assert.equal(given.code, 0, given.stderr);
  const g = JSON.parse(given.stdout);
  assert.equal(g.secret, undefined);
  assert.equal(g.state, 'DISABLED');
  assert.ok(!given.stdout.includes('a-long-enough-secret-1234'));

  const both = await confix('subscription', 'put', 'x', '--webhook', `${base}/x`, '--function', 'fn');
  assert.match(both.stderr, /give the endpoint one way: --webhook URL or --function NAME, not both/);
  const none = await confix('subscription', 'put', 'x');
  assert.match(none.stderr, /give the endpoint: --webhook URL or --function NAME/);
  const badFormat = await confix('subscription', 'put', 'x', '--webhook', `${base}/x`, '--format', 'xml');
  assert.notEqual(badFormat.code, 0);
  assert.match(badFormat.stderr, /Allowed choices are native, eventbridge, mns/);
  const internal = await confix('subscription', 'put', 'x', '--webhook', 'http://192.168.1.1/hook');
  assert.equal(internal.code, 1);
  assert.match(internal.stderr, /^confix: endpoint\.webhook\.url: the target is the internal address 192\.168\.1\.1 \(private\)/);
  const badAttempts = await confix('subscription', 'put', 'x', '--webhook', `${base}/x`, '--max-attempts', '50');
  assert.match(badAttempts.stderr, /--max-attempts must be a whole number from 1 to 20/);

  const del = await confix('subscription', 'delete', 'soc', '--topic', 'security');
  assert.equal(del.code, 0, del.stderr);
  assert.match(del.stdout, /deleted subscription soc of topic security/);
  const again = await confix('subscription', 'delete', 'soc', '--topic', 'security');
  assert.equal(again.stderr.trim(), 'confix: no subscription soc on topic security');
});

test('a failing webhook: get deliveries --dead, get delivery, delivery redeliver --dead, then delivered; events read back', async () => {
  const put = await confix(
    'subscription',
    'put',
    'flaky',
    '--webhook',
    `${base}/flaky`,
    '--max-attempts',
    '1',
    '--filter',
    '{"type":["io.confix.compliance.changed.v1"],"subject":["sg-web-prod"],"data":{"newEvaluationResult":{"complianceType":["NON_COMPLIANT"]}}}',
  );
  assert.equal(put.code, 0, put.stderr);
  const secret = /signing secret: (whsec_\S+)/.exec(put.stdout)![1]!;

  const call = await confix(
    'sandbox',
    'call',
    'ecs:AuthorizeSecurityGroup',
    'SecurityGroupId=sg-web-prod',
    'IpProtocol=TCP',
    'PortRange=22/22',
    'SourceCidrIp=0.0.0.0/0',
  );
  assert.equal(call.code, 0, call.stderr);
  const [dead] = await until('the dead letter', async () => {
    const d = await svc.deliveries.list({ subscription: 'flaky', status: 'DEAD' });
    return d.length ? d : undefined;
  });

  const list = await confix('get', 'deliveries', '--dead');
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /DELIVERY\s+TOPIC\s+SUBSCRIPTION\s+EVENT TYPE\s+STATUS\s+ATTEMPTS\s+CREATED\s+LAST ERROR/);
  assert.match(list.stdout, new RegExp(`${dead!.deliveryId}\\s+default\\s+flaky\\s+io\\.confix\\.compliance\\.changed\\.v1\\s+DEAD\\s+1\\s+.*answered 500`));
  const listJson = await confix('get', 'deliveries', '--subscription', 'flaky', '--status', 'dead', '--json');
  assert.deepEqual(
    JSON.parse(listJson.stdout).map((d: { deliveryId: string }) => d.deliveryId),
    [dead!.deliveryId],
  );
  const conflicting = await confix('get', 'deliveries', '--dead', '--status', 'QUEUED');
  assert.match(conflicting.stderr, /--dead lists DEAD deliveries; it cannot be combined with --status QUEUED/);

  const one = await confix('get', 'delivery', dead!.deliveryId);
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, new RegExp(`${dead!.deliveryId}  DEAD`));
  assert.match(one.stdout, /last error: the endpoint answered 500/);
  assert.match(one.stdout, /1\s+\S+ \S+\s+failed\s+500\s+\d+ ms\s+the endpoint answered 500/);
  assert.match((await confix('get', 'subscriptions')).stdout, /default\s+flaky\s+.*\s+1\s+1\s+\{"data"/);

  const nothing = await confix('delivery', 'redeliver');
  assert.equal(nothing.code, 1);
  assert.match(nothing.stderr, /name the deliveries to send again \(IDs\), or use --dead/);
  const unknown = await confix('delivery', 'redeliver', 'dl-nope');
  assert.equal(unknown.code, 1);
  assert.match(unknown.stdout, /not redelivered: dl-nope: no delivery dl-nope/);

  failing = false;
  const re = await confix('delivery', 'redeliver', '--topic', 'default', '--subscription', 'flaky', '--dead', '--json');
  assert.equal(re.code, 0, re.stderr);
  assert.deepEqual(
    JSON.parse(re.stdout).redelivered.map((d: { deliveryId: string }) => d.deliveryId),
    [dead!.deliveryId],
  );
  await until('the redelivery', async () => ((await svc.deliveries.get(dead!.deliveryId)).status === 'DELIVERED' ? true : undefined));
  const after = await confix('get', 'delivery', dead!.deliveryId, '--json');
  const d = JSON.parse(after.stdout);
  assert.equal(d.status, 'DELIVERED');
  assert.deepEqual(
    d.attempts.map((a: { statusCode: number }) => a.statusCode),
    [500, 204],
  );
  const noneLeft = await confix('get', 'deliveries', '--dead', '--subscription', 'flaky');
  assert.equal(noneLeft.stdout.trim(), 'no dead letters');
  const last = got.filter((g) => g.path === '/flaky').at(-1)!;
  assert.ok(verifySignature(secret, String(last.headers['x-confix-signature']), last.body), 'signed with the secret printed once');

  const byId = await confix('delivery', 'redeliver', dead!.deliveryId);
  assert.equal(byId.code, 0, byId.stderr);
  assert.match(byId.stdout, /1 delivery queued again/);

  const events = await confix('get', 'events', '--type', 'io.confix.compliance.changed.v1', '--subject', 'sg-web-prod');
  assert.equal(events.code, 0, events.stderr);
  assert.match(events.stdout, /TIME\s+TYPE\s+SUBJECT\s+SUMMARY\s+ID/);
  assert.match(
    events.stdout,
    new RegExp(`io\\.confix\\.compliance\\.changed\\.v1\\s+sg-web-prod\\s+sg-disallow-risky-ports-for-all-ips: COMPLIANT → NON_COMPLIANT\\s+${dead!.eventId}`),
  );
  const eventsJson = await confix('get', 'events', '--limit', '3', '--json');
  assert.equal(JSON.parse(eventsJson.stdout).length, 3);
  const event = await confix('get', 'event', dead!.eventId);
  assert.equal(event.code, 0, event.stderr);
  const e = JSON.parse(event.stdout);
  assert.equal(e.id, dead!.eventId);
  assert.equal(e.specversion, '1.0');
  assert.equal(e.data.newEvaluationResult.complianceType, 'NON_COMPLIANT');
  const missing = await confix('get', 'event', 'nope');
  assert.equal(missing.stderr.trim(), 'confix: no event nope');
});

test('--help is there for every events command', async () => {
  const cmds = [
    ['get', 'topics'],
    ['get', 'topic'],
    ['get', 'subscriptions'],
    ['get', 'deliveries'],
    ['get', 'delivery'],
    ['get', 'events'],
    ['get', 'event'],
    ['topic', 'put'],
    ['topic', 'delete'],
    ['subscription', 'put'],
    ['subscription', 'delete'],
    ['delivery', 'redeliver'],
  ];
  const helps = await Promise.all(cmds.map((c) => confix(...c, '--help')));
  helps.forEach((h, i) => {
    assert.equal(h.code, 0, `${cmds[i]!.join(' ')}: ${h.stderr}`);
    assert.match(h.stdout, /Usage: confix/);
  });
  assert.match(helps[9]!.stdout, /x-confix-signature: t=UNIX_SECONDS,v1=HEX/);
  assert.match((await confix('get', '--help')).stdout, /topics, subscriptions, deliveries, events/);
});
