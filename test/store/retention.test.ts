// Retention: old events go with their finished deliveries, unless one is still
// on its way; old ended invocations go; recent ones and running ones stay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freshDb } from '../helpers/db.js';
import { prune, retentionDaysFromEnv } from '../../src/store/retention.js';

test('prune deletes events, deliveries and ended invocations older than the retention, nothing on its way', async () => {
  const db = await freshDb();
  try {
    const old = new Date(Date.now() - 40 * 86_400_000);
    const recent = new Date(Date.now() - 2 * 86_400_000);
    await db.query(`INSERT INTO subscriptions (topic, name, format, endpoint) VALUES ('default', 's', 'native', '{"type":"webhook","url":"http://x","timeoutMs":1000}')`);
    const event = (id: string, time: Date) => db.query(`INSERT INTO events (event_id, type, time, body) VALUES ($1, 't', $2, '{}')`, [id, time]);
    const delivery = (id: string, eventId: string, status: string) =>
      db.query(`INSERT INTO deliveries (delivery_id, topic, subscription, event_id, status) VALUES ($1, 'default', 's', $2, $3)`, [id, eventId, status]);
    await event('old-done', old);
    await delivery('d1', 'old-done', 'DELIVERED');
    await event('old-dead', old);
    await delivery('d2', 'old-dead', 'DEAD');
    await event('old-queued', old);
    await delivery('d3', 'old-queued', 'QUEUED');
    await event('old-alone', old);
    await event('recent', recent);
    await delivery('d4', 'recent', 'DELIVERED');
    await db.query(`INSERT INTO functions (name, latest_version) VALUES ('f', 1)`);
    await db.query(`INSERT INTO function_versions (name, version, file_name, source, code_sha256, timeout_seconds, memory_mb) VALUES ('f', 1, 'f.js', 'x', 'x', 1, 64)`);
    const inv = (id: string, status: string, finished: Date | null) =>
      db.query(`INSERT INTO invocations (invocation_id, function_name, version, status, finished_at, created_at) VALUES ($1, 'f', 1, $2, $3, $4)`, [id, status, finished, old]);
    await inv('i-old', 'SUCCEEDED', old);
    await inv('i-recent', 'FAILED', recent);
    await inv('i-running', 'RUNNING', null);

    const n = await prune(db, 30);
    assert.deepEqual(n, { events: 3, deliveries: 2, invocations: 1 });
    const ids = async (sql: string) => (await db.query<{ id: string }>(sql)).map((r) => r.id).sort();
    assert.deepEqual(await ids('SELECT event_id AS id FROM events'), ['old-queued', 'recent']);
    assert.deepEqual(await ids('SELECT delivery_id AS id FROM deliveries'), ['d3', 'd4']);
    assert.deepEqual(await ids('SELECT invocation_id AS id FROM invocations'), ['i-recent', 'i-running']);
    assert.deepEqual(await prune(db, 30), { events: 0, deliveries: 0, invocations: 0 }, 'nothing more');
  } finally {
    await db.close();
  }
});

test('CONFIX_RETENTION_DAYS: a whole number of days, at least 1; 30 by default', () => {
  assert.equal(retentionDaysFromEnv({}), 30);
  assert.equal(retentionDaysFromEnv({ CONFIX_RETENTION_DAYS: '7' }), 7);
  assert.throws(() => retentionDaysFromEnv({ CONFIX_RETENTION_DAYS: '0' }), /at least 1, not "0"/);
  assert.throws(() => retentionDaysFromEnv({ CONFIX_RETENTION_DAYS: 'a week' }), /whole number/);
});
