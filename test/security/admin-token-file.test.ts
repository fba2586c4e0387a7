// The bootstrap admin token file belongs to the store whose token it holds:
// named by the store's identity where a folder is shared, never overwritten
// by another store's; and the CLI finds the service (and that file) from any
// folder below the one it runs in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshDb } from '../helpers/db.js';
import { storeIdentity } from '../../src/store/index.js';
import { adminTokenFile, ensureBootstrapAdmin, storeTokenFile, TokenStore } from '../../src/security/tokens.js';
import { createLogger } from '../../src/util/log.js';
import { DEFAULT_URL, locateService, resolveService, resolveToken } from '../../src/cli/client.js';

const tmp = (p = 'confix-tokfile-') => realpathSync(mkdtempSync(join(tmpdir(), p)));

function capture() {
  const lines: string[] = [];
  return { lines, log: createLogger({ json: true, level: 'debug', write: (l) => lines.push(l) }) };
}

test('every store has an identity of its own, the same every time it is asked, even when copied from one template', async () => {
  const a = await freshDb();
  const b = await freshDb();
  try {
    const idA = await storeIdentity(a);
    assert.match(idA, /^[0-9a-f]{16}$/);
    assert.equal(await storeIdentity(a), idA);
    assert.notEqual(await storeIdentity(b), idA, 'two stores started from the same migrated template are two stores');
  } finally {
    await a.close();
    await b.close();
  }
});

test("the token file: admin.token in an embedded store's own directory, admin-<store id>.token for a server store", () => {
  const saved = process.env.CONFIX_ADMIN_TOKEN_FILE;
  delete process.env.CONFIX_ADMIN_TOKEN_FILE;
  try {
    assert.equal(adminTokenFile({ dataDir: '/d/.confix/', storeId: 'abc', embedded: true }), '/d/.confix/admin.token');
    assert.equal(adminTokenFile({ dataDir: '/d/.confix', storeId: 'abc', embedded: false }), '/d/.confix/admin-abc.token');
    assert.equal(adminTokenFile({ dataDir: '/d/.confix', storeId: 'abc', embedded: false, file: '/x/t' }), '/x/t');
    process.env.CONFIX_ADMIN_TOKEN_FILE = '/y/t';
    assert.equal(adminTokenFile({ dataDir: '/d/.confix', storeId: 'abc', embedded: false }), '/y/t');
  } finally {
    if (saved === undefined) delete process.env.CONFIX_ADMIN_TOKEN_FILE;
    else process.env.CONFIX_ADMIN_TOKEN_FILE = saved;
  }
});

test("a first start never overwrites a token file that exists: the new store's token goes to the file named by its identity", async () => {
  // Two stores told to use the same file (CONFIX_ADMIN_TOKEN_FILE shared, or an embedded store's
  // folder where an older confix had written a server store's token).
  const dir = tmp();
  const file = join(dir, 'admin.token');
  const first = await freshDb();
  const second = await freshDb();
  try {
    const t1 = new TokenStore(first);
    const one = capture();
    const idFirst = await storeIdentity(first);
    const made1 = await ensureBootstrapAdmin(t1, file, one.log, { storeId: idFirst });
    assert.deepEqual(made1, { created: true, file, found: true });
    const token1 = readFileSync(file, 'utf8');

    const t2 = new TokenStore(second);
    const idSecond = await storeIdentity(second);
    const two = capture();
    const made2 = await ensureBootstrapAdmin(t2, file, two.log, { storeId: idSecond });
    const own = join(dir, `admin-${idSecond}.token`);
    assert.deepEqual(made2, { created: true, file: own, found: true });
    assert.equal(readFileSync(file, 'utf8'), token1, "the first store's token file is untouched");
    assert.equal(statSync(own).mode & 0o777, 0o600);
    assert.ok((await t2.verify(readFileSync(own, 'utf8').trim())).ok, "the second store's token is in its own file");
    assert.ok(!(await t2.verify(token1.trim())).ok);
    assert.ok(
      two.lines.some((l) => l.includes(`${file} exists already and is not this store's`) && l.includes(own)),
      two.lines.join('\n'),
    );

    // Started again, each store finds its own file among them, and a use is not counted.
    assert.deepEqual(await ensureBootstrapAdmin(t1, file, capture().log, { storeId: idFirst }), { created: false, file, found: true });
    assert.deepEqual(await ensureBootstrapAdmin(t2, file, capture().log, { storeId: idSecond }), { created: false, file: own, found: true });
    assert.equal((await t1.list())[0]!.lastUsedAt, null);

    // A store whose file is gone says how to get admin access back.
    const lost = capture();
    const none = await ensureBootstrapAdmin(t1, join(tmp(), 'admin.token'), lost.log, {
      storeId: idFirst,
      recover: '`confix token create NAME --role admin --data D`',
    });
    assert.equal(none.found, false);
    assert.ok(
      lost.lines.some((l) => l.includes('no admin token file of this store') && l.includes('confix token create NAME --role admin --data D')),
      lost.lines.join('\n'),
    );
  } finally {
    await first.close();
    await second.close();
  }
});

