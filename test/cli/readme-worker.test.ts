// The README's "watch a worker take the work": the service started without
// its own workers (--no-worker) on PostgreSQL with the demo, a real
// `confix worker` process on the same database and key, and the README's
// commands: the automatic fix is run by the worker, which logs it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshDb, postgresUrl } from '../helpers/db.js';
import { readmeCommands, runReadmeCommand, ROOT } from '../helpers/readme.js';
import { until } from '../helpers/wait.js';
import { startService } from '../../src/service.js';
import { SecretBox } from '../../src/security/secret-box.js';
import { silentLogger } from '../../src/util/log.js';
import { CLI } from '../helpers/cli.js';

test('a service with --no-worker leaves the execution to a `confix worker` process, which runs and logs it', {
  skip: !postgresUrl && 'needs CONFIX_TEST_DATABASE_URL (a PostgreSQL server)',
}, async () => {
  const key = randomBytes(32).toString('base64');
  const db = await freshDb('postgres');
  const svc = await startService({
    db,
    port: 0,
    demo: true,
    workers: false,
    discoveryIntervalMs: 0,
    dataDir: mkdtempSync(join(tmpdir(), 'confix-worker-readme-')),
    secretBox: SecretBox.fromKey(key),
    log: silentLogger,
  });
  const [{ schema }] = (await db.query<{ schema: string }>('SELECT current_schema() AS schema')) as [{ schema: string }];
  const url = new URL(postgresUrl!);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const worker = spawn(process.execPath, [...CLI, 'worker', '--concurrency', '4', '--poll-ms', '100'], {
    cwd: ROOT,
    env: { ...process.env, CONFIX_DATABASE_URL: url.toString(), CONFIX_SECRET_KEY: key, CONFIX_LOG_LEVEL: 'info', CONFIX_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  worker.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  worker.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  try {
    await until('the worker to start', () => out.includes('confix worker '), 30_000);
    const token = readFileSync(svc.adminTokenFile, 'utf8').trim();
    const env = { CONFIX_URL: svc.url, CONFIX_TOKEN: token };
    for (const c of readmeCommands('Then, in a third terminal:')) {
      const r = await runReadmeCommand(c, env);
      assert.equal(r.code, 0, `${c}\n${r.stdout}\n${r.stderr}`);
    }
    const fixed = await until(
      'the automatic fix',
      async () => {
        const xs = await svc.executions.list({
          resource: { accountId: '100931896542', regionId: 'cn-hangzhou', resourceType: 'ACS::ECS::SecurityGroup', resourceId: 'sg-web-prod' },
        });
        return xs.find((x) => x.status === 'SUCCEEDED');
      },
      60_000,
    );
    await until('the worker to log the execution', () => out.includes(fixed.executionId), 10_000).catch((e) => {
      throw new Error(`${e.message}; worker output:\n${out.slice(-3000)}`);
    });
    assert.match(out, new RegExp(`execution finished.*${fixed.executionId}|${fixed.executionId}.*execution finished`));
  } finally {
    worker.kill('SIGTERM');
    await new Promise((r) => worker.once('exit', r));
    await svc.close();
    await db.close();
  }
});

test('--no-worker on the embedded store is refused: nobody else could run its work', async () => {
  await assert.rejects(
    startService({ port: 0, demo: false, workers: false, dataDir: mkdtempSync(join(tmpdir(), 'confix-noworker-')), log: silentLogger }),
    /--no-worker .* need a PostgreSQL database/,
  );
});
