// The function runtime's own boundary: what a function's code can do to the
// channel back to confix, to confix's memory and to the file system outside
// its temp directory (security issue: a forged channel, a memory bomb outside
// the heap, realpathSync probing the host).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFunction, sweepTempDirs, type FunctionDefinition } from '../../src/functions/runtime.js';
import { until } from '../helpers/wait.js';

const fn = (source: string, more: Partial<FunctionDefinition> = {}): FunctionDefinition => ({
  name: 'hostile',
  fileName: 'handler.js',
  source,
  timeoutSeconds: 10,
  memoryMb: 128,
  ...more,
});

/** The temp directory of the invocation, as the function saw it (it logs context.tmpDir first). */
const tmpDirOf = (logs: { message: string }[]) => logs.find((l) => l.message.startsWith('tmp='))?.message.slice(4);

test('garbage written to the channel fails that invocation, not the process running the runtime; its temp directory goes', async () => {
  const r = await runFunction(
    fn(`exports.handler = async (e, context) => {
      console.log('tmp=' + context.tmpDir);
      await new Promise((r) => setTimeout(r, 200));
      require('fs').writeSync(3, '{this is not json\\n');
      await new Promise((r) => setTimeout(r, 2000));
      return 'never';
    }`),
  );
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error?.type, 'RuntimeProtocolViolation');
  assert.match(r.error!.message, /did not send/);
  assert.ok(r.durationMs < 2000, `failed at once, not after the sleep (${r.durationMs} ms)`);
  const dir = tmpDirOf(r.logs);
  assert.ok(dir, 'the function logged its temp directory');
  assert.equal(existsSync(dir), false, 'the temp directory is removed');
});

test('a forged "done" message does not make the invocation succeed, nor do forged log lines count', async () => {
  const forged = JSON.stringify({ t: 'done', ok: true, resultJson: JSON.stringify({ forged: true }) });
  const log = JSON.stringify({ t: 'log', time: '2000-01-01T00:00:00.000Z', level: 'error', message: 'forged line' });
  for (const line of [forged, log, `${'0'.repeat(64)} ${forged}`, `${'ab'.repeat(32)} ${log}`]) {
    const r = await runFunction(
      fn(`exports.handler = async () => {
        require('fs').writeSync(3, ${JSON.stringify(line + '\n')});
        await new Promise((r) => setTimeout(r, 1500));
        return { genuine: true };
      }`),
    );
    assert.equal(r.status, 'FAILED', line);
    assert.equal(r.error?.type, 'RuntimeProtocolViolation');
    assert.equal(r.result, undefined);
    assert.ok(!r.logs.some((l) => l.message === 'forged line'));
  }
});

test('a function that closes or floods the channel fails alone; the next invocation is unharmed', async () => {
  const flood = await runFunction(
    fn(
      `exports.handler = async () => { const fs = require('fs'); const junk = 'x'.repeat(1 << 20); for (let i = 0; i < 64; i++) fs.writeSync(3, junk); await new Promise((r) => setTimeout(r, 3000)); }`,
    ),
    { maxResultBytes: 1024 },
  );
  assert.equal(flood.status, 'FAILED');
  assert.equal(flood.error?.type, 'RuntimeProtocolViolation');
  const closed = await runFunction(fn(`exports.handler = async () => { require('fs').closeSync(3); return 1; }`, { timeoutSeconds: 3 }));
  assert.notEqual(closed.status, 'SUCCEEDED');
  const ok = await runFunction(fn(`exports.handler = async () => ({ fine: true })`));
  assert.equal(ok.status, 'SUCCEEDED');
  assert.deepEqual(ok.result, { fine: true });
});

