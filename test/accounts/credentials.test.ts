// The engine's credentials: sealed at rest, never shown again — not by the
// store, the API, the CLI, an error message or a log line.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backends, freshDb } from '../helpers/db.js';
import { CredentialStore, CredentialValidationError } from '../../src/accounts/credentials.js';
import { MISSING_SERVER_KEY, SecretBox, SecretKeyError } from '../../src/security/secret-box.js';
import { startService, type Service } from '../../src/service.js';
import { createLogger } from '../../src/util/log.js';
import type { Db } from '../../src/store/index.js';
import { CLI } from '../helpers/cli.js';

const ACCOUNT = '100931896542';
const KEY_ID = 'LTAI5tConfixTestKey001';
/** A secret no other test uses: anything that shows it anywhere is a leak. */
const SECRET = `Sx9${randomBytes(12).toString('hex')}Zq`;
const SECRET2 = `Tq7${randomBytes(12).toString('hex')}Wv`;
const tmp = () => mkdtempSync(join(tmpdir(), 'confix-cred-'));

for (const backend of backends) {
  describe(`credential store (${backend})`, () => {
    let db: Db;
    before(async () => {
      db = await freshDb(backend);
    });
    after(async () => {
      await db.close();
    });

    test('put, list, secretFor, replace and remove; the row holds no secret in clear', async () => {
      const box = SecretBox.ephemeral();
      const store = new CredentialStore(db, box);
      const put = await store.put(ACCOUNT, { accessKeyId: KEY_ID, accessKeySecret: SECRET, description: 'read-only auditor' });
      assert.equal(put.replaced, false);
      assert.deepEqual(Object.keys(put).sort(), ['accessKeyId', 'accountId', 'createdAt', 'description', 'replaced', 'updatedAt']);
      assert.deepEqual(
        (await store.list()).map((c) => [c.accountId, c.accessKeyId, c.description]),
        [[ACCOUNT, KEY_ID, 'read-only auditor']],
      );
      assert.ok(!JSON.stringify(await store.list()).includes(SECRET));
      assert.deepEqual(await store.secretFor(ACCOUNT), { accessKeyId: KEY_ID, accessKeySecret: SECRET });
      assert.equal(await store.secretFor('nobody'), undefined);

      const rows = await db.query<Record<string, unknown>>('SELECT * FROM account_credentials');
      assert.equal(rows.length, 1);
      const text = JSON.stringify(rows);
      assert.ok(!text.includes(SECRET), 'the secret is not stored in clear');
      assert.ok(!text.includes(Buffer.from(SECRET).toString('base64')), 'nor merely encoded');
      assert.match(String(rows[0]!.secret_sealed), /^v1:/);
      assert.equal(rows[0]!.access_key_id, KEY_ID);

      const again = await store.put(ACCOUNT, { accessKeyId: 'LTAI5tConfixTestKey002', accessKeySecret: SECRET2 });
      assert.equal(again.replaced, true);
      assert.equal(again.description, null);
      assert.equal(again.createdAt, put.createdAt);
      assert.deepEqual(await store.secretFor(ACCOUNT), { accessKeyId: 'LTAI5tConfixTestKey002', accessKeySecret: SECRET2 });

      // Another key does not open it, and says so.
      await assert.rejects(new CredentialStore(db, SecretBox.ephemeral()).secretFor(ACCOUNT), (err: Error) => {
        assert.ok(err instanceof SecretKeyError);
        assert.equal(err.message, 'the secret key does not open the stored credentials; was CONFIX_SECRET_KEY changed?');
        return true;
      });
      // A sealed secret copied to another account's row does not open there.
      await db.query(
        `INSERT INTO account_credentials (account_id, access_key_id, secret_sealed) SELECT 'other', access_key_id, secret_sealed FROM account_credentials WHERE account_id = $1`,
        [ACCOUNT],
      );
      await assert.rejects(store.secretFor('other'), /integrity check/);

      assert.equal(await store.remove('other'), true);
      assert.equal(await store.remove(ACCOUNT), true);
      assert.equal(await store.remove(ACCOUNT), false);
      assert.deepEqual(await store.list(), []);
    });

    test('bad key ids and secrets are refused clearly, without repeating the secret', async () => {
      const store = new CredentialStore(db, SecretBox.ephemeral());
      const cases: [string, Parameters<CredentialStore['put']>[1], RegExp, string?][] = [
        [ACCOUNT, { accessKeyId: '', accessKeySecret: SECRET }, /accessKeyId is required/],
        [ACCOUNT, { accessKeyId: 'AK', accessKeySecret: SECRET }, /accessKeyId must be 8 to 128 characters/],
        [ACCOUNT, { accessKeyId: 'LTAI5t with space', accessKeySecret: SECRET }, /accessKeyId must be printable characters without spaces/],
        [ACCOUNT, { accessKeyId: KEY_ID, accessKeySecret: '' }, /accessKeySecret is required/],
        [ACCOUNT, { accessKeyId: KEY_ID, accessKeySecret: 'short' }, /accessKeySecret must be 8 to 1024 characters/, 'short'],
        [ACCOUNT, { accessKeyId: KEY_ID, accessKeySecret: `${SECRET} ` }, /without spaces/, SECRET],
        [ACCOUNT, { accessKeyId: KEY_ID, accessKeySecret: `${SECRET}\n${SECRET}` }, /without spaces/, SECRET],
        [ACCOUNT, { accessKeyId: KEY_ID, accessKeySecret: SECRET.repeat(100) }, /8 to 1024 characters/, SECRET],
        [ACCOUNT, { accessKeyId: SECRET, accessKeySecret: SECRET }, /the same as accessKeyId/, SECRET],
        ['', { accessKeyId: KEY_ID, accessKeySecret: SECRET }, /accountId is required/, SECRET],
        ['a b', { accessKeyId: KEY_ID, accessKeySecret: SECRET }, /accountId must be printable/, SECRET],
      ];
      for (const [account, input, message, secret] of cases) {
        await assert.rejects(store.put(account, input), (err: Error) => {
          assert.ok(err instanceof CredentialValidationError, String(err));
          assert.match(err.message, message);
          if (secret) assert.ok(!err.message.includes(secret), `"${err.message}" repeats the secret`);
          return true;
        });
      }
      assert.deepEqual(await store.list(), []);
    });
  });
}

