// The sandbox cloud's IAM on real calls: seed 000's roles and policies,
// AssumeRole chains, trust refusals, explicit denies, wildcards, expiry, and
// accounts that cannot act on each other's resources.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freshDb } from '../helpers/db.js';
import { SandboxCloud, SandboxError, parseEstateText, EstateError } from '../../src/providers/sandbox/index.js';
import { validateEstate } from '../../src/providers/sandbox/estate.js';

const SEED_000 = fileURLToPath(new URL('../../examples/estates/seed-000.yaml', import.meta.url));
const A = '100931896542';
const B = '178366182654';
const C = '139876543210';
const A_KEY = { accessKeyId: 'LTAI5tSeed000ManagementA', accessKeySecret: 'seed000-management-secret-do-not-print' };
const install = (instanceId: string) => ({ InstanceIds: [instanceId], Force: true });

async function setup() {
  const db = await freshDb();
  const sandbox = new SandboxCloud(db);
  const { raw, lineOf } = parseEstateText(readFileSync(SEED_000, 'utf8'), SEED_000);
  await sandbox.loadEstate(raw, { source: SEED_000, lineOf });
  return { db, sandbox };
}

/** What a refused call throws. */
async function refusal(p: Promise<unknown>): Promise<SandboxError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof SandboxError, `expected a SandboxError, got ${String(err)}`);
  return err;
}

test("seed 000: A's key assumes A's role, which assumes B's role, which installs the agent in B", async () => {
  const { db, sandbox } = await setup();
  try {
    const inA = await sandbox.assumeRole(A_KEY, { roleArn: `acs:ram::${A}:role/configcustomremediationrole`, sessionName: 'confix' });
    assert.match(inA.accessKeyId, /^STS\./);
    assert.ok(Date.parse(inA.expiration) - Date.now() > 3500_000);
    const inB = await sandbox.assumeRole(inA, { roleArn: `acs:ram::${B}:role/configcustomremediationrole`, sessionName: 'confix' });
    const out = await sandbox.call('cms:InstallMonitoringAgent', { accountId: B, regionId: 'cn-hangzhou' }, install('i-bp1seed000memberb001'), inB);
    assert.equal(out.changed, true);
    const state = await sandbox.describe({ accountId: B, regionId: 'cn-hangzhou', resourceType: 'ACS::ECS::Instance', resourceId: 'i-bp1seed000memberb001' });
    assert.notEqual(state!.configuration.MonitoringAgentStatus, 'not_installed');
    // The role may do nothing else.
    const stop = await refusal(sandbox.call('ecs:StopInstance', { accountId: B, regionId: 'cn-hangzhou' }, { InstanceId: 'i-bp1seed000memberb001' }, inB));
    assert.equal(stop.code, 'NoPermission');
    assert.match(
      stop.message,
      /Action: ecs:StopInstance, Resource: acs:ecs:cn-hangzhou:178366182654:instance\/i-bp1seed000memberb001, Principal: acs:ram::178366182654:assumed-role\/ConfigCustomRemediationRole\/confix.*no policy allows it/i,
    );
  } finally {
    await db.close();
  }
});

test("trust: B's role trusts A's role, not A's own key; C has no role to assume", async () => {
  const { db, sandbox } = await setup();
  try {
    const direct = await refusal(sandbox.assumeRole(A_KEY, { roleArn: `acs:ram::${B}:role/ConfigCustomRemediationRole`, sessionName: 'confix' }));
    assert.equal(direct.code, 'NoPermission');
    assert.match(
      direct.message,
      /sts:AssumeRole.*acs:ram::178366182654:role\/configcustomremediationrole.*Principal: acs:ram::100931896542:root.*trust policy does not trust/i,
    );
    const inA = await sandbox.assumeRole(A_KEY, { roleArn: `acs:ram::${A}:role/ConfigCustomRemediationRole`, sessionName: 'confix' });
    const none = await refusal(sandbox.assumeRole(inA, { roleArn: `acs:ram::${C}:role/ConfigCustomRemediationRole`, sessionName: 'confix' }));
    assert.equal(none.code, 'EntityNotExist.Role');
    // A's own key cannot act in B directly either.
    const cross = await refusal(
      sandbox.call('cms:InstallMonitoringAgent', { accountId: B, regionId: 'cn-hangzhou' }, install('i-bp1seed000memberb001'), A_KEY),
    );
    assert.match(cross.message, /belongs to another account; assume a role in that account/);
  } finally {
    await db.close();
  }
});

