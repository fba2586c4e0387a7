// Access control: every route of the OpenAPI document, walked with no token,
// bad, expired and revoked tokens, and each role, proves the matrix; the
// bootstrap admin token file; the audit log; no secret in any GET answer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { testService } from '../helpers/service.js';
import { createLogger } from '../../src/util/log.js';
import { accessFor, requiredRole } from '../../src/security/access.js';
import { ensureBootstrapAdmin, roleAtLeast, type Role } from '../../src/security/tokens.js';
import { CLI } from '../helpers/cli.js';

const run = promisify(execFile);

let svc: Awaited<ReturnType<typeof testService>>;
const logLines: string[] = [];
const tokens: Record<string, string> = {};
const routes: { method: string; path: string }[] = [];

/**
 * The matrix as the issue states it, written out independently of
 * src/security/access.ts: reads are viewer's (tokens and the audit log
 * admin's), these changes operator's, every other change admin's.
 */
const OPERATOR = new Set([
  'POST /discovery',
  'POST /evaluations',
  'POST /policy/plan',
  'POST /rules/{name}/remediation/executions',
  'POST /rules/{name}/remediation/pause',
  'POST /rules/{name}/remediation/resume',
  'POST /executions/{id}/approve',
  'POST /executions/{id}/reject',
  'POST /executions/{id}/rollback',
  'POST /rules/{name}/remediation/exceptions',
  'DELETE /rules/{name}/remediation/exceptions/{resourceId}',
  'POST /functions/{name}/invocations',
  'POST /invocations/{id}/cancel',
  'POST /deliveries/{id}/redeliver',
  'POST /deliveries/redeliver',
]);
function expected(method: string, path: string): Role | 'public' {
  if (method === 'GET' && (path === '/health' || path === '/openapi.json')) return 'public';
  if (method === 'GET') return path === '/tokens' || path === '/audit' ? 'admin' : 'viewer';
  return OPERATOR.has(`${method} ${path}`) ? 'operator' : 'admin';
}

/** The secret part of cfx_<16 hex>_<secret> (which may itself hold _). */
const secretOf = (token: string) => token.slice('cfx_0123456789abcdef_'.length);

const concrete = (path: string) => path.replace(/\{[^}]+\}/g, 'no-such-thing');

async function call(method: string, path: string, token: string | null, headers: Record<string, string> = {}) {
  return svc.api(concrete(path), {
    method,
    token,
    headers,
    ...(method === 'GET' || method === 'DELETE' ? {} : { body: '{}', headers: { 'content-type': 'application/json', ...headers } }),
  });
}

const refused = (r: { status: number; body: any }) =>
  (r.status === 401 && r.body?.error?.code === 'Unauthorized') || (r.status === 403 && r.body?.error?.code === 'Forbidden');

before(async () => {
  svc = await testService({ log: createLogger({ level: 'info', json: true, write: (l) => logLines.push(l) }) });
  tokens.admin = svc.token;
  for (const role of ['viewer', 'operator'] as const) tokens[role] = (await svc.tokens.create({ name: `t-${role}`, role, createdBy: 'test' })).token;
  tokens.expired = (await svc.tokens.create({ name: 't-expired', role: 'admin', createdBy: 'test' })).token;
  await svc.db.query(`UPDATE api_tokens SET expires_at = now() - interval '1 minute' WHERE name = 't-expired'`);
  tokens.revoked = (await svc.tokens.create({ name: 't-revoked', role: 'admin', createdBy: 'test' })).token;
  const rv = await svc.api('/tokens/t-revoked', { method: 'DELETE' });
  assert.equal(rv.status, 200, JSON.stringify(rv.body));
  const doc = await svc.api('/openapi.json', { token: null });
  assert.equal(doc.status, 200);
  for (const [path, ops] of Object.entries(doc.body.paths as Record<string, Record<string, unknown>>))
    for (const m of Object.keys(ops)) routes.push({ method: m.toUpperCase(), path });
  routes.push({ method: 'GET', path: '/openapi.json' });
  assert.ok(routes.length > 60, `the document lists the API's routes (${routes.length})`);
});
after(async () => {
  await svc?.close();
});

