// Webhook targets and signed deliveries: internal addresses refused unless
// allowed, the signature a receiver checks, timeouts and error statuses as
// failures; and the delivery queue's retries, dead letters and redelivery.
// (Address classification, allow-list forms and connecting to the checked
// address are in webhook-address.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkWebhookUrl, sendWebhook, signature, verifySignature } from '../../src/events/webhook.js';
import { DeliveryStore, backoffMs } from '../../src/events/deliveries.js';
import { freshDb } from '../helpers/db.js';

const local = { allow: ['127.0.0.1'] };

test('internal targets are refused unless the allow-list names them', async () => {
  const none = { allow: [] };
  assert.match((await checkWebhookUrl('http://127.0.0.1:9/x', none))!, /internal address 127\.0\.0\.1.*CONFIX_WEBHOOK_ALLOW=127\.0\.0\.1/);
  assert.match((await checkWebhookUrl('http://169.254.169.254/latest/meta-data', none))!, /internal address/);
  assert.match((await checkWebhookUrl('http://10.1.2.3/', none))!, /internal address/);
  assert.match((await checkWebhookUrl('http://[::1]:8080/', none))!, /internal address ::1/);
  assert.match((await checkWebhookUrl('http://[::ffff:127.0.0.1]/', none))!, /internal address/);
  assert.match((await checkWebhookUrl('ftp://example.com/', none))!, /only http and https/);
  assert.match((await checkWebhookUrl('https://user:pw@example.com/', none))!, /credentials in the URL/);
  assert.match((await checkWebhookUrl('not a url', none))!, /not a URL/);
  assert.equal(await checkWebhookUrl('http://127.0.0.1:9/x', local), undefined);
  assert.equal(await checkWebhookUrl('http://10.1.2.3/', { allow: ['10.0.0.0/8'] }), undefined);
  assert.equal(await checkWebhookUrl('http://93.184.216.34/', none), undefined, 'a public address needs no allowing');
});

test('signatures verify over timestamp and body, and go stale', () => {
  const now = Date.now();
  const t = Math.floor(now / 1000);
  const h = signature('whsec_test_secret_123', t, '{"a":1}');
  assert.match(h, /^t=\d+,v1=[0-9a-f]{64}$/);
  assert.ok(verifySignature('whsec_test_secret_123', h, '{"a":1}', 300, now));
  assert.ok(!verifySignature('whsec_test_secret_123', h, '{"a":2}', 300, now), 'another body');
  assert.ok(!verifySignature('another_secret_value_', h, '{"a":1}', 300, now), 'another secret');
  assert.ok(!verifySignature('whsec_test_secret_123', h, '{"a":1}', 300, now + 301_000), 'too old');
});

test('a delivery is POSTed signed; error statuses and timeouts are failures', async () => {
  const seen: { headers: IncomingMessage['headers']; body: string }[] = [];
  let answer = 204;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      seen.push({ headers: req.headers, body });
      if (answer === 0) return; // never answer
      res.statusCode = answer;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  try {
    const body = JSON.stringify({ id: 'ev-1', hello: 'world' });
    const ok = await sendWebhook({ url, timeoutMs: 2000, secret: 'whsec_test_secret_123' }, { eventId: 'ev-1', deliveryId: 'dl-1', attempt: 1, body }, local);
    assert.equal(ok.ok, true, ok.error);
    assert.equal(ok.statusCode, 204);
    const got = seen[0]!;
    assert.equal(got.body, body);
    assert.equal(got.headers['x-confix-event-id'], 'ev-1');
    assert.equal(got.headers['x-confix-delivery-attempt'], '1');
    assert.ok(verifySignature('whsec_test_secret_123', String(got.headers['x-confix-signature']), got.body));

    answer = 500;
    const failed = await sendWebhook({ url, timeoutMs: 2000 }, { eventId: 'ev-1', deliveryId: 'dl-1', attempt: 2, body }, local);
    assert.equal(failed.ok, false);
    assert.equal(failed.statusCode, 500);
    assert.match(failed.error!, /answered 500/);

    answer = 0;
    const slow = await sendWebhook({ url, timeoutMs: 200 }, { eventId: 'ev-1', deliveryId: 'dl-1', attempt: 3, body }, local);
    assert.equal(slow.ok, false);
    assert.match(slow.error!, /no answer within 200 ms/);

    const refused = await sendWebhook({ url, timeoutMs: 200 }, { eventId: 'ev-1', deliveryId: 'dl-1', attempt: 1, body }, { allow: [] });
    assert.match(refused.error!, /internal address/);
    assert.equal(seen.length, 3, 'a refused target is not contacted');
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test('the delivery queue: claimed once, retried with backoff, dead after the last attempt, redelivered by hand', async () => {
  const db = await freshDb();
  try {
    await db.query(
      `INSERT INTO subscriptions (topic, name, format, endpoint) VALUES ('default', 'hook', 'native', '{"type":"webhook","url":"http://127.0.0.1:9/","timeoutMs":1000}')`,
    );
    const store = new DeliveryStore(db);
    const event = { eventId: 'ev-1', type: 'io.confix.compliance.changed.v1', subject: 'sg-1', time: new Date().toISOString(), body: { id: 'ev-1' } };
    const [id] = await store.publish(event, [{ topic: 'default', subscription: 'hook' }]);
    assert.ok(id);
    assert.deepEqual(await store.publish(event, [{ topic: 'default', subscription: 'hook' }]), [], 'the same event is queued once per subscription');

    const [a] = await store.claim('w1', 10, 30_000);
    assert.equal(a!.attempt, 1);
    assert.deepEqual(await store.claim('w2', 10, 30_000), [], 'claimed once');
    assert.equal(await store.record(id!, 'w1', { attempt: 1, at: new Date().toISOString(), ok: false, error: 'boom', durationMs: 1 }, 2), 'QUEUED');
    const queued = await store.get(id!);
    assert.ok(Date.parse(queued.notBefore) > Date.now() + 1000, 'retried after the backoff');
    await db.query('UPDATE deliveries SET not_before = now() WHERE delivery_id = $1', [id]);
    const [b] = await store.claim('w1', 10, 30_000);
    assert.equal(b!.attempt, 2);
    assert.equal(await store.record(id!, 'w1', { attempt: 2, at: new Date().toISOString(), ok: false, error: 'boom again', durationMs: 1 }, 2), 'DEAD');
    const dead = await store.list({ status: 'DEAD' });
    assert.deepEqual(
      dead.map((d) => [d.deliveryId, d.attempts.length, d.lastError]),
      [[id, 2, 'boom again']],
    );

    const [again] = await store.redeliver([id!]);
    assert.equal(again!.status, 'QUEUED');
    const [c] = await store.claim('w1', 10, 30_000);
    assert.equal(c!.attempt, 1, 'a fresh round of attempts');
    assert.equal(await store.record(id!, 'w1', { attempt: 1, at: new Date().toISOString(), ok: true, statusCode: 200, durationMs: 1 }, 2), 'DELIVERED');
    assert.equal((await store.get(id!)).attempts.length, 3, 'every attempt kept');

    for (let n = 1; n <= 12; n++) assert.ok(backoffMs(n, () => 0.5) <= 600_000);
    assert.equal(
      backoffMs(1, () => 0.5),
      2000,
    );
    assert.equal(
      backoffMs(3, () => 0.5),
      8000,
    );
  } finally {
    await db.close();
  }
});