test('policies: removing the permission refuses with the permission named; an explicit deny wins over a wildcard allow', async () => {
  const { db, sandbox } = await setup();
  try {
    const chain = async () => {
      const inA = await sandbox.assumeRole(A_KEY, { roleArn: `acs:ram::${A}:role/ConfigCustomRemediationRole`, sessionName: 'confix' });
      return sandbox.assumeRole(inA, { roleArn: `acs:ram::${B}:role/ConfigCustomRemediationRole`, sessionName: 'confix' });
    };
    await sandbox.iam.putPolicy(B, 'ConfigCustomRemediationPolicy', {
      Version: '1',
      Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }],
    });
    const gone = await refusal(
      sandbox.call('cms:InstallMonitoringAgent', { accountId: B, regionId: 'cn-hangzhou' }, install('i-bp1seed000memberb001'), await chain()),
    );
    assert.equal(gone.code, 'NoPermission');
    assert.match(gone.message, /Action: cms:InstallMonitoringAgent/);
    assert.match(gone.message, /no policy allows it/);

    await sandbox.iam.putPolicy(B, 'ConfigCustomRemediationPolicy', {
      Version: '1',
      Statement: [
        { Effect: 'Allow', Action: ['cms:*', 'sts:AssumeRole'], Resource: '*' },
        { Effect: 'Deny', Action: 'cms:Install*', Resource: `acs:ecs:*:${B}:instance/i-bp1seed000memberb0*` },
      ],
    });
    const deny = await refusal(
      sandbox.call('cms:InstallMonitoringAgent', { accountId: B, regionId: 'cn-hangzhou' }, install('i-bp1seed000memberb001'), await chain()),
    );
    assert.match(deny.message, /explicitly denied by policy "ConfigCustomRemediationPolicy" \(Statement\[1\]\)/);

    await sandbox.iam.putPolicy(B, 'ConfigCustomRemediationPolicy', {
      Version: '1',
      Statement: [{ Effect: 'Allow', Action: ['cms:*', 'sts:AssumeRole'], Resource: '*' }],
    });
    const ok = await sandbox.call('cms:InstallMonitoringAgent', { accountId: B, regionId: 'cn-hangzhou' }, install('i-bp1seed000memberb001'), await chain());
    assert.equal(ok.changed, true, 'the wildcard allows it once the deny is gone');
  } finally {
    await db.close();
  }
});

test("credentials: unknown keys, wrong secrets, forged tokens and expired sessions are refused in the cloud's words", async () => {
  const { db, sandbox } = await setup();
  try {
    const where = { accountId: A, regionId: 'cn-hangzhou' };
    const call = (c: Parameters<SandboxCloud['call']>[3]) => sandbox.call('cms:InstallMonitoringAgent', where, install('i-bp1seed000mgmt00001'), c);
    assert.equal((await refusal(call({ accessKeyId: 'LTAI5tNoSuchKey000000', accessKeySecret: 'x'.repeat(20) }))).code, 'InvalidAccessKeyId.NotFound');
    assert.equal((await refusal(call({ ...A_KEY, accessKeySecret: 'wrong-secret-0000000' }))).code, 'SignatureDoesNotMatch');
    const s = await sandbox.assumeRole(A_KEY, { roleArn: `acs:ram::${A}:role/ConfigCustomRemediationRole`, sessionName: 'confix', durationSeconds: 900 });
    assert.equal((await refusal(call({ ...s, securityToken: 'CAISforged' }))).code, 'InvalidSecurityToken.Malformed');
    assert.equal((await call(s)).changed, false, 'the agent is running already: allowed, and nothing to do');
    await db.query("UPDATE sandbox_sessions SET expires_at = now() - interval '1 second'");
    const expired = await refusal(call(s));
    assert.equal(expired.code, 'InvalidSecurityToken.Expired');
    // Durations are bounded by the role.
    const long = await refusal(
      sandbox.assumeRole(A_KEY, { roleArn: `acs:ram::${A}:role/ConfigCustomRemediationRole`, sessionName: 'confix', durationSeconds: 7200 }),
    );
    assert.match(long.message, /between 900 and the role's maximum session duration, 3600/);
    // Secrets are kept only as hashes.
    const rows = JSON.stringify(await db.query('SELECT * FROM sandbox_access_keys')) + JSON.stringify(await db.query('SELECT * FROM sandbox_sessions'));
    assert.ok(!rows.includes(A_KEY.accessKeySecret) && !rows.includes(s.accessKeySecret) && !rows.includes(s.securityToken));
  } finally {
    await db.close();
  }
});

test('the organization: management account, folders and members', async () => {
  const { db, sandbox } = await setup();
  try {
    const org = await sandbox.organization();
    assert.equal(org!.managementAccount, A);
    assert.deepEqual(
      org!.accounts.map((a) => [a.accountId, a.folderPath]),
      [
        [A, null],
        [C, 'sandbox'],
        [B, 'production'],
      ],
    );
  } finally {
    await db.close();
  }
});

test('a bad IAM section is refused with its lines, naming the policy and the problem', () => {
  const text = `organization:
  managementAccount: "100931896542"
  delegatedAdministrators: ["999999999999"]
accounts:
  - id: "100931896542"
    name: a
    regions: [cn-hangzhou]
    iam:
      policies:
        - name: P
          document: { Version: "1", Statement: [{ Effect: Maybe, Action: "ecs:*", Resource: "*" }] }
      roles:
        - name: R
          policies: [Nope]
          trustPolicy: { Version: "1", Statement: [{ Effect: Allow, Action: "sts:AssumeRole", Condition: {} }] }
`;
  const { raw, lineOf } = parseEstateText(text, 'bad.yaml');
  const err = (() => {
    try {
      validateEstate(raw, 'bad.yaml', lineOf);
    } catch (e) {
      return e;
    }
  })();
  assert.ok(err instanceof EstateError);
  const msg = err.message;
  assert.match(msg, /bad\.yaml:3: organization\.delegatedAdministrators\[0\]: unknown account "999999999999"/);
  assert.match(msg, /bad\.yaml:11: accounts\[0\]\.iam\.policies\[0\]\.document\.Statement\[0\]\.Effect: \(P\)/);
  assert.match(msg, /accounts\[0\]\.iam\.roles\[0\]\.policies\[0\]: \(R\) no policy named "Nope"/);
  assert.match(msg, /accounts\[0\]\.iam\.roles\[0\]\.trustPolicy\.Statement\[0\]\.Condition: \(R\) Condition is not supported/);
});
