// Discovery through an account group's read role: the member account is read
// with the role assumed from the group's owner, so its IAM decides what confix
// sees; a refused read is reported and leaves the recorded state alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freshDb } from '../helpers/db.js';
import { createEngine } from '../../src/engine.js';
import { parseEstateText } from '../../src/providers/sandbox/index.js';

const SEED_000 = fileURLToPath(new URL('../../examples/estates/seed-000.yaml', import.meta.url));
const A = '100931896542';
const B = '178366182654';
const A_KEY = { accessKeyId: 'LTAI5tSeed000ManagementA', accessKeySecret: 'seed000-management-secret-do-not-print' };
const readPolicy = (extra: object[] = []) => ({
  Version: '1',
  Statement: [{ Effect: 'Allow', Action: ['ecs:Describe*', 'oss:Get*', 'ec2:Describe*', 's3:Get*'], Resource: '*' }, ...extra],
});

test("a group's read role reads its member accounts; a read the role may not make is refused, named, and changes nothing recorded", async () => {
  const db = await freshDb();
  const engine = createEngine(db);
  try {
    const { sandbox, recorder, groups, credentials, inventory } = engine;
    const { raw } = parseEstateText(readFileSync(SEED_000, 'utf8'), SEED_000);
    await sandbox.loadEstate(raw);
    await sandbox.iam.putPolicy(B, 'ConfigReadOnly', readPolicy());
    await sandbox.iam.putRole(B, {
      name: 'ConfigReadRole',
      policies: ['ConfigReadOnly'],
      trustPolicy: { Version: '1', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { RAM: [`acs:ram::${A}:root`] } }] },
    });
    await credentials.put(A, A_KEY);
    await groups.put({ name: 'production', members: { accounts: [B] }, readRole: 'ConfigReadRole' });

    const first = await recorder.snapshot(sandbox.name);
    assert.equal(first.refused, undefined, JSON.stringify(first.refused));
    const sessions = await db.query<{ account_id: string; role_name: string; session_name: string }>(
      'SELECT account_id, role_name, session_name FROM sandbox_sessions',
    );
    // One session per cloud dialect (the sandbox's accounts hold both clouds' types), not one per scope: cached.
    assert.ok(sessions.length >= 1 && sessions.length <= 2, JSON.stringify(sessions));
    for (const s of sessions)
      assert.deepEqual([s.account_id, s.role_name, s.session_name], [B, 'ConfigReadRole', 'confix-discovery'], 'B is read through its read role');
    const ids = (await inventory.list({ limit: 100 })).items.map((r) => r.resourceId).sort();
    assert.deepEqual(
      ids,
      ['i-bp1seed000memberb001', 'i-bp1seed000mgmt00001', 'i-bp1seed000outsidec01'],
      'accounts outside read-role groups are read as before',
    );

    // The role loses ecs:DescribeInstances: B's instances are refused, named, and stay recorded.
    await sandbox.iam.putPolicy(B, 'ConfigReadOnly', readPolicy([{ Effect: 'Deny', Action: 'ecs:DescribeInstances', Resource: '*' }]));
    const second = await recorder.snapshot(sandbox.name);
    assert.deepEqual(
      second.refused?.map((r) => [r.accountId, r.resourceType, r.code]),
      [[B, 'ACS::ECS::Instance', 'NoPermission']],
    );
    assert.match(second.refused![0]!.message, /ecs:DescribeInstances/);
    assert.equal(second.deleted, 0, 'a refused read deletes nothing');
    const [b] = await inventory.find('i-bp1seed000memberb001');
    assert.ok(b && b.status !== 'ResourceDeleted', JSON.stringify(b));
  } finally {
    await db.close();
  }
});