test('the access table agrees with the matrix for every route in the OpenAPI document', () => {
  for (const r of routes) assert.equal(requiredRole(r.method, r.path, false), expected(r.method, r.path), `${r.method} ${r.path}`);
  // A route nobody listed: reads viewer's, changes admin's.
  assert.equal(accessFor('GET', '/brand-new').role, 'viewer');
  for (const m of ['POST', 'PUT', 'DELETE', 'PATCH']) assert.equal(accessFor(m, '/brand-new').role, 'admin');
});

test('every route: 401 without a token and with a bad, malformed, expired or revoked one; public ones answer anyway', async () => {
  const bad = `cfx_${'0'.repeat(16)}_${randomBytes(32).toString('base64url')}`;
  for (const r of routes) {
    const need = expected(r.method, r.path);
    for (const [label, token] of [
      ['none', null],
      ['bad', bad],
      ['malformed', 'hello'],
      ['expired', tokens.expired!],
      ['revoked', tokens.revoked!],
    ] as const) {
      const res = await call(r.method, r.path, token);
      if (need === 'public') {
        assert.equal(res.status, 200, `${r.method} ${r.path} is public (${label})`);
        continue;
      }
      assert.equal(res.status, 401, `${r.method} ${r.path} with ${label} token: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'Unauthorized');
      assert.match(res.body.error.message, /admin\.token|confix token create/, 'says how to get a token');
      if (label === 'expired') assert.match(res.body.error.message, /expired/);
      if (label === 'revoked') assert.match(res.body.error.message, /revoked/);
    }
  }
});

test('every route with each role: refused (403 naming the role) below the least role, let through from it', async () => {
  for (const role of ['viewer', 'operator', 'admin'] as const) {
    for (const r of routes) {
      const need = expected(r.method, r.path);
      if (need === 'public') continue;
      const res = await call(r.method, r.path, tokens[role]!);
      if (roleAtLeast(role, need)) assert.ok(!refused(res), `${role} may ${r.method} ${r.path}: ${res.status} ${JSON.stringify(res.body)}`);
      else {
        assert.equal(res.status, 403, `${role} may not ${r.method} ${r.path}: ${res.status} ${JSON.stringify(res.body)}`);
        assert.equal(res.body.error.code, 'Forbidden');
        assert.ok(res.body.error.message.includes(`needs the ${need} role`), res.body.error.message);
      }
    }
  }
});

test("the sandbox cloud's signed API is an operator's; unsigned it acts as the owner, an admin's", async () => {
  const signed = { 'x-sandbox-access-key-id': 'LTAI5tNoSuchKey', 'x-sandbox-access-key-secret': 'nothing-at-all' };
  for (const path of ['/sandbox/actions/{action}', '/sandbox/sts/assume-role']) {
    assert.equal((await call('POST', path, tokens.viewer!, signed)).status, 403);
    const op = await call('POST', path, tokens.operator!, signed);
    assert.ok(!refused(op), JSON.stringify(op.body)); // the sandbox judges the credentials itself
    const unsigned = await call('POST', path, tokens.operator!);
    assert.equal(unsigned.status, 403);
    assert.match(unsigned.body.error.message, /needs the admin role/);
  }
});

test('the bootstrap admin token: a file only its owner reads, logged by where it is, never by its secret; not made again', async () => {
  const st = statSync(svc.adminTokenFile);
  assert.equal(st.mode & 0o777, 0o600);
  const secret = readFileSync(svc.adminTokenFile, 'utf8').trim();
  assert.match(secret, /^cfx_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
  const log = logLines.join('\n');
  assert.ok(
    logLines.some((l) => l.includes('created the admin API token') && l.includes(svc.adminTokenFile)),
    'the log says where',
  );
  assert.ok(!log.includes(secret) && !log.includes(secretOf(secret)), 'the log never holds the secret');
  const again = await ensureBootstrapAdmin(
    svc.tokens,
    join(mkdtempSync(join(tmpdir(), 'confix-tok-')), 'admin.token'),
    createLogger({ write: () => undefined }),
  );
  assert.equal(again.created, false, 'tokens exist: no second admin token');
});

test('tokens through the API: created once with the secret, listed without, expiring, revoked; the last admin stays', async () => {
  const created = await svc.api('/tokens', { json: { name: 'ci-reader', role: 'viewer', expiresIn: '30d' } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.match(created.body.token, /^cfx_/);
  assert.ok(Date.parse(created.body.expiresAt) - Date.now() > 29 * 86_400_000);
  assert.equal(created.body.createdBy, 'admin');
  assert.equal((await svc.api('/resources', { token: created.body.token })).status, 200);
  assert.equal((await svc.api('/tokens', { json: { name: 'ci-reader', role: 'viewer' } })).status, 409);
  const badRole = await svc.api('/tokens', { json: { name: 'x', role: 'root' } });
  assert.equal(badRole.status, 400);
  const past = await svc.api('/tokens', { json: { name: 'x', role: 'viewer', expiresAt: '2001-01-01' } });
  assert.equal(past.status, 400);
  assert.equal(past.body.error.issues[0].path, 'expiresAt');
  const self = await svc.api('/tokens/self', { token: created.body.token });
  assert.equal(self.status, 200);
  assert.deepEqual([self.body.name, self.body.role, self.body.state], ['ci-reader', 'viewer', 'active']);
  assert.equal(self.body.token, undefined);
  const list = await svc.api('/tokens');
  const mine = list.body.items.find((t: any) => t.name === 'ci-reader');
  assert.equal(mine.state, 'active');
  assert.ok(!JSON.stringify(list.body).includes(secretOf(created.body.token)));
  assert.equal(list.body.items.find((t: any) => t.name === 't-revoked').state, 'revoked');
  assert.equal((await svc.api('/tokens/ci-reader', { method: 'DELETE' })).body.state, 'revoked');
  assert.equal((await svc.api('/resources', { token: created.body.token })).status, 401);
  const last = await svc.api('/tokens/admin', { method: 'DELETE' });
  assert.equal(last.status, 409);
  assert.equal(last.body.error.code, 'LastAdminToken');
});

test('the audit log records who did what, every refusal, and not plain reads', async () => {
  const rule = (await svc.api('/rules')).body.items[0].name as string;
  const paused = await svc.api(`/rules/${encodeURIComponent(rule)}/remediation/pause`, { method: 'POST', token: tokens.operator! });
  assert.ok(paused.status < 300, JSON.stringify(paused.body));
  await svc.api(`/rules/${encodeURIComponent(rule)}/remediation/resume`, { method: 'POST', token: tokens.operator! });
  const denied = await svc.api(`/rules/${encodeURIComponent(rule)}`, { method: 'DELETE', token: tokens.viewer! });
  assert.equal(denied.status, 403);
  await svc.api('/resources', { token: tokens.operator! });

  const op = await svc.api('/audit?token=t-operator&limit=1000');
  assert.equal(op.status, 200);
  const pause = op.body.items.find((e: any) => e.route === '/rules/{name}/remediation/pause' && e.outcome === 'ok');
  assert.ok(pause, JSON.stringify(op.body.items.slice(0, 5)));
  assert.deepEqual(pause.target, { name: rule });
  assert.equal(pause.role, 'operator');
  assert.equal(pause.method, 'POST');
  assert.ok(pause.status < 300);
  assert.ok(!op.body.items.some((e: any) => e.method === 'GET' && e.status < 400), 'reads that went through are not audited');

  const v = (await svc.api('/audit?token=t-viewer&outcome=denied&limit=1000')).body.items;
  const del = v.find((e: any) => e.route === '/rules/{name}' && e.method === 'DELETE');
  assert.ok(del);
  assert.equal(del.status, 403);
  assert.equal(del.reason, 'needs admin');
  const anon = (await svc.api('/audit?outcome=denied&limit=1000')).body.items.filter((e: any) => e.tokenName === null);
  assert.ok(anon.some((e: any) => e.reason === 'no token'));
  assert.ok(anon.some((e: any) => e.reason === 'revoked'));
  const errors = (await svc.api('/audit?outcome=error&limit=1000')).body.items;
  assert.ok(
    errors.some((e: any) => e.tokenName === 'admin' && e.status >= 400 && typeof e.reason === 'string'),
    'failed changes are recorded with their error code',
  );
});

test('no GET answer holds a secret: token secrets, their hashes, stored credentials', async () => {
  const SECRET = `Cq${randomBytes(12).toString('hex')}Zz`;
  const put = await svc.api('/credentials', { json: { accountId: '100931896542', accessKeyId: 'LTAI5tAccessTestKey01', accessKeySecret: SECRET } });
  assert.equal(put.status < 300, true, JSON.stringify(put.body));
  const secrets = Object.values(tokens).flatMap((t) => {
    const s = secretOf(t);
    return [s, createHash('sha256').update(s).digest('hex')];
  });
  secrets.push(SECRET);
  const paths = routes.filter((r) => r.method === 'GET').map((r) => concrete(r.path));
  paths.push('/tokens?all=true', '/audit?limit=1000', '/credentials', '/accounts', '/subscriptions');
  for (const p of paths) {
    const res = await svc.api(p);
    const text = JSON.stringify(res.body);
    for (const s of secrets) assert.ok(!text.includes(s), `GET ${p} holds a secret`);
  }
});

test('the CLI finds the admin token next to the service note, says where it looked on a 401, and manages tokens', async () => {
  const cli = (args: string[], env: Record<string, string>) =>
    run(process.execPath, [...CLI, ...args], { env: { ...process.env, NO_COLOR: '1', CONFIX_URL: '', CONFIX_TOKEN: '', ...env } }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
  // CONFIX_DATA is the service's data directory: the note gives the URL and names the token file.
  const home = { CONFIX_DATA: dirname(svc.adminTokenFile) };
  const note = JSON.parse(readFileSync(join(home.CONFIX_DATA, 'service.json'), 'utf8'));
  assert.deepEqual(note, { url: svc.url, pid: process.pid, store: 'embedded', storeId: svc.storeId, tokenFile: svc.adminTokenFile });
  const created = await cli(['token', 'create', 'cli-op', '--role', 'operator', '--expires', '7d'], home);
  assert.equal(created.code, 0, created.stderr);
  const token = created.stdout.trim();
  assert.match(token, /^cfx_/);
  assert.match(created.stderr, /not shown again/);
  const list = await cli(['token', 'list'], home);
  assert.match(list.stdout, /cli-op\s+operator\s+active/);
  assert.ok(!list.stdout.includes(secretOf(token)));
  // The operator token may re-evaluate but not create tokens.
  const asOp = await cli(['--url', svc.url, 'token', 'create', 'nope', '--role', 'viewer'], { CONFIX_DATA: '/nonexistent', CONFIX_TOKEN: token });
  assert.equal(asOp.code, 1);
  assert.match(asOp.stderr, /needs the admin role; token "cli-op" has operator/);
  const audit = await cli(['get', 'audit', '--by', 'cli-op'], home);
  assert.match(audit.stdout, /cli-op\s+operator\s+POST\s+\/tokens\s+403\s+denied/);
  const revoked = await cli(['token', 'revoke', 'cli-op'], home);
  assert.match(revoked.stdout, /revoked token "cli-op"/);
  const none = await cli(['--url', svc.url, 'get', 'rules'], { CONFIX_DATA: mkdtempSync(join(tmpdir(), 'confix-empty-')) });
  assert.equal(none.code, 1);
  assert.match(none.stderr, /needs an API token.*looks in --token, CONFIX_TOKEN, then the admin token file .*admin\.token/);
  const gone = await cli(['--url', svc.url, 'get', 'rules'], { CONFIX_DATA: '/nonexistent', CONFIX_TOKEN: token });
  assert.match(gone.stderr, /refused the token from CONFIX_TOKEN: the bearer token has been revoked/);
});
