// Unbounded input and storage: what a request may make the service store is
// bounded. Unauthenticated floods write a bounded audit log; over-long fields
// are refused with a 400 naming the field; over-large bodies with a 413
// naming the limit; large legitimate bodies still go through; a 401 names no
// file of the service's machine.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { testService } from '../helpers/service.js';
import { AUDIT_LIMITS } from '../../src/security/audit.js';
import { LIMITS } from '../../src/api/limits.js';

let svc: Awaited<ReturnType<typeof testService>>;
let rule: string;

before(async () => {
  svc = await testService();
  rule = (await svc.api('/rules')).body.items[0].name as string;
});
after(async () => {
  await svc?.close();
});

const maxId = async () => Number((await svc.db.query<{ id: string | null }>('SELECT max(id) AS id FROM audit_log'))[0]?.id ?? 0);

test('1,000 unauthenticated requests with 15 KB paths write a bounded number of bounded audit rows', async () => {
  await svc.audit.flush();
  const from = await maxId();
  const long = 'a'.repeat(15 * 1024);
  const started = Date.now();
  let next = 0;
  const statuses = new Map<number, number>();
  const bad = `cfx_${'0'.repeat(16)}_${'x'.repeat(43)}`;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (next < 1000) {
        const i = next++;
        // Half to a route (the long part is a path parameter), half to no route (the path is the route).
        const res = await fetch(`${svc.url}/api/v1${i % 2 ? `/rules/${long}${i}` : `/${long}${i}`}`, {
          method: i % 2 ? 'DELETE' : 'GET',
          headers: i % 3 === 0 ? { authorization: `Bearer ${bad}` } : {},
        });
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    }),
  );
  const ms = Date.now() - started;
  assert.deepEqual([...statuses], [[401, 1000]]);
  await svc.audit.flush(); // what the window's timer writes at its end
  const [agg] = await svc.db.query<{ rows: number; bytes: number; longest: number }>(
    `SELECT count(*)::int AS rows, coalesce(sum(pg_column_size(a.*)), 0)::int AS bytes,
            coalesce(max(length(route) + length(target::text) + coalesce(length(reason), 0)), 0)::int AS longest
       FROM audit_log a WHERE id > $1`,
    [from],
  );
  assert.ok(agg);
  console.log(
    `# 1000 unauthenticated 15 KB-path requests in ${ms} ms: ${agg.rows} audit rows, ${agg.bytes} bytes stored, longest row ${agg.longest} characters`,
  );
  assert.ok(agg.rows <= AUDIT_LIMITS.unauthenticatedPerWindow * 2 + 2, `${agg.rows} rows`);
  assert.ok(agg.longest < 2 * AUDIT_LIMITS.fieldChars, `longest row ${agg.longest} characters`);
  assert.ok(agg.bytes < 100_000, `${agg.bytes} bytes for 1000 refusals (unbounded: over 15 MB)`);
  const rows = await svc.db.query<{ route: string; reason: string; target: Record<string, string> }>(
    `SELECT route, reason, target FROM audit_log WHERE id > $1 ORDER BY id`,
    [from],
  );
  assert.ok(
    rows.some((r) => /^\/a{511}… \(153\d\d characters\)$/.test(r.route)),
    'a path no route has: the path, cut, with its length',
  );
  assert.ok(
    rows.some((r) => r.route === '/rules/{name}' && /^a{512}… \(153\d\d characters\)$/.test(r.target.name!)),
    'a path parameter, cut, with its length',
  );
  const summaries = rows.filter((r) => r.route === '*');
  assert.ok(summaries.length >= 1);
  const counted = summaries.reduce((n, r) => n + Number(r.target.suppressed), 0);
  assert.equal(rows.length - summaries.length + counted, 1000, 'every refusal is written or counted');
  assert.match(summaries.at(-1)!.reason, /^\d+ more unauthenticated refusals suppressed \((no token|unknown): \d+, (no token|unknown): \d+\)$/);
});