test('a server store reads the admin.token an older confix wrote for it, and never writes there', async () => {
  const dir = tmp();
  const db = await freshDb();
  try {
    const tokens = new TokenStore(db);
    const id = await storeIdentity(db);
    const legacy = join(dir, 'admin.token');
    const { token } = await tokens.create({ name: 'admin', role: 'admin', createdBy: 'bootstrap' });
    writeFileSync(legacy, token + '\n', { mode: 0o600 });
    const found = await ensureBootstrapAdmin(tokens, storeTokenFile(legacy, id), capture().log, { storeId: id, earlier: [legacy] });
    assert.deepEqual(found, { created: false, file: legacy, found: true });
    assert.ok(!existsSync(storeTokenFile(legacy, id)));
  } finally {
    await db.close();
  }
});

test("the CLI looks for the service's note from the current folder up, as git looks for .git", () => {
  const saved = { data: process.env.CONFIX_DATA, url: process.env.CONFIX_URL, file: process.env.CONFIX_ADMIN_TOKEN_FILE };
  delete process.env.CONFIX_DATA;
  delete process.env.CONFIX_URL;
  delete process.env.CONFIX_ADMIN_TOKEN_FILE;
  try {
    const project = tmp('confix-project-');
    const deep = join(project, 'a', 'b', 'c');
    mkdirSync(deep, { recursive: true });
    const data = join(project, '.confix');
    mkdirSync(data);
    const tokenFile = join(data, 'admin-0123456789abcdef.token');
    writeFileSync(tokenFile, 'cfx_0123456789abcdef_' + 'x'.repeat(43) + '\n');
    writeFileSync(
      join(data, 'service.json'),
      JSON.stringify({ url: 'http://127.0.0.1:4567', pid: 1, store: 'postgres', storeId: '0123456789abcdef', tokenFile }),
    );

    const found = resolveService({}, deep);
    assert.equal(found.url, 'http://127.0.0.1:4567');
    assert.equal(found.location.dir, data);
    assert.match(found.from, new RegExp(`noted by the service \\(pid 1\\) in ${data}/service\\.json`));
    // The note names its store's token file: that one, not admin.token, goes to the noted service.
    writeFileSync(join(data, 'admin.token'), 'cfx_fedcba9876543210_' + 'y'.repeat(43) + '\n');
    const auth = resolveToken({}, found.url, found.location);
    assert.equal(auth.source, tokenFile);
    assert.match(auth.token!, /^cfx_0123456789abcdef_/);

    // A note saying the service has no token file here: no file is sent.
    writeFileSync(join(data, 'service.json'), JSON.stringify({ url: 'http://127.0.0.1:4567', pid: 1, tokenFile: null }));
    const without = resolveToken({}, 'http://127.0.0.1:4567', locateService({}, deep));
    assert.equal(without.token, undefined);
    assert.match(without.lookedIn, /has no admin token file on this machine/);

    // A nearer note wins; CONFIX_DATA names the folder outright.
    const near = join(project, 'a', '.confix');
    mkdirSync(near);
    writeFileSync(join(near, 'service.json'), JSON.stringify({ url: 'http://127.0.0.1:9999', pid: 2 }));
    assert.equal(resolveService({}, deep).url, 'http://127.0.0.1:9999');
    process.env.CONFIX_DATA = data;
    assert.equal(resolveService({}, deep).url, 'http://127.0.0.1:4567');
    delete process.env.CONFIX_DATA;

    // Nothing noted anywhere up: the default address, saying so.
    const lonely = tmp('confix-lonely-');
    const fallback = resolveService({}, lonely);
    assert.equal(fallback.url, DEFAULT_URL);
    assert.equal(fallback.from, `the default address: no confix service is noted in ${join(lonely, '.confix')} or its parents`);
    assert.equal(resolveService({ url: 'http://h:1/' }, lonely).url, 'http://h:1');
  } finally {
    for (const [k, v] of [
      ['CONFIX_DATA', saved.data],
      ['CONFIX_URL', saved.url],
      ['CONFIX_ADMIN_TOKEN_FILE', saved.file],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});
