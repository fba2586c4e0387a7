// Topics, subscriptions, deliveries and events over HTTP, on a real service:
// CRUD with errors naming the field, a webhook secret shown once, and a
// local webhook that fails until its deliveries are dead letters, listed,
// redelivered in one call and delivered once it answers 200.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testService } from '../helpers/service.js';
import { verifySignature } from '../../src/events/webhook.js';
import { until } from '../helpers/wait.js';
import { webhookReceiver, type Received, type Receiver } from '../helpers/webhook.js';

let svc: Awaited<ReturnType<typeof testService>>;
let receiver: Receiver;
let base: string;
let failing = true;
let got: Received[];

const put = (path: string, json: unknown) => svc.api(path, { method: 'PUT', json });
const del = (path: string) => svc.api(path, { method: 'DELETE' });

before(async () => {
  receiver = await webhookReceiver(() => (failing ? 503 : 200));
  ({ base, got } = receiver);
  process.env.CONFIX_WEBHOOK_ALLOW = '127.0.0.1'; // read when the engine is made
  svc = await testService();
});

after(async () => {
  await svc.close();
  await receiver.close();
  delete process.env.CONFIX_WEBHOOK_ALLOW;
});

test('topics: create, replace, read, list, refuse bad input by field, delete; the default topic stays', async () => {
  const list0 = await svc.api('/topics');
  assert.equal(list0.status, 200);
  assert.deepEqual(
    list0.body.items.map((t: { name: string }) => t.name),
    ['default'],
  );

  const filter = { type: ['io.confix.compliance.changed.v1'], data: { rule: { riskLevel: [1] } } };
  const created = await put('/topics/security', { description: 'critical findings', filter });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.name, 'security');
  assert.deepEqual(created.body.filter, filter);
  assert.equal(created.body.created, undefined);
  const replaced = await put('/topics/security', { description: 'critical findings only', filter });
  assert.equal(replaced.status, 200);
  assert.equal(replaced.body.description, 'critical findings only');

  const one = await svc.api('/topics/security');
  assert.equal(one.status, 200);
  assert.deepEqual(one.body.subscriptions, []);
  const list = await svc.api('/topics');
  assert.deepEqual(
    list.body.items.map((t: { name: string; subscriptions: number }) => [t.name, t.subscriptions]),
    [
      ['default', 0],
      ['security', 0],
    ],
  );

  const badFilter = await put('/topics/bad', { filter: { type: [{ prefix: 1 }] } });
  assert.equal(badFilter.status, 400);
  assert.equal(badFilter.body.error.code, 'InvalidEventConfig');
  assert.equal(badFilter.body.error.issues[0].path, 'filter');
  assert.match(badFilter.body.error.message, /^filter: type\[0\]\.prefix: prefix takes a string/);
  const unknownField = await put('/topics/bad', { descripton: 'typo' });
  assert.equal(unknownField.status, 400);
  assert.match(unknownField.body.error.message, /descripton/);
  const badName = await put('/topics/bad%20name', {});
  assert.equal(badName.status, 400);
  assert.equal(badName.body.error.issues[0].path, 'name');
  const mismatch = await put('/topics/security', { name: 'other' });
  assert.equal(mismatch.status, 400);
  assert.match(mismatch.body.error.message, /^name: the body names "other" but the path "security"/);
  assert.equal((await svc.api('/topics/bad')).status, 404, 'nothing was half-written');

  const missing = await svc.api('/topics/nope');
  assert.equal(missing.status, 404);
  assert.deepEqual(missing.body, { error: { code: 'TopicNotFound', message: 'no topic nope' } });
  const delDefault = await del('/topics/default');
  assert.equal(delDefault.status, 400);
  assert.match(delDefault.body.error.message, /the default topic cannot be deleted/);
  assert.equal((await del('/topics/nope')).status, 404);

  await put('/topics/doomed', {});
  await put('/topics/doomed/subscriptions/s1', { endpoint: { webhook: { url: `${base}/doomed` } } });
  const gone = await del('/topics/doomed');
  assert.equal(gone.status, 200);
  assert.deepEqual(gone.body, { deleted: 'doomed', subscriptions: ['s1'] });
  assert.equal((await svc.api('/topics/doomed/subscriptions/s1')).status, 404);
});