test('a token’s refusals (403) and changes are still each written', async () => {
  const viewer = (await svc.tokens.create({ name: 'lim-viewer', role: 'viewer', createdBy: 'test' })).token;
  const from = await maxId();
  for (let i = 0; i < AUDIT_LIMITS.unauthenticatedPerWindow + 20; i++) {
    const r = await svc.api(`/rules/${encodeURIComponent(rule)}`, { method: 'DELETE', token: viewer });
    assert.equal(r.status, 403);
  }
  const paused = await svc.api(`/rules/${encodeURIComponent(rule)}/remediation/pause`, { method: 'POST' });
  const resumed = await svc.api(`/rules/${encodeURIComponent(rule)}/remediation/resume`, { method: 'POST' });
  const rows = await svc.db.query<{ token_name: string; status: number }>(`SELECT token_name, status FROM audit_log WHERE id > $1`, [from]);
  assert.equal(rows.filter((r) => r.token_name === 'lim-viewer' && r.status === 403).length, AUDIT_LIMITS.unauthenticatedPerWindow + 20);
  assert.equal(rows.filter((r) => r.token_name === 'admin').length, 2, `${paused.status} ${resumed.status}`);
});

test('a 401 says how to get a token but names no file of the service', async () => {
  for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: 'Basic x' }] as Record<string, string>[]) {
    const res = await fetch(`${svc.url}/api/v1/rules`, { headers });
    assert.equal(res.status, 401);
    const text = await res.text();
    assert.ok(!text.includes(svc.adminTokenFile), text);
    assert.ok(!text.includes(dirname(svc.adminTokenFile)), text);
    assert.ok(!/admin\.token|\/tmp\/|\.confix/.test(text), text);
    const body = JSON.parse(text);
    assert.match(body.error.message, /confix token create/);
    assert.match(body.error.message, /admin token file the service wrote on its first start, named in its log/);
  }
});

test('a remediation exception reason over its limit is refused with a 400 naming the field', async () => {
  const reason = 'r'.repeat(10 * 1024);
  const res = await svc.api(`/rules/${encodeURIComponent(rule)}/remediation/exceptions`, { json: { resourceId: 'sg-debug-open', reason } });
  assert.equal(res.status, 400, JSON.stringify(res.body).slice(0, 300));
  assert.equal(res.body.error.code, 'InvalidRequest');
  assert.equal(res.body.error.issues[0].path, 'reason');
  assert.equal(res.body.error.message, `reason: at most ${LIMITS.text.reason} characters (this one has ${reason.length})`);
  assert.ok(JSON.stringify(res.body).length < 2000, 'the answer does not repeat the value');
  const ok = await svc.api(`/rules/${encodeURIComponent(rule)}/remediation/exceptions`, {
    json: { resourceId: 'sg-debug-open', reason: 'x'.repeat(LIMITS.text.reason) },
  });
  assert.equal(ok.status, 200, JSON.stringify(ok.body).slice(0, 300));
  await svc.api(`/rules/${encodeURIComponent(rule)}/remediation/exceptions/sg-debug-open`, { method: 'DELETE' });
});

test('a 300-character rule name is refused naming the field; so are over-long lists, parameters and path parameters', async () => {
  const long = 'n'.repeat(300);
  const res = await svc.api('/rules', { json: { name: long, source: { managed: 'sg-risky-ports-check' } } });
  assert.equal(res.status, 400);
  assert.equal(res.body.error.issues[0].path, 'name');
  assert.match(res.body.error.issues[0].message, /at most (128|256) characters/);

  const desc = await svc.api('/rules', {
    json: { name: 'lim-desc', description: 'd'.repeat(LIMITS.text.description + 1), source: { managed: 'sg-risky-ports-check' } },
  });
  assert.equal(desc.status, 400);
  assert.equal(desc.body.error.issues[0].path, 'description');

  const regions = await svc.api('/rules', {
    json: { name: 'lim-regions', source: { managed: 'sg-risky-ports-check' }, scope: { regions: Array.from({ length: LIMITS.list + 1 }, (_, i) => `r-${i}`) } },
  });
  assert.equal(regions.status, 400);
  assert.equal(regions.body.error.issues[0].path, 'scope.regions');
  assert.match(regions.body.error.message, /at most 1000 items \(this one has 1001\)/);

  const param = await svc.api('/rules', {
    json: { name: 'lim-param', source: { managed: 'sg-risky-ports-check' }, parameters: { ports: '2'.repeat(LIMITS.text.value + 1) } },
  });
  assert.equal(param.status, 400);
  assert.equal(param.body.error.issues[0].path, 'parameters.ports');

  const byPath = await svc.api(`/rules/${'p'.repeat(LIMITS.text.name + 1)}`);
  assert.equal(byPath.status, 400);
  assert.equal(byPath.body.error.issues[0].path, 'name');

  const token = await svc.api('/tokens', { json: { name: 't', role: 'viewer', expiresIn: '9'.repeat(100) } });
  assert.equal(token.status, 400);
  assert.equal(token.body.error.issues[0].path, 'expiresIn');

  // A normal rule still goes through.
  const created = await svc.api('/rules', {
    json: { name: 'lim-ok', description: 'd'.repeat(2000), source: { managed: 'sg-risky-ports-check' }, parameters: { ports: '22' } },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body).slice(0, 300));
  assert.equal((await svc.api('/rules/lim-ok', { method: 'DELETE' })).status, 200);
});

