import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { backends, freshDb } from '../helpers/db.js';
import { MEMBER, MGMT, sgEstate } from '../helpers/estate.js';
import { SandboxCloud } from '../../src/providers/sandbox/index.js';
import { Inventory, Recorder, type RecordedEvent } from '../../src/inventory/index.js';
import type { Db } from '../../src/store/index.js';

async function setup(backend: (typeof backends)[number]) {
  const db = await freshDb(backend);
  const sandbox = new SandboxCloud(db);
  const recorder = new Recorder(db, [sandbox]);
  const inventory = new Inventory(db);
  await sandbox.loadEstate(sgEstate());
  return { db, sandbox, recorder, inventory };
}

const key = (resourceId: string, accountId = MGMT) => ({ accountId, regionId: 'cn-hangzhou', resourceType: 'ACS::ECS::SecurityGroup', resourceId });

async function ciCount(db: Db) {
  return (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM configuration_items'))[0]!.n;
}

for (const backend of backends) {
  test(`${backend}: a snapshot records each resource once and only real changes after`, async () => {
    const { db, sandbox, recorder, inventory } = await setup(backend);
    try {
      const first = await recorder.snapshot('sandbox');
      assert.equal(first.created, 3);
      assert.equal(first.resources, 3);
      const again = await recorder.snapshot('sandbox');
      assert.deepEqual([again.created, again.updated, again.deleted, again.unchanged], [0, 0, 0, 3]);
      assert.equal(await ciCount(db), 3);
      const [ci] = await inventory.history(key('sg-web'));
      assert.equal(ci!.status, 'ResourceDiscovered');
      assert.equal(ci!.version, 1);
      assert.equal(ci!.source, 'discovery');
      // An estate reload that changes one resource records exactly that one.
      const estate = sgEstate();
      estate.resources[2]!.configuration = { SecurityGroupName: 'db-renamed' };
      await sandbox.loadEstate(estate);
      const third = await recorder.snapshot('sandbox');
      assert.deepEqual([third.created, third.updated, third.unchanged], [0, 1, 2]);
      const [renamed] = await inventory.history(key('sg-db', MEMBER));
      assert.equal(renamed!.status, 'OK');
      assert.deepEqual(renamed!.diff, [{ op: 'replace', path: '/SecurityGroupName', value: 'db-renamed', previousValue: 'db' }]);
      // A replace-load that drops a resource: the next snapshot records its deletion.
      estate.resources.splice(1, 1);
      const summary = await sandbox.loadEstate(estate, { replace: true });
      assert.equal(summary.deleted, 1);
      const fourth = await recorder.snapshot('sandbox');
      assert.equal(fourth.deleted, 1);
      const [gone] = await inventory.history(key('sg-managed'));
      assert.equal(gone!.status, 'ResourceDeleted');
      assert.equal(gone!.configuration, null);
      assert.equal((await inventory.list()).total, 2);
      assert.equal((await inventory.list({ includeDeleted: true })).total, 3);
    } finally {
      await db.close();
    }
  });

  test(`${backend}: a change notification becomes a configuration item with the right diff`, async () => {
    const { db, sandbox, recorder, inventory } = await setup(backend);
    try {
      await recorder.snapshot('sandbox');
      recorder.start(60_000);
      const recorded = once(recorder, 'recorded') as Promise<[RecordedEvent]>;
      const call = await sandbox.call(
        'ecs:AuthorizeSecurityGroup',
        {},
        {
          SecurityGroupId: 'sg-web',
          IpProtocol: 'tcp',
          PortRange: '22/22',
          SourceCidrIp: '0.0.0.0/0',
          Description: 'debug',
        },
      );
      assert.equal(call.accountId, MGMT, 'account found from the id alone');
      assert.equal(call.changed, true);
      const [ev] = await recorded;
      assert.equal(ev.resourceId, 'sg-web');
      assert.equal(ev.version, 2);
      assert.ok(ev.changedAt && ev.capturedAt >= ev.changedAt);
      const [ci] = await inventory.history(key('sg-web'));
      assert.equal(ci!.status, 'OK');
      assert.equal(ci!.source, 'change');
      assert.equal(ci!.diff.length, 1);
      const d = ci!.diff[0]!;
      assert.equal(d.op, 'add');
      assert.equal(d.path, '/Permissions/Permission/1');
      const added = d.value as Record<string, unknown>;
      assert.equal(added.PortRange, '22/22');
      assert.equal(added.SourceCidrIp, '0.0.0.0/0');
      assert.equal(added.IpProtocol, 'TCP');
      assert.match(String(added.SecurityGroupRuleId), /^sgr-/);

      // The same rule again is ignored by the cloud: no change, no item.
      const dup = await sandbox.call(
        'ecs:AuthorizeSecurityGroup',
        {},
        { SecurityGroupId: 'sg-web', IpProtocol: 'TCP', PortRange: '22/22', SourceCidrIp: '0.0.0.0/0', Description: 'debug' },
      );
      assert.equal(dup.changed, false);

      // Revoke by id, then delete: each recorded, in order.
      await sandbox.call('ecs:RevokeSecurityGroup', {}, { SecurityGroupId: 'sg-web', SecurityGroupRuleId: [added.SecurityGroupRuleId] });
      await sandbox.call('ecs:DeleteSecurityGroup', {}, { SecurityGroupId: 'sg-web' });
      await recorder.drain('sandbox');
      const items = await inventory.history(key('sg-web'));
      assert.deepEqual(
        items.map((i) => [i.version, i.status]),
        [
          [4, 'ResourceDeleted'],
          [3, 'OK'],
          [2, 'OK'],
          [1, 'ResourceDiscovered'],
        ],
      );
      assert.equal(items[1]!.diff[0]!.op, 'remove');
      assert.equal((items[1]!.diff[0]!.previousValue as Record<string, unknown>).PortRange, '22/22');
      assert.equal((await inventory.resolve('sg-web')).status, 'ResourceDeleted');

      // A new recorder (a restart) resumes from the saved cursor: nothing is recorded twice.
      await recorder.stop();
      const before = await ciCount(db);
      const again = new Recorder(db, [sandbox]);
      await again.drain('sandbox');
      assert.equal(await ciCount(db), before);
    } finally {
      await recorder.stop();
      await db.close();
    }
  });
}

test('inventory filters by account, type, tag and id prefix, and pages with a cursor', async () => {
  const { db, recorder, inventory } = await setup('pglite');
  try {
    await recorder.snapshot('sandbox');
    assert.deepEqual(
      (await inventory.list({ accountId: MEMBER })).items.map((r) => r.resourceId),
      ['sg-db'],
    );
    assert.deepEqual((await inventory.list({ tags: [{ key: 'env', value: 'prod' }] })).items.map((r) => r.resourceId).sort(), ['sg-db', 'sg-web']);
    assert.deepEqual(
      (await inventory.list({ tags: [{ key: 'tier' }] })).items.map((r) => r.resourceId),
      ['sg-db'],
    );
    assert.deepEqual(
      (await inventory.list({ resourceId: 'sg-w*' })).items.map((r) => r.resourceId),
      ['sg-web'],
    );
    assert.equal((await inventory.list({ resourceType: 'AWS::S3::Bucket' })).total, 0);
    const p1 = await inventory.list({ limit: 2 });
    assert.equal(p1.items.length, 2);
    assert.equal(p1.total, 3);
    assert.ok(p1.nextCursor);
    const p2 = await inventory.list({ limit: 2, cursor: p1.nextCursor! });
    assert.equal(p2.items.length, 1);
    assert.equal(p2.nextCursor, null);
    const all = [...p1.items, ...p2.items].map((r) => r.resourceId);
    assert.equal(new Set(all).size, 3);
    await assert.rejects(inventory.list({ cursor: 'garbage' }), /cursor/);
    await assert.rejects(inventory.resolve('sg-nope'), /no recorded resource/);
  } finally {
    await db.close();
  }
});
