// The functions API against a real service: deploy versions, refuse bad code
// at its line, invoke (waiting or not), de-duplicate by idempotency key,
// cancel a running invocation, read logs, and delete.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testService } from '../helpers/service.js';

let svc: Awaited<ReturnType<typeof testService>>;

before(async () => {
  svc = await testService({ demo: false });
});
after(async () => {
  await svc.close();
});

const ECHO = `export async function handler(event: { n: number }, context: { logger: { info(...a: unknown[]): void }; functionVersion: string }) {
  context.logger.info('doubling', event.n);
  return { twice: event.n * 2, version: context.functionVersion, rule: process.env.RULE };
}
`;

const put = (name: string, body: unknown) => svc.api(`/functions/${name}`, { method: 'PUT', json: body });

test('deploy makes version 1, an unchanged deploy makes none, a changed one version 2; versions are listed, code shown per version', async () => {
  const v1 = await put('echo', { fileName: 'echo.ts', source: ECHO, env: { RULE: 'a' }, description: 'doubles n' });
  assert.equal(v1.status, 201, JSON.stringify(v1.body));
  assert.equal(v1.body.created, true);
  assert.equal(v1.body.version.version, 1);
  assert.equal(v1.body.version.timeoutSeconds, 60);
  assert.equal(v1.body.version.source, undefined, 'no code in the deploy answer');
  assert.equal(v1.body.function.latestVersion, 1);

  const same = await put('echo', { fileName: 'echo.ts', source: ECHO, env: { RULE: 'a' }, description: 'doubles n' });
  assert.equal(same.status, 200);
  assert.deepEqual([same.body.created, same.body.version.version], [false, 1]);

  const v2 = await put('echo', { fileName: 'echo.ts', source: ECHO, env: { RULE: 'b' }, timeoutSeconds: 10, memoryMb: 128, description: 'doubles n' });
  assert.equal(v2.status, 201);
  assert.equal(v2.body.version.version, 2);

  const list = await svc.api('/functions');
  assert.equal(list.status, 200);
  assert.deepEqual(
    list.body.items.map((f: { name: string; latestVersion: number }) => [f.name, f.latestVersion]),
    [['echo', 2]],
  );

  const one = await svc.api('/functions/echo');
  assert.equal(one.status, 200);
  assert.deepEqual(
    one.body.versions.map((v: { version: number; env: Record<string, string> }) => [v.version, v.env.RULE]),
    [
      [2, 'b'],
      [1, 'a'],
    ],
  );
  assert.ok(
    one.body.versions.every((v: { source?: string }) => v.source === undefined),
    'no code in the version list',
  );
  assert.deepEqual(one.body.usedBy, []);
  assert.equal(one.body.latest.memoryMb, 128);
  assert.equal(one.body.description, 'doubles n');

  const code = await svc.api('/functions/echo/versions/1');
  assert.equal(code.status, 200);
  assert.equal(code.body.source, ECHO);
  assert.equal(code.body.env.RULE, 'a');
});

