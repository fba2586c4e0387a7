// Retention: old events go with their finished deliveries, unless one is still
// on its way; old ended invocations go; recent ones and running ones stay;
// audit rows go after the (longer) audit retention.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freshDb } from '../helpers/db.js';
import { auditRetentionDaysFromEnv, prune, retentionDaysFromEnv } from '../../src/store/retention.js';

test('prune deletes events, deliveries and ended invocations older than the retention, nothing on its way', async () => {
  const db = await freshDb();
  try {
    const old = new Date(Date.now() - 40 * 86_400_000);
    const recent = new Date(Date.now() - 2 * 86_400_000);
    await db.query(
      `INSERT INTO subscriptions (topic, name, format, endpoint) VALUES ('default', 's', 'native', '{"type":"webhook","url":"http://x","timeoutMs":1000}')`,
    );
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
    await db.query(
      `INSERT INTO function_versions (name, version, file_name, source, code_sha256, timeout_seconds, memory_mb) VALUES ('f', 1, 'f.js', 'x', 'x', 1, 64)`,
    );
    const inv = (id: string, status: string, finished: Date | null) =>
      db.query(`INSERT INTO invocations (invocation_id, function_name, version, status, finished_at, created_at) VALUES ($1, 'f', 1, $2, $3, $4)`, [
        id,
        status,
        finished,
        old,
      ]);
    await inv('i-old', 'SUCCEEDED', old);
    await inv('i-recent', 'FAILED', recent);
    await inv('i-running', 'RUNNING', null);

    const n = await prune(db, { days: 30, auditDays: 365 });
    assert.deepEqual(n, { events: 3, deliveries: 2, invocations: 1, audit: 0 });
    const ids = async (sql: string) => (await db.query<{ id: string }>(sql)).map((r) => r.id).sort();
    assert.deepEqual(await ids('SELECT event_id AS id FROM events'), ['old-queued', 'recent']);
    assert.deepEqual(await ids('SELECT delivery_id AS id FROM deliveries'), ['d3', 'd4']);
    assert.deepEqual(await ids('SELECT invocation_id AS id FROM invocations'), ['i-recent', 'i-running']);
    assert.deepEqual(await prune(db, { days: 30, auditDays: 365 }), { events: 0, deliveries: 0, invocations: 0, audit: 0 }, 'nothing more');
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

test('prune deletes audit rows older than the audit retention and keeps newer ones', async () => {
  const db = await freshDb();
  try {
    const day = 86_400_000;
    const row = (route: string, ageDays: number) =>
      db.query(`INSERT INTO audit_log (time, token_name, role, method, route, status, outcome) VALUES ($1, 'admin', 'admin', 'POST', $2, 200, 'ok')`, [
        new Date(Date.now() - ageDays * day),
        route,
      ]);
    await row('/ancient', 400);
    await row('/old', 100);
    await row('/recent', 2);
    await row('/now', 0);
    const routes = async () => (await db.query<{ route: string }>('SELECT route FROM audit_log ORDER BY time')).map((r) => r.route);
    // The audit retention is its own: events' 30 days do not touch it.
    assert.equal((await prune(db, { days: 30, auditDays: 365 })).audit, 1);
    assert.deepEqual(await routes(), ['/old', '/recent', '/now']);
    assert.equal((await prune(db, { days: 30, auditDays: 7 })).audit, 1);
    assert.deepEqual(await routes(), ['/recent', '/now']);
    // A bare number of days takes the audit retention from CONFIX_AUDIT_RETENTION_DAYS (else 365).
    const saved = process.env.CONFIX_AUDIT_RETENTION_DAYS;
    try {
      process.env.CONFIX_AUDIT_RETENTION_DAYS = '1';
      assert.equal((await prune(db, 30)).audit, 1);
      assert.deepEqual(await routes(), ['/now']);
      process.env.CONFIX_AUDIT_RETENTION_DAYS = 'forever';
      await assert.rejects(prune(db, 30), /CONFIX_AUDIT_RETENTION_DAYS must be a whole number/);
    } finally {
      if (saved === undefined) delete process.env.CONFIX_AUDIT_RETENTION_DAYS;
      else process.env.CONFIX_AUDIT_RETENTION_DAYS = saved;
    }
  } finally {
    await db.close();
  }
});

test('CONFIX_AUDIT_RETENTION_DAYS: a whole number of days, at least 1; 365 by default', () => {
  assert.equal(auditRetentionDaysFromEnv({}), 365);
  assert.equal(auditRetentionDaysFromEnv({ CONFIX_AUDIT_RETENTION_DAYS: '' }), 365);
  assert.equal(auditRetentionDaysFromEnv({ CONFIX_AUDIT_RETENTION_DAYS: '90' }), 90);
  assert.throws(() => auditRetentionDaysFromEnv({ CONFIX_AUDIT_RETENTION_DAYS: '0' }), /at least 1, not "0"/);
  assert.throws(() => auditRetentionDaysFromEnv({ CONFIX_AUDIT_RETENTION_DAYS: '1.5' }), /whole number/);
});