test('the log writes fields named like secrets as [redacted], at any depth', () => {
  const lines: string[] = [];
  for (const json of [true, false]) {
    const log = createLogger({ level: 'debug', json, write: (l) => lines.push(l), base: { component: 'x' } }).child({ apiToken: SECRET });
    log.info('calling', {
      accessKeySecret: SECRET,
      nested: { password: SECRET, list: [{ sessionToken: SECRET, keep: 'visible-1' }], Authorization: `Bearer ${SECRET}` },
      credentials: { accessKeyId: KEY_ID, accessKeySecret: SECRET },
      accessKeyId: KEY_ID,
      when: new Date(0),
    });
  }
  const all = lines.join('\n');
  assert.ok(!all.includes(SECRET), all);
  assert.match(all, /visible-1/);
  assert.match(all, new RegExp(KEY_ID));
  assert.match(all, /1970-01-01T00:00:00.000Z/);
  const rec = JSON.parse(lines[0]!);
  assert.equal(rec.accessKeySecret, '[redacted]');
  assert.equal(rec.apiToken, '[redacted]');
  assert.equal(rec.nested.password, '[redacted]');
  assert.equal(rec.nested.list[0].sessionToken, '[redacted]');
  assert.equal(rec.nested.Authorization, '[redacted]');
  assert.equal(rec.credentials, '[redacted]');
  // A cycle does not hang the logger.
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  createLogger({ json: true, write: (l) => lines.push(l) }).info('cyclic', { cyclic });
  assert.match(lines.at(-1)!, /\[circular\]/);
});