test('subscriptions: the generated secret is answered once and never again; errors name the field', async () => {
  const created = await put('/topics/security/subscriptions/soc', { endpoint: { webhook: { url: `${base}/soc`, timeoutSeconds: 5 } }, format: 'eventbridge' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const secret: string = created.body.secret;
  assert.match(secret, /^whsec_/);
  assert.deepEqual(created.body.endpoint, { type: 'webhook', url: `${base}/soc`, timeoutMs: 5000 });
  assert.equal(created.body.format, 'eventbridge');
  assert.equal(created.body.maxAttempts, 8);
  assert.equal(created.body.state, 'ACTIVE');
  assert.equal(created.body.deadLetters, 0);

  for (const path of ['/topics/security/subscriptions/soc', '/subscriptions', '/subscriptions?topic=security', '/topics/security', '/topics']) {
    const r = await svc.api(path);
    assert.equal(r.status, 200, path);
    assert.ok(!JSON.stringify(r.body).includes(secret), `${path} does not show the secret`);
    assert.ok(!JSON.stringify(r.body).includes('"secret"'), `${path} has no secret field`);
  }
  const listed = await svc.api('/subscriptions?topic=security');
  assert.deepEqual(
    listed.body.items.map((s: { name: string }) => s.name),
    ['soc'],
  );
  assert.equal((await svc.api('/topics/security')).body.subscriptions[0].name, 'soc');
  assert.equal((await svc.api('/subscriptions?topic=nope')).status, 404);

  const given = await put('/topics/security/subscriptions/soc', {
    endpoint: { webhook: { url: `${base}/soc`, secret: 'a-long-enough-secret-1234' } },
    state: 'DISABLED',
  });
  assert.equal(given.status, 200);
  assert.equal(given.body.secret, undefined, 'a given secret is never answered');
  assert.ok(!JSON.stringify(given.body).includes('a-long-enough-secret-1234'));
  assert.equal(given.body.state, 'DISABLED');

  const shortSecret = await put('/topics/security/subscriptions/soc', { endpoint: { webhook: { url: `${base}/soc`, secret: 'short-secret' } } });
  assert.equal(shortSecret.status, 400);
  assert.equal(shortSecret.body.error.issues[0].path, 'endpoint.webhook.secret');
  assert.deepEqual(shortSecret.body.error.issues[0].pathSegments, ['endpoint', 'webhook', 'secret']);
  assert.ok(!JSON.stringify(shortSecret.body).includes('short-secret'), 'a refused secret is not repeated');
  const internal = await put('/topics/security/subscriptions/internal', { endpoint: { webhook: { url: 'http://10.0.0.1/hook' } } });
  assert.equal(internal.status, 400);
  assert.equal(internal.body.error.issues[0].path, 'endpoint.webhook.url');
  assert.match(internal.body.error.message, /internal address 10\.0\.0\.1.*CONFIX_WEBHOOK_ALLOW/);
  const noEndpoint = await put('/topics/security/subscriptions/x', { format: 'native' });
  assert.equal(noEndpoint.status, 400);
  assert.match(noEndpoint.body.error.message, /^endpoint: /);
  const badFormat = await put('/topics/security/subscriptions/x', { format: 'xml', endpoint: { webhook: { url: `${base}/x` } } });
  assert.equal(badFormat.status, 400);
  assert.match(badFormat.body.error.message, /^format: /);
  const badAttempts = await put('/topics/security/subscriptions/x', { maxAttempts: 0, endpoint: { webhook: { url: `${base}/x` } } });
  assert.equal(badAttempts.status, 400);
  assert.match(badAttempts.body.error.message, /^maxAttempts: /);
  const noTopic = await put('/topics/nope/subscriptions/x', { endpoint: { webhook: { url: `${base}/x` } } });
  assert.equal(noTopic.status, 404);
  assert.equal(noTopic.body.error.code, 'TopicNotFound');
  const wrongTopic = await put('/topics/security/subscriptions/x', { topic: 'default', endpoint: { webhook: { url: `${base}/x` } } });
  assert.equal(wrongTopic.status, 400);
  assert.match(wrongTopic.body.error.message, /^topic: /);

  const missing = await svc.api('/topics/security/subscriptions/nope');
  assert.equal(missing.status, 404);
  assert.deepEqual(missing.body, { error: { code: 'SubscriptionNotFound', message: 'no subscription nope on topic security' } });
  assert.equal((await del('/topics/security/subscriptions/soc')).status, 200);
  assert.equal((await del('/topics/security/subscriptions/soc')).status, 404);
});

test('a failing webhook dead-letters its deliveries; they are listed, redelivered in one call, and delivered once it answers', async () => {
  const sub = await put('/topics/default/subscriptions/flaky', {
    maxAttempts: 2,
    filter: { type: ['io.confix.compliance.changed.v1'], subject: ['sg-web-prod'], data: { newEvaluationResult: { complianceType: ['NON_COMPLIANT'] } } },
    endpoint: { webhook: { url: `${base}/flaky`, timeoutSeconds: 5 } },
  });
  assert.equal(sub.status, 201, JSON.stringify(sub.body));
  const secret: string = sub.body.secret;

  const open = await svc.api('/sandbox/actions/ecs:AuthorizeSecurityGroup', {
    json: { parameters: { SecurityGroupId: 'sg-web-prod', IpProtocol: 'TCP', PortRange: '22/22', SourceCidrIp: '0.0.0.0/0' } },
  });
  assert.equal(open.status, 200, JSON.stringify(open.body));

  // Retries wait for their backoff; the test brings the next attempt forward.
  const dead = await until('the dead letter', async () => {
    await svc.db.query("UPDATE deliveries SET not_before = now() WHERE status = 'QUEUED' AND subscription = 'flaky'");
    svc.deliveryWorker.wake();
    const r = await svc.api('/deliveries?topic=default&subscription=flaky&status=DEAD');
    assert.equal(r.status, 200);
    return r.body.items.length ? (r.body.items as { deliveryId: string; eventId: string; status: string }[]) : undefined;
  });
  assert.equal(dead.length, 1);
  const d = await svc.api(`/deliveries/${dead[0]!.deliveryId}`);
  assert.equal(d.status, 200);
  assert.equal(d.body.status, 'DEAD');
  assert.equal(d.body.eventType, 'io.confix.compliance.changed.v1');
  assert.deepEqual(
    d.body.attempts.map((a: { attempt: number; ok: boolean; statusCode: number }) => [a.attempt, a.ok, a.statusCode]),
    [
      [1, false, 503],
      [2, false, 503],
    ],
  );
  assert.match(d.body.lastError, /answered 503/);
  assert.equal((await svc.api('/topics/default/subscriptions/flaky')).body.deadLetters, 1);
  assert.equal((await svc.api(`/deliveries?eventId=${dead[0]!.eventId}`)).body.items.length, 1);

  const notFound = await svc.api('/deliveries/dl-nope');
  assert.deepEqual(notFound.body, { error: { code: 'DeliveryNotFound', message: 'no delivery dl-nope' } });
  assert.equal(notFound.status, 404);
  assert.equal((await svc.api('/deliveries/dl-nope/redeliver', { method: 'POST' })).status, 404);
  const badStatus = await svc.api('/deliveries?status=LOST');
  assert.equal(badStatus.status, 400);
  assert.match(badStatus.body.error.message, /^status: /);
  const neither = await svc.api('/deliveries/redeliver', { json: {} });
  assert.equal(neither.status, 400);
  assert.match(neither.body.error.message, /give ids/);
  assert.equal((await svc.api('/deliveries/redeliver', { json: { ids: ['dl-x'], allDead: true } })).status, 400);
  assert.equal((await svc.api('/deliveries/redeliver', { json: { allDead: true, topic: 'default', subscription: 'nope' } })).status, 404);

  failing = false;
  const re = await svc.api('/deliveries/redeliver', { json: { allDead: true, topic: 'default', subscription: 'flaky' } });
  assert.equal(re.status, 200, JSON.stringify(re.body));
  assert.deepEqual(
    re.body.redelivered.map((x: { deliveryId: string }) => x.deliveryId),
    [dead[0]!.deliveryId],
  );
  assert.equal(re.body.redelivered[0].status, 'QUEUED');
  const delivered = await until('the redelivery', async () => {
    const x = await svc.api(`/deliveries/${dead[0]!.deliveryId}`);
    return x.body.status === 'DELIVERED' ? x.body : undefined;
  });
  assert.equal(delivered.attempts.length, 3);
  assert.equal(delivered.attempts[2].statusCode, 200);
  assert.equal((await svc.api('/deliveries?subscription=flaky&status=DEAD')).body.items.length, 0);
  assert.equal((await svc.api('/topics/default/subscriptions/flaky')).body.deadLetters, 0);

  // What arrived: the native event, signed with the secret shown once, its id stable across attempts.
  const hits = got.filter((g) => g.path === '/flaky');
  assert.equal(hits.length, 3);
  assert.deepEqual(new Set(hits.map((h) => h.headers['x-confix-event-id'])), new Set([dead[0]!.eventId]));
  const last = hits[2]!;
  assert.ok(verifySignature(secret, String(last.headers['x-confix-signature']), last.body));
  assert.equal(JSON.parse(last.body).id, dead[0]!.eventId);

  // By id: a delivered one is sent again; one still waiting for its next attempt is refused.
  const again = await svc.api(`/deliveries/${dead[0]!.deliveryId}/redeliver`, { method: 'POST' });
  assert.equal(again.status, 200, JSON.stringify(again.body));
  await until('the second redelivery', async () => ((await svc.api(`/deliveries/${dead[0]!.deliveryId}`)).body.status === 'DELIVERED' ? true : undefined));
  await svc.db.query("UPDATE deliveries SET status = 'QUEUED', not_before = now() + interval '1 hour' WHERE delivery_id = $1", [dead[0]!.deliveryId]);
  const busy = await svc.api(`/deliveries/${dead[0]!.deliveryId}/redeliver`, { method: 'POST' });
  assert.equal(busy.status, 409);
  assert.equal(busy.body.error.code, 'NotRedeliverable');
  assert.match(busy.body.error.message, /is QUEUED: it is still being tried/);
  await svc.db.query("UPDATE deliveries SET status = 'DELIVERED' WHERE delivery_id = $1", [dead[0]!.deliveryId]);
  const bulk = await svc.api('/deliveries/redeliver', { json: { ids: [dead[0]!.deliveryId, 'dl-nope'] } });
  assert.equal(bulk.status, 200);
  assert.equal(bulk.body.redelivered.length, 1);
  assert.deepEqual(bulk.body.skipped, [{ deliveryId: 'dl-nope', reason: 'no delivery dl-nope' }]);
  await until('the third redelivery', async () => ((await svc.api(`/deliveries/${dead[0]!.deliveryId}`)).body.status === 'DELIVERED' ? true : undefined));
});

test('events are listed newest first, filtered, and fetched as native CloudEvents', async () => {
  const all = await svc.api('/events?limit=500');
  assert.equal(all.status, 200);
  assert.ok(all.body.items.length > 0);
  const times = all.body.items.map((e: { time: string }) => Date.parse(e.time));
  assert.deepEqual(
    times,
    [...times].sort((a, b) => b - a),
    'newest first',
  );

  const changes = await svc.api('/events?type=io.confix.compliance.changed.v1&subject=sg-web-prod&since=1h');
  assert.equal(changes.status, 200);
  assert.ok(changes.body.items.length >= 1);
  for (const e of changes.body.items) {
    assert.equal(e.type, 'io.confix.compliance.changed.v1');
    assert.equal(e.subject, 'sg-web-prod');
    assert.equal(e.specversion, '1.0');
  }
  const nonCompliant = changes.body.items.find(
    (e: { data: { newEvaluationResult: { complianceType: string } } }) => e.data.newEvaluationResult.complianceType === 'NON_COMPLIANT',
  );
  assert.ok(nonCompliant);
  const one = await svc.api(`/events/${nonCompliant.id}`);
  assert.equal(one.status, 200);
  assert.deepEqual(one.body, nonCompliant);
  assert.equal((await svc.api('/events?limit=1')).body.items.length, 1);
  assert.equal((await svc.api(`/events?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).body.items.length, 0);

  const badSince = await svc.api('/events?since=yesterday-ish');
  assert.equal(badSince.status, 400);
  assert.match(badSince.body.error.message, /^since: "yesterday-ish" is neither a time/);
  // Each event names its data's schema, served as JSON Schema; the event's data validates against it.
  const schemas = (await svc.api('/events/schemas')).body as Record<string, { type: string; required: string[] }>;
  const schema = schemas[nonCompliant.dataschema];
  assert.ok(schema, `the schema ${nonCompliant.dataschema} is served`);
  assert.equal(schema.type, 'object');
  for (const field of schema.required) assert.ok(field in nonCompliant.data, `data has ${field}`);
  const missing = await svc.api('/events/nope');
  assert.equal(missing.status, 404);
  assert.deepEqual(missing.body, { error: { code: 'EventNotFound', message: 'no event nope' } });
});

test('the OpenAPI document describes the events routes, the generated secret and not a stored one', async () => {
  const doc = (await svc.api('/openapi.json')).body;
  for (const p of [
    '/topics',
    '/topics/{name}',
    '/subscriptions',
    '/topics/{topic}/subscriptions/{name}',
    '/deliveries',
    '/deliveries/{id}',
    '/deliveries/{id}/redeliver',
    '/deliveries/redeliver',
    '/events',
    '/events/schemas',
    '/events/{id}',
  ])
    assert.ok(doc.paths[p], `OpenAPI documents ${p}`);
  assert.deepEqual(doc.paths['/topics'].get.tags, ['events']);
  const withSecret = doc.components.schemas.SubscriptionWithSecret;
  assert.ok(
    withSecret.allOf.some((p: { properties?: Record<string, unknown> }) => p.properties?.secret),
    'the PUT answer documents the generated secret',
  );
  assert.equal(doc.components.schemas.Subscription.properties.secret, undefined);
});
