#!/usr/bin/env node
// Runs the whole test suite. Store tests run on PGlite and on a PostgreSQL
// server: CONFIX_TEST_DATABASE_URL names one, or else, where PostgreSQL's
// server programs are installed (Debian's `postgresql`), a throwaway cluster
// is started on 127.0.0.1 for the run and removed afterwards.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, chownSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';

const args = process.argv.slice(2);
const env = { ...process.env };

function findPgBin() {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0], 'bin') : null;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

let stopPg = () => {};
if (!env.CONFIX_TEST_DATABASE_URL) {
  const bin = findPgBin();
  if (!bin) {
    const msg = 'PostgreSQL server programs not found (apt-get install -y postgresql); the PostgreSQL store tests will not run';
    if (env.CI) {
      console.error(`error: ${msg}`);
      process.exit(1);
    }
    console.error(`warning: ${msg}`);
  } else {
    const asRoot = userInfo().uid === 0;
    const dir = mkdtempSync(join(tmpdir(), 'confix-test-pg-'));
    // initdb refuses to run as root: run the server as the postgres user then.
    const run = (cmd, cmdArgs) => {
      if (!asRoot) return execFileSync(cmd, cmdArgs, { stdio: 'pipe' });
      return execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...cmdArgs], { stdio: 'pipe' });
    };
    if (asRoot)
      chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), Number(execFileSync('id', ['-g', 'postgres']).toString().trim()));
    const port = await freePort();
    run(join(bin, 'initdb'), ['-D', dir, '-A', 'trust', '-U', 'confix', '--no-sync', '-E', 'UTF8']);
    run(join(bin, 'pg_ctl'), [
      '-D',
      dir,
      '-l',
      join(dir, 'server.log'),
      '-w',
      '-o',
      `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c max_connections=200`,
      'start',
    ]);
    stopPg = () => {
      try {
        run(join(bin, 'pg_ctl'), ['-D', dir, '-m', 'immediate', '-w', 'stop']);
      } catch {
        /* already stopped */
      }
      rmSync(dir, { recursive: true, force: true });
    };
    process.on('exit', stopPg);
    for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));
    run(join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'confix', 'confix_test']);
    env.CONFIX_TEST_DATABASE_URL = `postgres://confix@127.0.0.1:${port}/confix_test`;
    console.error(`test PostgreSQL server on 127.0.0.1:${port}`);
  }
}

// The CLI tests start the CLI hundreds of times: compiled, each start takes
// about half a second instead of two under tsx. Build dist/ (what `npm run
// build` makes of src/) and have the helpers run it.
try {
  execFileSync(process.execPath, [join('node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  env.CONFIX_TEST_CLI = 'dist';
} catch {
  console.error('warning: compiling dist/ failed; the CLI tests run the sources through tsx');
}

// Node 20's test runner takes no globs: list the test files ourselves.
const files = args.length
  ? args
  : readdirSync('test', { recursive: true })
      .filter((f) => f.endsWith('.test.ts'))
      .map((f) => join('test', f))
      .sort();
const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], { stdio: 'inherit', env });
child.on('exit', (code, signal) => {
  stopPg();
  process.exit(code ?? (signal ? 1 : 0));
});
