// Functions through the real CLI, as a user runs it against a service: deploy
// a TypeScript file, invoke it with an event, list invocations, read logs;
// bad code is refused at its file and line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testService } from '../helpers/service.js';
import { cliFor } from '../helpers/cli.js';

let svc: Awaited<ReturnType<typeof testService>>;
const dir = mkdtempSync(join(tmpdir(), 'confix-fn-cli-'));

/** The real CLI, as a user runs it, against the test service. */
const confix = (...args: string[]) => cliFor(svc)(...args);

before(async () => {
  svc = await testService({ demo: false });
});
after(async () => {
  await svc.close();
});

const GREETER = `interface Event { name: string }
export async function handler(event: Event, context: { logger: { info(...a: unknown[]): void } }) {
  context.logger.info(\`greeting \${event.name}\`);
  if (event.name === 'nobody') throw new Error('no one to greet');
  return { greeting: \`hello \${event.name}\`, from: process.env.FROM };
}
`;

test('deploy a TypeScript file, invoke it with an event, list invocations and read the logs', async () => {
  const file = join(dir, 'greeter.ts');
  writeFileSync(file, GREETER);
  const d = await confix('function', 'deploy', 'greeter', '--file', file, '--env', 'FROM=confix', '--timeout', '20', '--description', 'says hello');
  assert.equal(d.code, 0, d.stderr);
  assert.equal(d.stdout.trim(), 'deployed greeter version 1');
  const same = await confix('function', 'deploy', 'greeter', '--file', file, '--env', 'FROM=confix', '--timeout', '20', '--description', 'says hello');
  assert.equal(same.stdout.trim(), 'greeter unchanged (version 1)');

  const fn = await confix('get', 'function', 'greeter');
  assert.equal(fn.code, 0, fn.stderr);
  assert.match(fn.stdout, /file greeter\.ts {2}handler handler/);
  assert.match(fn.stdout, /timeout 20 s {2}memory 256 MB/);
  assert.match(fn.stdout, /VERSION\s+CREATED\s+FILE/);

  const inv = await confix('function', 'invoke', 'greeter', '--event', '{"name":"world"}');
  assert.equal(inv.code, 0, inv.stderr);
  assert.match(inv.stdout, /SUCCEEDED/);
  const result = /^result: (.*)$/m.exec(inv.stdout);
  assert.ok(result, inv.stdout);
  assert.deepEqual(JSON.parse(result[1]!), { greeting: 'hello world', from: 'confix' });
  assert.match(inv.stdout, /INFO {2}greeting world/);

  const failed = await confix('function', 'invoke', 'greeter:1', '--event', '{"name":"nobody"}');
  assert.equal(failed.code, 1);
  assert.match(failed.stdout, /FAILED/);
  assert.match(failed.stdout, /error Error: no one to greet/);
  assert.match(failed.stderr, /^confix: invocation inv-\w+ FAILED: Error: no one to greet/);

  const list = await confix('get', 'invocations', '--function', 'greeter', '--json');
  assert.equal(list.code, 0, list.stderr);
  const items = JSON.parse(list.stdout) as { status: string; functionName: string }[];
  assert.deepEqual(
    items.map((i) => [i.functionName, i.status]),
    [
      ['greeter', 'FAILED'],
      ['greeter', 'SUCCEEDED'],
    ],
  );

  const logs = await confix('logs', 'greeter', '--since', '10m');
  assert.equal(logs.code, 0, logs.stderr);
  const lines = logs.stdout.trim().split('\n');
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT[\d:.]+Z INFO {2}\[inv-\w+\] greeting world$/);
  assert.match(lines[1]!, /greeting nobody$/);

  const id = /\[(inv-\w+)\]/.exec(lines[0]!)![1]!;
  const one = await confix('get', 'invocation', id);
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /source manual/);
  assert.match(one.stdout, /input: \{"name":"world"\}/);
  assert.match(one.stdout, /duration \d+/);

  const queued = await confix('function', 'invoke', 'greeter', '--event', '{"name":"later"}', '--no-wait', '--json');
  assert.equal(queued.code, 0, queued.stderr);
  assert.equal(JSON.parse(queued.stdout).deduplicated, false);
});

test('bad code exits 1 naming the file and line; nothing is deployed', async () => {
  const file = join(dir, 'broken.ts');
  writeFileSync(file, 'export function handler(event: unknown) {\n  const x = ;\n  return x;\n}\n');
  const r = await confix('function', 'deploy', 'broken', '--file', file);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^confix: broken was not deployed:/);
  assert.ok(r.stderr.includes(`${file}:2:`), r.stderr);
  const missing = await confix('get', 'function', 'broken');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no function named "broken"/);
  const badEvent = await confix('function', 'invoke', 'greeter', '--event', '{name:');
  assert.equal(badEvent.code, 1);
  assert.match(badEvent.stderr, /--event is not JSON/);
});

test('get functions and get invocations list as tables; delete removes', async () => {
  const invocations = await confix('get', 'invocations', '--status', 'SUCCEEDED');
  assert.match(invocations.stdout, /INVOCATION\s+FUNCTION\s+VERSION\s+STATUS/);
  assert.match(invocations.stdout, /greeter\s+1\s+SUCCEEDED\s+manual/);
  const list = await confix('get', 'functions');
  assert.match(list.stdout, /NAME\s+VERSION\s+FILE/);
  assert.match(list.stdout, /greeter\s+1\s+greeter\.ts/);
  const del = await confix('function', 'delete', 'greeter');
  assert.equal(del.code, 0, del.stderr);
  assert.equal(del.stdout.trim(), 'deleted function greeter');
  assert.deepEqual(JSON.parse((await confix('get', 'functions', '--json')).stdout), []);
});