test('bad code is refused with its file and line; bad settings are named by field; nothing is deployed', async () => {
  const bad = await put('broken', { fileName: 'broken.ts', source: 'export const handler = (e: number) => {\n  return e +;\n};\n' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'InvalidFunction');
  assert.equal(bad.body.error.issues[0].path, 'source');
  assert.match(bad.body.error.issues[0].message, /^broken\.ts:2:\d+: /);

  const settings = await put('broken', { fileName: 'broken.exe', source: ECHO, timeoutSeconds: 901, memoryMb: 32 });
  assert.equal(settings.status, 400);
  assert.deepEqual(settings.body.error.issues.map((i: { path: string }) => i.path).sort(), ['fileName', 'memoryMb', 'timeoutSeconds']);

  const mismatch = await put('broken', { name: 'other', fileName: 'x.ts', source: ECHO });
  assert.equal(mismatch.status, 400);
  assert.match(mismatch.body.error.message, /^name: the body names "other" but the path "broken"/);

  const missing = await put('broken', { source: ECHO });
  assert.equal(missing.status, 400);
  assert.equal(missing.body.error.issues[0].path, 'fileName');

  assert.equal((await svc.api('/functions/broken')).status, 404);
});

test('invoke with wait answers the ended invocation: result, logs; the same idempotency key answers it again; logs and listings show it', async () => {
  const r = await svc.api('/functions/echo/invocations', { json: { event: { n: 21 }, wait: true, idempotencyKey: 'order-1' } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.status, 'SUCCEEDED', JSON.stringify(r.body.error));
  assert.deepEqual(r.body.result, { twice: 42, version: '2', rule: 'b' });
  assert.equal(r.body.deduplicated, false);
  assert.deepEqual(
    r.body.logs.map((l: { level: string; message: string }) => [l.level, l.message]),
    [['info', 'doubling 21']],
  );
  assert.deepEqual(r.body.source, { type: 'manual' });
  assert.ok(r.body.durationMs > 0);

  const again = await svc.api('/functions/echo/invocations', { json: { event: { n: 5 }, wait: true, idempotencyKey: 'order-1' } });
  assert.equal(again.status, 200);
  assert.deepEqual([again.body.deduplicated, again.body.invocationId, again.body.result.twice], [true, r.body.invocationId, 42]);

  const v1 = await svc.api('/functions/echo/invocations', { json: { event: { n: 1 }, version: 1, wait: true } });
  assert.equal(v1.status, 200);
  assert.deepEqual(v1.body.result, { twice: 2, version: '1', rule: 'a' });

  const logs = await svc.api('/functions/echo/logs?since=10m');
  assert.equal(logs.status, 200);
  assert.deepEqual(
    logs.body.items.map((l: { message: string; invocationId: string }) => [l.message, l.invocationId]),
    [
      ['doubling 21', r.body.invocationId],
      ['doubling 1', v1.body.invocationId],
    ],
  );
  assert.equal((await svc.api('/functions/echo/logs?limit=1')).body.items[0].message, 'doubling 1', 'the newest lines');
  assert.equal((await svc.api(`/functions/echo/logs?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).body.items.length, 0);
  const badSince = await svc.api('/functions/echo/logs?since=yesterday-ish');
  assert.equal(badSince.status, 400);
  assert.match(badSince.body.error.message, /^since: /);

  const list = await svc.api('/invocations?function=echo&status=SUCCEEDED&source=manual');
  assert.equal(list.status, 200);
  assert.deepEqual(
    list.body.items.map((i: { invocationId: string }) => i.invocationId),
    [v1.body.invocationId, r.body.invocationId],
  );
  assert.equal(list.body.items[0].logs, undefined, 'listings leave out logs, input and result');
  assert.equal((await svc.api('/invocations?source=remediation')).body.items.length, 0);
  assert.equal((await svc.api('/invocations?source=telepathy')).status, 400);

  const one = await svc.api(`/invocations/${r.body.invocationId}`);
  assert.equal(one.status, 200);
  assert.deepEqual(one.body.input, { n: 21 });
  assert.deepEqual(one.body.result.twice, 42);
  assert.equal(one.body.logs.length, 1);
});

test('an invocation without wait is answered 202 at once; cancelled while it runs it ends CANCELLED; cancelling again is a conflict', async () => {
  const dep = await put('sleepy', {
    fileName: 'sleepy.js',
    source: 'export async function handler() { console.log("going to sleep"); await new Promise((r) => setTimeout(r, 60_000)); return "woke"; }\n',
    timeoutSeconds: 120,
  });
  assert.equal(dep.status, 201, JSON.stringify(dep.body));
  const r = await svc.api('/functions/sleepy/invocations', { json: {} });
  assert.equal(r.status, 202);
  assert.ok(['QUEUED', 'RUNNING'].includes(r.body.status));
  const id = r.body.invocationId as string;
  const deadline = Date.now() + 20_000;
  while ((await svc.api(`/invocations/${id}`)).body.status !== 'RUNNING') {
    assert.ok(Date.now() < deadline, 'the invocation started running');
    await new Promise((ok) => setTimeout(ok, 100));
  }
  const started = Date.now();
  const c = await svc.api(`/invocations/${id}/cancel`, { method: 'POST' });
  assert.equal(c.status, 200);
  assert.equal(c.body.status, 'CANCELLED', JSON.stringify(c.body));
  assert.equal(c.body.error.type, 'Cancelled');
  assert.ok(Date.now() - started < 5000, 'stopped within seconds, not at the timeout');
  const again = await svc.api(`/invocations/${id}/cancel`, { method: 'POST' });
  assert.equal(again.status, 409);
  assert.equal(again.body.error.code, 'InvocationFinished');
  assert.equal((await svc.api('/invocations?function=sleepy&status=CANCELLED')).body.items.length, 1);
});

test('unknown functions, versions and invocations are 404s', async () => {
  for (const [path, init, code] of [
    ['/functions/nope', {}, 'FunctionNotFound'],
    ['/functions/echo/versions/99', {}, 'FunctionNotFound'],
    ['/functions/nope/invocations', { json: { event: {} } }, 'FunctionNotFound'],
    ['/functions/echo/invocations', { json: { version: 99 } }, 'FunctionNotFound'],
    ['/functions/nope/logs', {}, 'FunctionNotFound'],
    ['/invocations?function=nope', {}, 'FunctionNotFound'],
    ['/invocations/inv-nope', {}, 'InvocationNotFound'],
    ['/invocations/inv-nope/cancel', { method: 'POST' }, 'InvocationNotFound'],
    ['/functions/nope', { method: 'DELETE' }, 'FunctionNotFound'],
  ] as const) {
    const r = await svc.api(path, init as RequestInit & { json?: unknown });
    assert.equal(r.status, 404, `${path}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error.code, code, path);
  }
});

test('delete is refused while a subscription names the function, then removes it with its versions and invocations', async () => {
  await svc.db.query(
    `INSERT INTO subscriptions (topic, name, format, endpoint) VALUES ('default', 'to-echo', 'native', '{"type":"function","function":"echo"}')`,
  );
  const inUse = await svc.api('/functions/echo', { method: 'DELETE' });
  assert.equal(inUse.status, 409);
  assert.equal(inUse.body.error.code, 'FunctionInUse');
  assert.deepEqual(inUse.body.error.users, ['subscription default/to-echo']);
  assert.deepEqual((await svc.api('/functions/echo')).body.usedBy, ['subscription default/to-echo']);
  await svc.db.query(`DELETE FROM subscriptions WHERE name = 'to-echo'`);

  const del = await svc.api('/functions/echo', { method: 'DELETE' });
  assert.equal(del.status, 200);
  assert.deepEqual(del.body, { deleted: 'echo' });
  assert.equal((await svc.api('/functions/echo')).status, 404);
  assert.equal((await svc.api('/functions/echo/versions/1')).status, 404);
  assert.equal((await svc.api('/invocations?function=sleepy')).body.items.length, 1, "other functions' invocations stay");
});

test('the OpenAPI document describes the functions routes', async () => {
  const doc = await svc.api('/openapi.json');
  for (const p of [
    '/functions',
    '/functions/{name}',
    '/functions/{name}/versions/{version}',
    '/functions/{name}/invocations',
    '/functions/{name}/logs',
    '/invocations',
    '/invocations/{id}',
    '/invocations/{id}/cancel',
  ])
    assert.ok(doc.body.paths[p], p);
  assert.match(doc.body.components.schemas.FunctionVersion.properties.env.description, /not for secrets/);
});
