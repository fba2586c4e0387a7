// What a new user meets, with the real CLI and real `confix demo` / `confix
// serve` processes in a project folder: the demo says where it made the
// secret key and the admin token; the CLI finds the service from any folder
// below; a PostgreSQL service started in the same folder leaves the embedded
// store's admin token alone, so that the embedded one works again after it;
// and an admin who lost every admin token gets one back with direct access to
// the store, refused clearly while the service holds it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { postgresUrl } from '../helpers/db.js';
import { CLI, startServing } from '../helpers/cli.js';

const project = realpathSync(mkdtempSync(join(tmpdir(), 'confix-newuser-')));
const data = join(project, '.confix');
const deep = join(project, 'src', 'deeper');
mkdirSync(deep, { recursive: true });

/** The environment of a user with nothing of confix set. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...extra };
  for (const k of [
    'CONFIX_URL',
    'CONFIX_TOKEN',
    'CONFIX_DATA',
    'CONFIX_DATABASE_URL',
    'CONFIX_ADMIN_TOKEN_FILE',
    'CONFIX_SECRET_KEY',
    'CONFIX_SECRET_KEY_FILE',
    'CONFIX_DEBUG',
  ])
    if (!(k in extra)) delete env[k];
  return env;
}

/** `confix ARGS…` run in `cwd`, as a user in that folder runs it. */
function confix(cwd: string, args: string[], extra: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((ok, fail) => {
    const p = spawn(process.execPath, [...CLI, ...args], { cwd, env: userEnv(extra), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', fail);
    p.on('close', (code) => ok({ code: code ?? -1, stdout, stderr }));
  });
}

after(() => {
  rmSync(project, { recursive: true, force: true });
});

/** `confix serve|demo ARGS…` in the project folder, until it says where it listens. */
const start = (args: string[], extra: Record<string, string> = {}) => startServing(args, { cwd: project, env: userEnv(extra) });

const note = () =>
  JSON.parse(readFileSync(join(data, 'service.json'), 'utf8')) as { url: string; pid: number; store: string; storeId: string; tokenFile: string | null };
let embeddedToken = '';
let embeddedStoreId = '';

test('the demo says where it generated the secret key and wrote the admin token; the CLI finds both from a folder below', async () => {
  const demo = await start(['demo', '--no-drift']);
  try {
    embeddedToken = readFileSync(join(data, 'admin.token'), 'utf8');
    const out = demo.stdout();
    const keyFile = join(data, 'secret.key');
    assert.ok(out.includes(`secret key: generated ${keyFile} (mode 0600)`), out);
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    assert.ok(out.includes(`the admin token is in ${join(data, 'admin.token')}`), out);
    const n = note();
    assert.equal(n.url, demo.url);
    assert.equal(n.store, 'embedded');
    assert.equal(n.tokenFile, join(data, 'admin.token'));
    assert.match(n.storeId, /^[0-9a-f]{16}$/);
    embeddedStoreId = n.storeId;

    // From a folder two levels below, with nothing set: the note above, and the token it names.
    const list = await confix(deep, ['token', 'list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /admin\s+admin\s+active/);
    const debug = await confix(deep, ['get', 'accounts'], { CONFIX_DEBUG: '1' });
    assert.equal(debug.code, 0, debug.stderr);
    assert.ok(
      debug.stderr.includes(
        `the service at ${demo.url} (noted by the service (pid ${n.pid}) in ${join(data, 'service.json')}); token: ${join(data, 'admin.token')}`,
      ),
      debug.stderr,
    );
  } finally {
    await demo.stop();
  }
  assert.ok(!existsSync(join(data, 'service.json')), 'the note goes with the service');
});

test("a PostgreSQL service started in the same folder leaves the embedded store's token file alone; the embedded one works again after it", async (t) => {
  if (postgresUrl) {
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    await admin.query(`CREATE SCHEMA "${schema}"`);
    const url = new URL(postgresUrl);
    url.searchParams.set('options', `-c search_path=${schema}`);
    try {
      const server = await start(['serve', '--no-demo', '--database-url', url.toString()], { CONFIX_SECRET_KEY: randomBytes(32).toString('base64') });
      try {
        assert.equal(readFileSync(join(data, 'admin.token'), 'utf8'), embeddedToken, "the embedded store's admin token file is untouched");
        const n = note();
        assert.equal(n.store, 'postgres');
        assert.notEqual(n.storeId, embeddedStoreId);
        const own = join(data, `admin-${n.storeId}.token`);
        assert.equal(n.tokenFile, own);
        assert.ok(server.stdout().includes(`the admin token is in ${own}`), server.stdout());
        assert.equal(statSync(own).mode & 0o777, 0o600);
        assert.doesNotMatch(server.stdout(), /secret key: generated/);

        const made = await confix(deep, ['token', 'create', 'only-on-postgres', '--role', 'viewer']);
        assert.equal(made.code, 0, made.stderr);
        // Admin access to the server store with direct access to its database (the service may run).
        const rescue = await confix(project, ['token', 'create', 'rescue-pg', '--role', 'admin', '--database-url', url.toString()]);
        assert.equal(rescue.code, 0, rescue.stderr);
        assert.match(rescue.stderr, /created token "rescue-pg" \(admin, never expires\) directly in the PostgreSQL database/);
        const asRescue = await confix(deep, ['token', 'list'], { CONFIX_TOKEN: rescue.stdout.trim() });
        assert.equal(asRescue.code, 0, asRescue.stderr);
        assert.match(asRescue.stdout, /rescue-pg\s+admin\s+active\s+\S+ \S+\s+direct:/);
        assert.match(asRescue.stdout, /only-on-postgres/);
      } finally {
        await server.stop();
      }
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await admin.end();
    }
  } else t.diagnostic('no PostgreSQL server (CONFIX_TEST_DATABASE_URL): only the embedded store is started again');

  const again = await start(['serve', '--no-demo']);
  try {
    assert.doesNotMatch(again.stdout(), /secret key: generated/, 'the key is generated, and said, once');
    assert.equal(readFileSync(join(data, 'admin.token'), 'utf8'), embeddedToken);
    assert.equal(note().tokenFile, join(data, 'admin.token'));
    const list = await confix(deep, ['token', 'list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /admin\s+admin\s+active/);
    assert.doesNotMatch(list.stdout, /only-on-postgres/);

    // While the service holds the embedded store, direct access is refused, saying why and what to do.
    const refused = await confix(project, ['token', 'create', 'rescue', '--role', 'admin', '--data', data]);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      new RegExp(
        `^confix: a running confix process \\(pid ${note().pid}\\), most likely its service, holds the embedded store in ${data}, and only one process can open an embedded store at a time \\(PGlite is single-process\\)\\. Stop it .* and run this again; or, while it runs, create the token through it with an admin token: \`confix token create rescue --role admin\` without --data\\n$`,
      ),
    );
    assert.equal(refused.stdout, '');
  } finally {
    await again.stop();
  }
});

test('every admin token lost: with the service stopped, `confix token create --data` makes one that works', async () => {
  rmSync(join(data, 'admin.token')); // lost
  const rescue = await confix(project, ['token', 'create', 'rescue', '--role', 'admin', '--data', data]);
  assert.equal(rescue.code, 0, rescue.stderr);
  const token = rescue.stdout.trim();
  assert.match(token, /^cfx_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
  assert.match(rescue.stderr, new RegExp(`created token "rescue" \\(admin, never expires\\) directly in the embedded store in ${data}; it is not shown again`));
  assert.ok(!existsSync(join(data, 'service.lock')), 'the lock is let go');
  const nowhere = await confix(project, ['token', 'create', 'x', '--role', 'admin', '--data', join(project, 'nothing')]);
  assert.equal(nowhere.code, 1);
  assert.match(nowhere.stderr, /there is no confix store in .*nothing \(no .*pgdata\): give the data directory the service runs with/);
  assert.ok(!existsSync(join(project, 'nothing')), 'nothing was created');

  const svc = await start(['serve', '--no-demo']);
  try {
    assert.match(svc.stdout(), /API token: give the CLI one with CONFIX_TOKEN .*confix token create NAME --role admin --data/);
    assert.equal(note().tokenFile, null);
    const without = await confix(deep, ['token', 'list']);
    assert.equal(without.code, 1);
    assert.match(without.stderr, /needs an API token/);
    const list = await confix(deep, ['token', 'list'], { CONFIX_TOKEN: token });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /rescue\s+admin\s+active\s+\S+ \S+\s+direct:/);
    const audit = await confix(deep, ['get', 'audit'], { CONFIX_TOKEN: token });
    assert.match(audit.stdout, /\(none\)\s+DIRECT\s+confix token create --data\s+name=rescue\s+201\s+ok/);
  } finally {
    await svc.stop();
  }
});

test('nothing noted in the folder or its parents and nothing at the default address: the error says so', async (t) => {
  const busy = await new Promise<boolean>((ok) => {
    const s = createConnection({ host: '127.0.0.1', port: 8080 });
    s.once('connect', () => {
      s.destroy();
      ok(true);
    });
    s.once('error', () => ok(false));
  });
  if (busy) return t.skip('something listens on 127.0.0.1:8080 on this machine');
  const lonely = realpathSync(mkdtempSync(join(tmpdir(), 'confix-lonely-')));
  const r = await confix(lonely, ['get', 'resources']);
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    `confix: cannot reach the confix service at http://127.0.0.1:8080 (ECONNREFUSED), the default address: no confix service is noted in ${join(lonely, '.confix')} or its parents: start it with \`confix serve\`, or point --url / CONFIX_URL at it\n`,
  );
});
