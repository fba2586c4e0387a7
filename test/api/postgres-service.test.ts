import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshDb, postgresUrl } from '../helpers/db.js';
import { testService } from '../helpers/service.js';
import { startService } from '../../src/service.js';
import { silentLogger } from '../../src/util/log.js';

// The whole service on a PostgreSQL server: the same code as on the embedded store.
test('the service runs on a PostgreSQL server: demo, change, history, evaluation', {
  skip: !postgresUrl && 'no PostgreSQL server (CONFIX_TEST_DATABASE_URL)',
}, async () => {
  const svc = await testService({ backend: 'postgres' });
  try {
    assert.equal((await svc.api('/health')).body.store, 'postgres');
    assert.equal((await svc.api('/resources')).body.total, 15);
    const call = await svc.api('/sandbox/actions/oss:PutBucketAcl', { json: { parameters: { BucketName: 'confix-demo-logs', Acl: 'public-read-write' } } });
    assert.equal(call.status, 200, JSON.stringify(call.body));
    await svc.evaluator.idle();
    const h = await svc.api('/resources/confix-demo-logs/history');
    assert.deepEqual(
      h.body.items[0].diff.map((d: { path: string; previousValue: unknown; value: unknown }) => [d.path, d.previousValue, d.value]),
      [['/AccessControlList/Grant', 'private', 'public-read-write']],
    );
    const r = await svc.api('/compliance?rule=oss-bucket-public-read-prohibited&resourceId=confix-demo-logs');
    assert.equal(r.body.items[0].complianceType, 'NON_COMPLIANT');
    const s = await svc.api('/compliance/summary');
    // As many as the results say (automatic remediation of the seed 003 rule fixes some of the demo's from the start).
    const nc = (await svc.api('/compliance?complianceType=NON_COMPLIANT&limit=1000')).body.items as { accountId: string; resourceId: string }[];
    assert.equal(s.body.totals.nonCompliantResources, new Set(nc.map((i) => `${i.accountId}/${i.resourceId}`)).size);
    assert.ok(s.body.totals.nonCompliantResources >= 7);
  } finally {
    await svc.close();
  }
});

// A PostgreSQL service started with the data directory of an embedded one (./.confix, by default for
// both) writes its admin token to a file named by its store's identity, never over the embedded store's.
test("a service on a PostgreSQL server leaves the embedded store's admin token file alone, and its note names its own", {
  skip: !postgresUrl && 'no PostgreSQL server (CONFIX_TEST_DATABASE_URL)',
}, async () => {
  const dataDir = realpathSync(mkdtempSync(join(tmpdir(), 'confix-two-stores-')));
  const note = () => JSON.parse(readFileSync(join(dataDir, 'service.json'), 'utf8'));
  const embeddedDb = await freshDb('pglite');
  const serverDb = await freshDb('postgres');
  try {
    const embedded = await startService({ db: embeddedDb, dataDir, port: 0, demo: false, discoveryIntervalMs: 0, log: silentLogger });
    const embeddedToken = readFileSync(join(dataDir, 'admin.token'), 'utf8');
    assert.equal(embedded.adminTokenFile, join(dataDir, 'admin.token'));
    assert.deepEqual(note(), { url: embedded.url, pid: process.pid, store: 'embedded', storeId: embedded.storeId, tokenFile: join(dataDir, 'admin.token') });
    await embedded.close();

    const server = await startService({ db: serverDb, dataDir, port: 0, demo: false, discoveryIntervalMs: 0, log: silentLogger });
    try {
      assert.equal(readFileSync(join(dataDir, 'admin.token'), 'utf8'), embeddedToken, 'not overwritten');
      assert.notEqual(server.storeId, embedded.storeId);
      assert.equal(server.adminTokenFile, join(dataDir, `admin-${server.storeId}.token`));
      assert.deepEqual(note(), { url: server.url, pid: process.pid, store: 'postgres', storeId: server.storeId, tokenFile: server.adminTokenFile });
      const token = readFileSync(server.adminTokenFile, 'utf8').trim();
      assert.equal((await fetch(`${server.url}/api/v1/tokens`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
      assert.equal((await fetch(`${server.url}/api/v1/tokens`, { headers: { authorization: `Bearer ${embeddedToken.trim()}` } })).status, 401);
    } finally {
      await server.close();
    }

    const again = await startService({ db: embeddedDb, dataDir, port: 0, demo: false, discoveryIntervalMs: 0, log: silentLogger });
    try {
      assert.equal(again.adminTokenFile, join(dataDir, 'admin.token'));
      assert.equal(again.hasAdminTokenFile, true);
      assert.equal((await fetch(`${again.url}/api/v1/tokens`, { headers: { authorization: `Bearer ${embeddedToken.trim()}` } })).status, 200);
    } finally {
      await again.close();
    }
  } finally {
    await embeddedDb.close();
    await serverDb.close();
  }
});
