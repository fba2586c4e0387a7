// The audit log bounds what one request may write: fields cut at their limit
// (noting how long they were), refusals of callers without a valid token
// written up to a number per window and the rest counted into one summary
// row; requests with a valid token are each written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freshDb } from '../helpers/db.js';
import { AUDIT_LIMITS, AuditLog, clip } from '../../src/security/audit.js';

const anon = (reason: string, route = '/rules') => ({
  tokenName: null,
  role: null,
  method: 'GET',
  route,
  target: {},
  status: 401,
  outcome: 'denied' as const,
  reason,
});

test('clip cuts at the limit noting the length, never splits a surrogate pair, and writes NUL as U+FFFD', () => {
  assert.equal(clip('short'), 'short');
  const long = 'a'.repeat(15_360);
  const c = clip(long);
  assert.equal(c, `${'a'.repeat(AUDIT_LIMITS.fieldChars)}… (15360 characters)`);
  const emoji = 'x'.repeat(AUDIT_LIMITS.fieldChars - 1) + '😀' + 'y'.repeat(10);
  const e = clip(emoji);
  assert.ok(!/[\ud800-\udbff](?![\udc00-\udfff])/.test(e), 'no lone high surrogate');
  assert.equal(clip('a\0b'), 'a\ufffdb');
});

test('long routes, target values and reasons are stored cut, with their lengths; NUL does not break the insert', async () => {
  const db = await freshDb();
  try {
    const audit = new AuditLog(db);
    const big = 'z'.repeat(15_000);
    const target: Record<string, string> = { name: big };
    for (let i = 0; i < 40; i++) target[`p${i}`] = 'v';
    await audit.record({ tokenName: 'admin', role: 'admin', method: 'POST', route: `/x/${big}\0`, target, status: 404, outcome: 'error', reason: big });
    const [row] = await audit.list({ limit: 1 });
    assert.ok(row);
    assert.ok(row.route.length < AUDIT_LIMITS.fieldChars + 40, `route ${row.route.length}`);
    assert.match(row.route, /… \(15004 characters\)$/);
    assert.match(row.target.name!, /… \(15000 characters\)$/);
    assert.ok(Object.keys(row.target).length <= AUDIT_LIMITS.targetKeys + 1);
    assert.equal(row.target['…'], `${41 - AUDIT_LIMITS.targetKeys} more parameters`);
    assert.match(row.reason!, /… \(15000 characters\)$/);
    const [{ bytes } = { bytes: 0 }] = await db.query<{ bytes: number }>(`SELECT sum(pg_column_size(a.*))::int AS bytes FROM audit_log a`);
    assert.ok(bytes < 4096, `one row of ${bytes} bytes`);
  } finally {
    await db.close();
  }
});

test('unauthenticated refusals: N rows per window, the rest in one summary row at the window end or with the next row', async () => {
  const db = await freshDb();
  try {
    let now = Date.UTC(2026, 0, 1);
    const audit = new AuditLog(db, { unauthenticatedPerWindow: 5, windowMs: 60_000, now: () => now });
    for (let i = 0; i < 25; i++) await audit.record(anon(i % 5 === 0 ? 'unknown' : 'no token'));
    // Tokens' requests are never held back, even in a full window.
    for (let i = 0; i < 10; i++)
      await audit.record({
        tokenName: 't-viewer',
        role: 'viewer',
        method: 'DELETE',
        route: '/rules/{name}',
        target: { name: 'r' },
        status: 403,
        outcome: 'denied',
        reason: 'needs admin',
      });
    let rows = await audit.list({ limit: 1000 });
    assert.equal(rows.filter((r) => r.tokenName === null).length, 5, 'five unauthenticated rows so far');
    assert.equal(rows.filter((r) => r.tokenName === 't-viewer').length, 10, 'each 403 of a token is written');

    // The next window's first refusal writes the summary of the last one first.
    now += 61_000;
    await audit.record(anon('expired'));
    rows = await audit.list({ limit: 1000 });
    const summary = rows.find((r) => r.route === '*');
    assert.ok(summary, JSON.stringify(rows.slice(0, 3)));
    assert.equal(summary.method, '*');
    assert.equal(summary.status, 401);
    assert.equal(summary.outcome, 'denied');
    assert.equal(summary.tokenName, null);
    assert.equal(summary.target.suppressed, '20');
    assert.equal(summary.target.from, new Date(Date.UTC(2026, 0, 1)).toISOString());
    assert.equal(summary.reason, '20 more unauthenticated refusals suppressed (no token: 16, unknown: 4)');
    assert.equal(rows.filter((r) => r.tokenName === null).length, 5 + 1 + 1);
    assert.ok(rows[0]!.reason === 'expired' && rows[1]!.route === '*', 'the summary comes before the new window’s first row');

    // flush() writes what is pending now (the service's timer does at the window end); nothing pending, nothing written.
    for (let i = 0; i < 7; i++) await audit.record(anon('no token'));
    await audit.flush();
    await audit.flush();
    rows = await audit.list({ limit: 1000 });
    assert.equal(rows.filter((r) => r.route === '*').length, 2);
    assert.equal(rows[0]!.reason, '3 more unauthenticated refusals suppressed (no token: 3)');
  } finally {
    await db.close();
  }
});

test('the summary row is written by a timer when the window ends', async () => {
  const db = await freshDb();
  try {
    const audit = new AuditLog(db, { unauthenticatedPerWindow: 1, windowMs: 300 });
    for (let i = 0; i < 4; i++) await audit.record(anon('no token'));
    assert.equal((await audit.list()).length, 1);
    const deadline = Date.now() + 5000;
    let rows = await audit.list();
    while (rows.length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      rows = await audit.list();
    }
    assert.equal(rows.length, 2);
    assert.equal(rows[0]!.reason, '3 more unauthenticated refusals suppressed (no token: 3)');
  } finally {
    await db.close();
  }
});
