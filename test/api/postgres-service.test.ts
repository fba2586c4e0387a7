import { test } from 'node:test';
import assert from 'node:assert/strict';
import { postgresUrl } from '../helpers/db.js';
import { testService } from '../helpers/service.js';

// The whole service on a PostgreSQL server: the same code as on the embedded store.
test('the service runs on a PostgreSQL server: demo, change, history, evaluation', { skip: !postgresUrl && 'no PostgreSQL server (CONFIX_TEST_DATABASE_URL)' }, async () => {
  const svc = await testService({ backend: 'postgres' });
  try {
    assert.equal((await svc.api('/health')).body.store, 'postgres');
    assert.equal((await svc.api('/resources')).body.total, 15);
    const call = await svc.api('/sandbox/actions/oss:PutBucketAcl', { json: { parameters: { BucketName: 'confix-demo-logs', Acl: 'public-read-write' } } });
    assert.equal(call.status, 200, JSON.stringify(call.body));
    await svc.evaluator.idle();
    const h = await svc.api('/resources/confix-demo-logs/history');
    assert.deepEqual(h.body.items[0].diff.map((d: { path: string; previousValue: unknown; value: unknown }) => [d.path, d.previousValue, d.value]), [['/AccessControlList/Grant', 'private', 'public-read-write']]);
    const r = await svc.api('/compliance?rule=oss-bucket-public-read-prohibited&resourceId=confix-demo-logs');
    assert.equal(r.body.items[0].complianceType, 'NON_COMPLIANT');
    const s = await svc.api('/compliance/summary');
    assert.equal(s.body.totals.nonCompliantResources, 9);
  } finally {
    await svc.close();
  }
});
