// Deployed functions and their invocations: versions kept, code checked at
// deploy, invocations queued, de-duplicated, run with the role's credentials,
// stopped at their limits or by hand, and every one recorded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { freshDb } from '../helpers/db.js';
import { createEngine, type Engine } from '../../src/engine.js';
import { parseEstateText } from '../../src/providers/sandbox/index.js';
import { FunctionInUseError, FunctionNotFoundError, FunctionValidationError } from '../../src/functions/store.js';
import { InvocationFinishedError } from '../../src/functions/invocations.js';

const SEED = 'examples/estates/seed-000.yaml';
let engine: Engine;

before(async () => {
  engine = createEngine(await freshDb(), { functionWorker: { heartbeatMs: 100, pollMs: 100 } });
  const { raw } = parseEstateText(await readFile(SEED, 'utf8'), SEED);
  await engine.sandbox.loadEstate(raw, { source: SEED });
  engine.functionWorker.start();
});
after(async () => {
  await engine.functionWorker.stop();
  await engine.db.close();
});

const ECHO = `export async function handler(event: { n: number }, context: any) {
  context.logger.info('got', event.n);
  return { twice: event.n * 2, version: context.functionVersion, hasCredentials: !!context.credentials };
}
`;

test('deploy keeps versions; the same code and settings make none; bad code is refused at its line', async () => {
  const { functions } = engine;
  const first = await functions.deploy({ name: 'echo', fileName: 'echo.ts', source: ECHO, env: { RULE: 'x' } });
  assert.deepEqual([first.created, first.version.version, first.fn.latestVersion], [true, 1, 1]);
  assert.equal(first.version.timeoutSeconds, 60, 'default timeout');
  assert.equal(first.version.memoryMb, 256, 'default memory');
  const same = await functions.deploy({ name: 'echo', fileName: 'echo.ts', source: ECHO, env: { RULE: 'x' } });
  assert.deepEqual([same.created, same.version.version], [false, 1]);
  const second = await functions.deploy({ name: 'echo', fileName: 'echo.ts', source: ECHO, env: { RULE: 'y' }, timeoutSeconds: 5 });
  assert.deepEqual([second.created, second.version.version], [true, 2]);
  assert.deepEqual(
    (await functions.versions('echo')).map((v) => [v.version, v.env.RULE, v.timeoutSeconds]),
    [
      [2, 'y', 5],
      [1, 'x', 60],
    ],
  );
  assert.equal((await functions.version('echo', 1)).source, ECHO);

  const bad = await functions.deploy({ name: 'broken', fileName: 'broken.ts', source: 'export const handler = (e) => {\n  return e +;\n};\n' }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(bad instanceof FunctionValidationError);
  assert.match(bad.message, /source: broken\.ts:2:\d+: /);
  const noHandler = await functions.deploy({ name: 'nohandler', fileName: 'h.js', source: 'export function main() {}\n' }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(noHandler instanceof FunctionValidationError);
  assert.match(noHandler.message, /handler/);
  const badSettings = await functions.deploy({ name: '9lives', fileName: 'h.exe', source: ECHO, memoryMb: 10 }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(badSettings instanceof FunctionValidationError);
  assert.deepEqual(badSettings.issues.map((i) => i.path.join('.')).sort(), ['fileName', 'memoryMb', 'name']);
  await assert.rejects(functions.get('broken'), FunctionNotFoundError);
});

test('invocations run a version, are recorded with logs and duration, and an idempotency key answers the first', async () => {
  const { functionWorker, invocations } = engine;
  const done = await functionWorker.invokeAndWait({ functionName: 'echo', input: { n: 21 }, idempotencyKey: 'k-1', source: { type: 'manual' } });
  assert.equal(done.status, 'SUCCEEDED', JSON.stringify(done.error));
  assert.deepEqual(done.result, { twice: 42, version: '2', hasCredentials: false });
  assert.deepEqual(
    done.logs.map((l) => [l.level, l.message]),
    [['info', 'got 21']],
  );
  assert.ok(done.durationMs! > 0 && done.startedAt && done.finishedAt);
  const again = await invocations.enqueue({ functionName: 'echo', input: { n: 1 }, idempotencyKey: 'k-1' });
  assert.deepEqual([again.deduplicated, again.invocationId, again.status], [true, done.invocationId, 'SUCCEEDED']);
  const v1 = await functionWorker.invokeAndWait({ functionName: 'echo', input: { n: 1 }, source: { type: 'manual' }, version: 1 });
  assert.equal(v1.version, 1);
  assert.equal((v1.result as { version: string }).version, '1');
  const logs = await invocations.logs('echo');
  assert.deepEqual(
    logs.map((l) => l.message),
    ['got 21', 'got 1'],
  );
  await assert.rejects(invocations.enqueue({ functionName: 'nope' }), FunctionNotFoundError);
});

test('a function that loops is stopped at its timeout, one that allocates at its memory limit, one cancelled by hand; all recorded', async () => {
  const { functions, functionWorker, invocations } = engine;
  await functions.deploy({ name: 'spin', fileName: 'spin.js', source: 'export function handler() { for (;;) {} }\n', timeoutSeconds: 2 });
  await functions.deploy({
    name: 'hog',
    fileName: 'hog.js',
    source: 'export function handler() { const a = []; for (;;) a.push(new Array(1e5).fill(Math.random())); }\n',
    memoryMb: 64,
    timeoutSeconds: 60,
  });
  await functions.deploy({ name: 'sleepy', fileName: 'sleepy.ts', source: 'export const handler = () => new Promise(() => {});\n', timeoutSeconds: 120 });

  const [spin, hog] = await Promise.all([
    functionWorker.invokeAndWait({ functionName: 'spin', input: {}, source: { type: 'manual' } }),
    functionWorker.invokeAndWait({ functionName: 'hog', input: {}, source: { type: 'manual' } }),
  ]);
  assert.equal(spin.status, 'TIMED_OUT');
  assert.equal(spin.error?.type, 'FunctionTimeout');
  assert.ok(spin.durationMs! >= 1900 && spin.durationMs! < 10_000, `stopped near 2 s: ${spin.durationMs}`);
  assert.equal(hog.status, 'FAILED');
  assert.equal(hog.error?.type, 'MemoryLimitExceeded');
  assert.deepEqual((await invocations.get(spin.invocationId)).status, 'TIMED_OUT', 'recorded');

  const queued = await invocations.enqueue({ functionName: 'sleepy', input: {} });
  functionWorker.wake();
  for (let i = 0; i < 100 && (await invocations.get(queued.invocationId)).status !== 'RUNNING'; i++) await new Promise((r) => setTimeout(r, 50));
  const asked = await invocations.cancel(queued.invocationId);
  assert.equal(asked.cancelRequested, true);
  const stopped = await functionWorker.wait(queued.invocationId);
  assert.equal(stopped.status, 'CANCELLED');
  assert.ok(stopped.durationMs! < 10_000);
  await assert.rejects(invocations.cancel(queued.invocationId), InvocationFinishedError);
  assert.deepEqual(
    (await invocations.list({ functionName: 'sleepy' })).map((i) => i.status),
    ['CANCELLED'],
  );
});

test("a function's role is assumed by the function service: trusted roles give credentials, untrusted ones fail the invocation with the refusal", async () => {
  const { functions, functionWorker } = engine;
  const CODE = 'export const handler = (e, ctx) => ({ key: ctx.credentials?.accessKeyId?.slice(0, 4), token: !!ctx.credentials?.securityToken });\n';
  // A's role trusts fc.aliyuncs.com (seed 000); B's trusts only accounts and A's role.
  await functions.deploy({ name: 'with-role', fileName: 'r.js', source: CODE, role: 'ConfigCustomRemediationRole' });
  const ok = await functionWorker.invokeAndWait({ functionName: 'with-role', input: {}, source: { type: 'manual' } });
  assert.equal(ok.status, 'SUCCEEDED', JSON.stringify(ok.error));
  assert.deepEqual(ok.result, { key: 'STS.', token: true });
  await functions.deploy({ name: 'untrusted', fileName: 'r.js', source: CODE, role: 'acs:ram::178366182654:role/ConfigCustomRemediationRole' });
  const refused = await functionWorker.invokeAndWait({ functionName: 'untrusted', input: {}, source: { type: 'manual' } });
  assert.equal(refused.status, 'FAILED');
  assert.equal(refused.error?.type, 'AssumeRoleFailed');
  assert.match(refused.error!.message, /NoPermission.*sts:AssumeRole.*fc\.aliyuncs\.com/s);
});

test('a function a subscription or rule names cannot be deleted; otherwise it goes with its invocations', async () => {
  const { functions, invocations, db } = engine;
  await db.query(`INSERT INTO topics (name) VALUES ('t1')`);
  await db.query(`INSERT INTO subscriptions (topic, name, format, endpoint) VALUES ('t1', 's1', 'mns', '{"type":"function","function":"echo"}')`);
  await assert.rejects(functions.remove('echo'), (e: unknown) => e instanceof FunctionInUseError && e.users.join() === 'subscription t1/s1');
  await db.query(`DELETE FROM subscriptions`);
  await functions.remove('echo');
  await assert.rejects(functions.get('echo'), FunctionNotFoundError);
  assert.deepEqual(await invocations.list({ functionName: 'echo' }), []);
});

test("a running invocation's log lines are saved as they come, and once more, whole and without repeats, at its end", async () => {
  const { functions, invocations, functionWorker } = engine;
  await functions.deploy({
    name: 'chatty',
    fileName: 'chatty.ts',
    source: `export async function handler(_e: unknown, ctx: any) {
  ctx.logger.info('one');
  await new Promise((r) => setTimeout(r, 1500));
  ctx.logger.info('two');
  await new Promise((r) => setTimeout(r, 1500));
  return 'done';
}
`,
  });
  const queued = await invocations.enqueue({ functionName: 'chatty', input: {} });
  functionWorker.wake();
  let seen: string[] = [];
  for (let i = 0; i < 100; i++) {
    const now = await invocations.get(queued.invocationId);
    seen = now.logs.map((l) => l.message);
    if (now.status === 'RUNNING' && seen.length) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual(seen, ['one'], 'the first line is there while the function still runs');
  const done = await functionWorker.wait(queued.invocationId);
  assert.equal(done.status, 'SUCCEEDED');
  assert.deepEqual(
    done.logs.map((l) => l.message),
    ['one', 'two'],
  );
});

test("an invocation's input and result keep their keys in the order given", async () => {
  const { functions, functionWorker } = engine;
  await functions.deploy({
    name: 'order',
    fileName: 'order.js',
    source: 'export const handler = (e) => ({ seen: Object.keys(e).join(","), zeta: 1, alpha: 2 });\n',
  });
  const done = await functionWorker.invokeAndWait({
    functionName: 'order',
    input: { version: '0', id: 'x', 'detail-type': 'y', detail: {} },
    source: { type: 'manual' },
  });
  assert.equal((done.result as { seen: string }).seen, 'version,id,detail-type,detail');
  assert.deepEqual(Object.keys(done.input as object), ['version', 'id', 'detail-type', 'detail']);
  assert.deepEqual(Object.keys(done.result as object), ['seen', 'zeta', 'alpha']);
});

test('stopping a worker keeps the leases of what it runs, and cancels what outlasts the grace', async () => {
  const { functions, invocations, db } = engine;
  const { createEngine: make } = await import('../../src/engine.js');
  const other = make(db, { functionWorker: { pollMs: 50, heartbeatMs: 50, leaseMs: 300 } });
  await functions.deploy({
    name: 'long',
    fileName: 'long.js',
    source: 'export const handler = () => new Promise((r) => setTimeout(() => r("late"), 60000));\n',
    timeoutSeconds: 120,
  });
  // The shared engine's worker must not take it: this test's worker runs it.
  await engine.functionWorker.stop();
  try {
    other.functionWorker.start();
    const q = await invocations.enqueue({ functionName: 'long', input: {} });
    other.functionWorker.wake();
    for (let i = 0; i < 100 && (await invocations.get(q.invocationId)).status !== 'RUNNING'; i++) await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await other.functionWorker.stop({ graceMs: 1500 });
    const ended = await invocations.get(q.invocationId);
    assert.equal(ended.status, 'CANCELLED', 'cancelled after the grace, by the worker that held it');
    assert.equal(ended.attempt, 1, 'never taken by anyone else: the lease (300 ms) was kept during the grace');
    assert.ok(Date.now() - started >= 1400 && Date.now() - started < 10_000);
  } finally {
    engine.functionWorker.start();
  }
});