describe('credentials through the API and the CLI', () => {
  let svc: Service;
  let db: Db;
  let dataDir: string;
  const logLines: string[] = [];
  const bodies: string[] = [];
  const cliOutput: string[] = [];
  const adminToken = () => readFileSync(svc.adminTokenFile, 'utf8').trim();

  async function api(path: string, init: { method?: string; json?: unknown; body?: string; contentType?: string } = {}) {
    const res = await fetch(`${svc.url}/api/v1${path}`, {
      method: init.method ?? (init.json !== undefined || init.body !== undefined ? 'POST' : 'GET'),
      headers: {
        authorization: `Bearer ${adminToken()}`,
        ...(init.json !== undefined || init.body !== undefined ? { 'content-type': init.contentType ?? 'application/json' } : {}),
      },
      body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
    });
    const text = await res.text();
    bodies.push(text);
    return { status: res.status, body: text ? JSON.parse(text) : undefined, text };
  }

  /** The real CLI against the service, with what it is given on standard input. */
  function confix(args: string[], opts: { stdin?: string; env?: Record<string, string> } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((ok, fail) => {
      const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', CONFIX_URL: '', CONFIX_TOKEN: adminToken(), ...opts.env };
      if (!opts.env?.CONFIX_ACCESS_KEY_SECRET) delete env.CONFIX_ACCESS_KEY_SECRET;
      const child = spawn(process.execPath, [...CLI, '--url', svc.url, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', fail);
      child.on('close', (code) => {
        cliOutput.push(stdout, stderr);
        ok({ code: code ?? 1, stdout, stderr });
      });
      child.stdin.end(opts.stdin ?? '');
    });
  }

  before(async () => {
    db = await freshDb();
    dataDir = tmp();
    svc = await startService({
      db,
      port: 0,
      demo: false,
      discoveryIntervalMs: 0,
      dataDir,
      log: createLogger({ level: 'debug', json: true, write: (line) => logLines.push(line) }),
    });
  });
  after(async () => {
    await svc.close();
    await db.close();
  });

  test('the service generated its key in the data directory, said where, and never logged it', () => {
    const key = readFileSync(join(dataDir, 'secret.key'), 'utf8').trim();
    assert.equal(Buffer.from(key, 'base64').length, 32);
    const line = logLines.find((l) => l.includes('stored credentials are sealed with a new key generated in'));
    assert.ok(line, logLines.slice(0, 5).join('\n'));
    assert.ok(line.includes(join(dataDir, 'secret.key')));
    assert.ok(!logLines.join('\n').includes(key), 'the key is never logged');
  });

  test('API: add, list, replace and delete; the OpenAPI schema marks the secret write-only', async () => {
    const add = await api('/credentials', { json: { accountId: ACCOUNT, accessKeyId: KEY_ID, accessKeySecret: SECRET, description: 'auditor' } });
    assert.equal(add.status, 201, add.text);
    assert.deepEqual(Object.keys(add.body).sort(), ['accessKeyId', 'accountId', 'createdAt', 'description', 'updatedAt', 'warning']);
    // A key the cloud does not know is stored, but said at once (every call made with it would fail).
    assert.match(add.body.warning, /^the sandbox cloud does not accept this key \(InvalidAccessKeyId\.NotFound: /);
    assert.equal(add.body.accessKeyId, KEY_ID);
    const list = await api('/credentials');
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.items.map((c: { accountId: string; accessKeyId: string }) => [c.accountId, c.accessKeyId]),
      [[ACCOUNT, KEY_ID]],
    );
    const replace = await api('/credentials', { json: { accountId: ACCOUNT, accessKeyId: KEY_ID, accessKeySecret: SECRET2 } });
    assert.equal(replace.status, 200, replace.text);
    assert.deepEqual(await svc.credentials.secretFor(ACCOUNT), { accessKeyId: KEY_ID, accessKeySecret: SECRET2 });

    const doc = await api('/openapi.json');
    const input = doc.body.components.schemas.CredentialInput;
    assert.equal(input.properties.accessKeySecret.writeOnly, true);
    assert.deepEqual(input.required.sort(), ['accessKeyId', 'accessKeySecret', 'accountId']);
    assert.equal(doc.body.components.schemas.Credential.properties.accessKeySecret, undefined);
    for (const p of ['/credentials', '/credentials/{accountId}']) assert.ok(doc.body.paths[p], p);

    const del = await api(`/credentials/${ACCOUNT}`, { method: 'DELETE' });
    assert.equal(del.status, 200, del.text);
    const gone = await api(`/credentials/${ACCOUNT}`, { method: 'DELETE' });
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error.code, 'CredentialNotFound');
    assert.deepEqual((await api('/credentials')).body.items, []);
  });

  test('API: validation errors on the secret field name the field and never echo the value', async () => {
    const bad: [unknown, RegExp][] = [
      [{ accountId: ACCOUNT, accessKeyId: KEY_ID, accessKeySecret: `${SECRET} ${SECRET}` }, /^accessKeySecret must be printable characters without spaces/],
      [{ accountId: ACCOUNT, accessKeyId: KEY_ID, accessKeySecret: `\t${SECRET}` }, /^accessKeySecret must be printable/],
      [{ accountId: ACCOUNT, accessKeyId: KEY_ID, accessKeySecret: SECRET.repeat(200) }, /^accessKeySecret must be 8 to 1024 characters/],
      [{ accountId: ACCOUNT, accessKeyId: SECRET, accessKeySecret: SECRET }, /^accessKeySecret is the same as accessKeyId/],
      [{ accountId: ACCOUNT, accessKeyId: KEY_ID, accessKeySecret: { value: SECRET } }, /^accessKeySecret: required, as a string/],
      [{ accountId: ACCOUNT, accessKeyId: KEY_ID, accessKeySecret: [SECRET] }, /^accessKeySecret: required, as a string/],
      [{ accountId: ACCOUNT, accessKeyId: KEY_ID }, /^accessKeySecret: required, as a string/],
      [{ accountId: ACCOUNT, accessKeyId: 'x'.repeat(500), accessKeySecret: SECRET }, /^accessKeyId:/],
      [{ accountId: ACCOUNT, accessKeyId: KEY_ID, accessKeySecret: SECRET, description: 7 }, /^description:/],
      [{ accountId: 42, accessKeyId: KEY_ID, accessKeySecret: SECRET }, /^accountId:/],
    ];
    for (const [body, message] of bad) {
      const res = await api('/credentials', { json: body });
      assert.equal(res.status, 400, res.text);
      assert.match(res.body.error.message, message);
      assert.ok(!res.text.includes(SECRET), res.text);
    }
    // Malformed JSON, and a body that is not JSON at all.
    const malformed = await api('/credentials', { body: `{"accountId":"${ACCOUNT}","accessKeyId":"${KEY_ID}","accessKeySecret":"${SECRET}"` });
    assert.equal(malformed.status, 400);
    const form = await api('/credentials', { body: `accessKeySecret=${SECRET}`, contentType: 'application/x-www-form-urlencoded' });
    assert.ok(form.status === 400 || form.status === 415, form.text);
    assert.deepEqual((await api('/credentials')).body.items, []);
  });

  test('CLI: add with --secret-stdin, --secret-file or CONFIX_ACCESS_KEY_SECRET; list shows the key id, never the secret; remove', async () => {
    const add = await confix(['credentials', 'add', '--account', ACCOUNT, '--access-key-id', KEY_ID, '--secret-stdin', '--description', 'from stdin'], {
      stdin: SECRET + '\n',
    });
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, new RegExp(`stored access key ${KEY_ID} for account ${ACCOUNT}`));
    assert.deepEqual(await svc.credentials.secretFor(ACCOUNT), { accessKeyId: KEY_ID, accessKeySecret: SECRET }, 'the line end is not part of the secret');

    const f = join(tmp(), 'secret');
    writeFileSync(f, SECRET2 + '\r\n', { mode: 0o600 });
    const fromFile = await confix(['credentials', 'add', '--account', '139876543210', '--access-key-id', 'AKIAIOSFODNN7EXAMPLE', '--secret-file', f]);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.equal((await svc.credentials.secretFor('139876543210'))?.accessKeySecret, SECRET2);
    const fromEnv = await confix(['credentials', 'add', '--account', '222233334444', '--access-key-id', 'AKIAIOSFODNN7EXAMPL2', '--json'], {
      env: { CONFIX_ACCESS_KEY_SECRET: SECRET },
    });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    assert.equal(JSON.parse(fromEnv.stdout).accountId, '222233334444');
    assert.equal((await svc.credentials.secretFor('222233334444'))?.accessKeySecret, SECRET);

    const list = await confix(['credentials', 'list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /ACCOUNT\s+ACCESS KEY ID\s+DESCRIPTION\s+UPDATED/);
    assert.match(list.stdout, new RegExp(`${ACCOUNT}\\s+${KEY_ID}\\s+from stdin`));
    assert.match(list.stdout, /AKIAIOSFODNN7EXAMPLE/);
    const json = await confix(['credentials', 'list', '--json']);
    assert.deepEqual(
      JSON.parse(json.stdout).map((c: { accountId: string }) => c.accountId),
      ['100931896542', '139876543210', '222233334444'],
    );

    const rm = await confix(['credentials', 'remove', '--account', '222233334444']);
    assert.equal(rm.code, 0, rm.stderr);
    assert.match(rm.stdout, /removed the access key of account 222233334444/);
    const rm2 = await confix(['credentials', 'remove', '--account', '222233334444']);
    assert.equal(rm2.code, 1);
    assert.equal(rm2.stderr.trim(), 'confix: no credentials are stored for account 222233334444');
  });

  test('CLI: a secret given as an argument is refused, saying why; bad secrets are refused without echo', async () => {
    for (const args of [['--secret', SECRET], [`--secret=${SECRET}`], ['--access-key-secret', SECRET], [SECRET], ['--secret-stdin', SECRET]]) {
      const r = await confix(['credentials', 'add', '--account', '333344445555', '--access-key-id', KEY_ID, ...args], { stdin: SECRET });
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /refusing a secret given on the command line: it would be kept in your shell history/);
      assert.ok(!r.stderr.includes(SECRET) && !r.stdout.includes(SECRET));
    }
    const none = await confix(['credentials', 'add', '--account', '333344445555', '--access-key-id', KEY_ID]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no secret given: use --secret-stdin, --secret-file FILE, or set CONFIX_ACCESS_KEY_SECRET/);
    const spaced = await confix(['credentials', 'add', '--account', '333344445555', '--access-key-id', KEY_ID, '--secret-stdin'], {
      stdin: `${SECRET} oops\n`,
    });
    assert.equal(spaced.code, 1);
    assert.match(spaced.stderr, /accessKeySecret must be printable characters without spaces/);
    const missingFile = await confix(['credentials', 'add', '--account', '333344445555', '--access-key-id', KEY_ID, '--secret-file', SECRET]);
    assert.equal(missingFile.code, 1);
    assert.match(missingFile.stderr, /cannot read the file given with --secret-file \(no such file\)/);
    assert.equal(await svc.credentials.get('333344445555'), undefined);

    for (const args of [
      ['credentials', '--help'],
      ['credentials', 'add', '--help'],
      ['credentials', 'list', '--help'],
      ['credentials', 'remove', '--help'],
    ]) {
      const h = await confix(args);
      assert.equal(h.code, 0, h.stderr);
      assert.match(h.stdout, /Usage: confix credentials/);
    }
    const help = await confix(['credentials', 'add', '--help']);
    assert.match(help.stdout, /--secret-stdin/);
    assert.match(help.stdout, /shell\s+history/);
    assert.doesNotMatch(help.stdout, /--secret <value>/);
  });

  test('nothing the API answered, the CLI printed or the service logged contains a secret', () => {
    assert.ok(bodies.length >= 15 && logLines.length >= 5, `${bodies.length} bodies, ${logLines.length} log lines`);
    assert.ok(
      logLines.some((l) => l.includes('credential stored')),
      'the service logged credential changes',
    );
    for (const [what, texts] of [
      ['response bodies', bodies],
      ['log lines', logLines],
      ['CLI output', cliOutput],
    ] as const) {
      for (const secret of [SECRET, SECRET2]) {
        const hit = texts.find((t) => t.includes(secret));
        assert.equal(hit, undefined, `a secret is in the ${what}: ${hit?.slice(0, 300)}`);
      }
    }
  });
});

test('on a PostgreSQL database the service and the worker refuse to start without a key given', async () => {
  const saved = { key: process.env.CONFIX_SECRET_KEY, file: process.env.CONFIX_SECRET_KEY_FILE };
  delete process.env.CONFIX_SECRET_KEY;
  delete process.env.CONFIX_SECRET_KEY_FILE;
  try {
    const dataDir = tmp();
    await assert.rejects(
      startService({ databaseUrl: 'postgres://confix@127.0.0.1:1/nothing', dataDir, port: 0, log: createLogger({ write: () => undefined }) }),
      (err: Error) => {
        assert.equal(err.message, MISSING_SERVER_KEY);
        assert.match(err.message, /^no secret key for the stored credentials: on a PostgreSQL database set CONFIX_SECRET_KEY or CONFIX_SECRET_KEY_FILE\. /);
        assert.match(err.message, /strand the credentials/);
        return true;
      },
    );
    assert.throws(() => readFileSync(join(dataDir, 'secret.key')), /ENOENT/, 'no key was generated for a shared database');
  } finally {
    if (saved.key !== undefined) process.env.CONFIX_SECRET_KEY = saved.key;
    if (saved.file !== undefined) process.env.CONFIX_SECRET_KEY_FILE = saved.file;
  }
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.CONFIX_SECRET_KEY;
  delete env.CONFIX_SECRET_KEY_FILE;
  const worker = await new Promise<{ code: number | null; stderr: string }>((ok) => {
    const child = spawn(process.execPath, [...CLI, 'worker', '--database-url', 'postgres://confix@127.0.0.1:1/nothing'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => ok({ code, stderr }));
  });
  assert.equal(worker.code, 1);
  assert.match(worker.stderr, /^confix: no secret key for the stored credentials: on a PostgreSQL database set CONFIX_SECRET_KEY/);
});

test('`confix serve --database-url` without a key says exactly what to do, and touches nothing', async () => {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.CONFIX_SECRET_KEY;
  delete env.CONFIX_SECRET_KEY_FILE;
  const dataDir = tmp();
  const serve = await new Promise<{ code: number | null; stdout: string; stderr: string }>((ok) => {
    const child = spawn(process.execPath, [...CLI, 'serve', '--port', '0', '--data', dataDir, '--database-url', 'postgres://confix@127.0.0.1:1/nothing'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => ok({ code, stdout, stderr }));
  });
  assert.equal(serve.code, 1);
  assert.equal(serve.stderr, `confix: ${MISSING_SERVER_KEY}\n`, 'one line, before the database is even tried');
  // What to run, both ways, word for word.
  assert.ok(serve.stderr.includes('Make a key once with `openssl rand -base64 32`'), serve.stderr);
  assert.ok(serve.stderr.includes('as CONFIX_SECRET_KEY=<the key>'), serve.stderr);
  assert.ok(
    serve.stderr.includes('`(umask 077; openssl rand -base64 32 > confix-secret.key)`, then CONFIX_SECRET_KEY_FILE=$PWD/confix-secret.key'),
    serve.stderr,
  );
  assert.ok(serve.stderr.includes('the same one to the service and every worker'), serve.stderr);
  assert.deepEqual(readdirSync(dataDir), [], 'no key, no token, no note was written');
});