test('memory outside the V8 heap is limited too: 40 Buffers of 50 MB under 128 MB fail as MemoryLimitExceeded', {
  skip: process.platform !== 'linux' && 'the data-segment limit is applied on Linux',
}, async () => {
  const r = await runFunction(
    fn(`exports.handler = async () => { const a = []; for (let i = 0; i < 40; i++) a.push(Buffer.alloc(50 * 1024 * 1024, 1)); return a.length; }`, {
      memoryMb: 128,
    }),
  );
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error?.type, 'MemoryLimitExceeded');
  assert.match(r.error!.message, /memory limit of 128 MB/);
  // Within the limit, large Buffers work.
  const fits = await runFunction(fn(`exports.handler = async () => Buffer.alloc(60 * 1024 * 1024, 1).length`, { memoryMb: 128 }));
  assert.equal(fits.status, 'SUCCEEDED', JSON.stringify(fits.error));
  assert.ok(fits.maxRssMb! < 128 + 200, `peak RSS ${fits.maxRssMb} MB`);
});

test('fs.realpathSync tells nothing about paths outside the temp directory', async () => {
  const r = await runFunction(
    fn(`exports.handler = async (e, context) => {
      const fs = require('fs');
      const path = require('path');
      const probe = (p) => { try { return 'ok:' + fs.realpathSync(p); } catch (err) { return 'err:' + err.code; } };
      fs.writeFileSync(path.join(context.tmpDir, 'mine.txt'), 'x');
      return {
        etc: probe('/etc/passwd'),
        missing: probe('/no/such/path'),
        traversal: probe(context.tmpDir + '/../../etc'),
        mine: probe(path.join(context.tmpDir, 'mine.txt')) === 'ok:' + path.join(context.tmpDir, 'mine.txt'),
        relative: probe('mine.txt') === 'ok:' + path.join(context.tmpDir, 'mine.txt'),
        native: (() => { try { return 'ok:' + fs.realpathSync.native('/etc'); } catch (err) { return 'err:' + err.code; } })(),
        overwritten: (() => { try { fs.realpathSync = (p) => p; } catch (err) { return 'refused'; } return probe('/etc/passwd') === 'ok:/etc/passwd' ? 'replaced' : 'kept'; })(),
      };
    }`),
  );
  assert.equal(r.status, 'SUCCEEDED', JSON.stringify(r));
  const out = r.result as Record<string, unknown>;
  assert.equal(out.etc, 'err:ERR_ACCESS_DENIED');
  assert.equal(out.missing, 'err:ERR_ACCESS_DENIED', 'a missing path looks the same as an existing one');
  assert.equal(out.traversal, 'err:ERR_ACCESS_DENIED');
  assert.equal(out.native, 'err:ERR_ACCESS_DENIED');
  assert.equal(out.mine, true);
  assert.equal(out.relative, true);
  assert.notEqual(out.overwritten, 'replaced');
});

test("an invocation's process whose confix dies removes its temp directory and exits", async () => {
  // A stand-in for the service: runs a long invocation, prints its temp directory, and is killed.
  const script = `
    import { invoke } from ${JSON.stringify(new URL('../../src/functions/runtime.ts', import.meta.url).href)};
    const h = invoke({ name: 'sleeper', fileName: 'h.js', timeoutSeconds: 60, memoryMb: 64,
      source: "exports.handler = async (e, c) => { console.log('tmp=' + c.tmpDir); await new Promise((r) => setTimeout(r, 60000)); }" },
      { onLog: (l) => console.log(l.message) });
    await h.done;`;
  const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  parent.stdout!.on('data', (c) => (out += String(c)));
  const dir = await until('the function to start', () => /tmp=(\S+)/.exec(out)?.[1], 20_000);
  assert.ok(existsSync(dir));
  parent.kill('SIGKILL');
  await until('the temp directory to be removed', () => !existsSync(dir), 10_000);
});

test('start-up sweeps the temp directories of services that died, not those of live ones', () => {
  const root = mkdtempSync(join(tmpdir(), 'confix-sweep-'));
  try {
    const dead = join(root, 'confix-fn-999999999-abc');
    const live = join(root, `confix-fn-${process.pid}-def`);
    const other = join(root, 'unrelated');
    for (const d of [dead, live, other]) mkdirSync(d);
    assert.equal(sweepTempDirs(root), 1);
    assert.deepEqual(readdirSync(root).sort(), [`confix-fn-${process.pid}-def`, 'unrelated'].sort());
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