test('policy documents over their limits are refused as the policy’s problems, at their document and field; 2000-character descriptions pass', async () => {
  const doc = (name: string, description: string) => ({
    source: `${name}.yaml`,
    kind: 'Rule',
    body: { name, description, source: { managed: 'sg-risky-ports-check' } },
  });
  const bad = await svc.api('/policy/plan', { json: { documents: [doc('lim-p1', 'ok'), doc('lim-p2', 'd'.repeat(LIMITS.text.description + 1))] } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'InvalidPolicy');
  assert.equal(bad.body.error.issues[0].document, 1);
  assert.equal(bad.body.error.issues[0].source, 'lim-p2.yaml');
  assert.equal(bad.body.error.issues[0].path, 'description');
  const exception = await svc.api('/policy/plan', {
    json: {
      documents: [{ source: 'x.yaml', kind: 'RemediationException', body: { rule, resourceId: 'sg-debug-open', reason: 'r'.repeat(LIMITS.text.reason + 1) } }],
    },
  });
  assert.equal(exception.status, 400);
  assert.equal(exception.body.error.issues[0].path, 'reason');
  const good = await svc.api('/policy/plan', { json: { documents: [doc('lim-p3', 'd'.repeat(2000))] } });
  assert.equal(good.status, 200, JSON.stringify(good.body).slice(0, 300));
  assert.deepEqual(
    good.body.create.map((r: { name: string }) => r.name),
    ['lim-p3'],
  );
});

test('request bodies: 413 naming the limit past it (with or without Content-Length); large bodies where a route needs them', async () => {
  // 30 MB to a route with the default limit.
  const huge = JSON.stringify({ resourceId: 'sg-debug-open', reason: 'r'.repeat(30 * 1024 * 1024) });
  const res = await svc.api(`/rules/${encodeURIComponent(rule)}/remediation/exceptions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: huge,
  });
  assert.equal(res.status, 413);
  assert.equal(res.body.error.code, 'PayloadTooLarge');
  assert.equal(res.body.error.limitBytes, LIMITS.body.default);
  assert.match(res.body.error.message, /larger than the 1 MiB this route takes/);
  const [row] = await svc.db.query<{ status: number; reason: string; outcome: string }>(
    `SELECT status, reason, outcome FROM audit_log ORDER BY id DESC LIMIT 1`,
  );
  assert.deepEqual(row, { status: 413, reason: 'PayloadTooLarge', outcome: 'error' }, 'an authenticated change refused for its size is audited');

  // Chunked (no Content-Length): refused once it passes the limit.
  const chunk = new TextEncoder().encode('x'.repeat(256 * 1024));
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(ctl) {
      if (sent++ < 40) ctl.enqueue(chunk);
      else ctl.close();
    },
  });
  const chunked = await fetch(`${svc.url}/api/v1/evaluations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${svc.token}`, 'content-type': 'application/json' },
    body: stream,
    duplex: 'half',
  } as RequestInit);
  assert.equal(chunked.status, 413);
  assert.equal(((await chunked.json()) as { error: { code: string } }).error.code, 'PayloadTooLarge');

  // Policy plans take 20 MiB: a 3 MB plan is over the default but goes through.
  const docs = Array.from({ length: 600 }, (_, i) => ({
    source: `big.yaml#${i + 1}`,
    kind: 'Rule',
    body: { name: `lim-big-${i}`, description: 'd'.repeat(4000), source: { managed: 'sg-risky-ports-check' } },
  }));
  const bytes = JSON.stringify({ documents: docs }).length;
  assert.ok(bytes > LIMITS.body.default, `${bytes} bytes`);
  const plan = await svc.api('/policy/plan', { json: { documents: docs } });
  assert.equal(plan.status, 200, JSON.stringify(plan.body).slice(0, 300));
  assert.equal(plan.body.create.length, 600);
  // And over 20 MiB they are refused too, naming that limit.
  const tooBig = await svc.api('/policy/plan', { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(LIMITS.body.policy + 1) });
  assert.equal(tooBig.status, 413);
  assert.match(tooBig.body.error.message, /larger than the 20 MiB POST \/policy\/plan and \/policy\/apply takes; most routes take 1 MiB/);
});
