// The AWS provider on moto, an organization: accounts, OUs as folders, delegated administrators; members read
// and changed through the role assumed in them (cached until five minutes before expiry); a refused role is
// AWS's AccessDenied naming the role, and the recorder records the scope as refused (moto's IAM refuses it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateAccountCommand,
  CreateOrganizationCommand,
  CreateOrganizationalUnitCommand,
  ListRootsCommand,
  MoveAccountCommand,
  RegisterDelegatedAdministratorCommand,
} from '@aws-sdk/client-organizations';
import { CreateAccessKeyCommand, CreateUserCommand, GetRoleCommand, PutRolePolicyCommand, PutUserPolicyCommand } from '@aws-sdk/client-iam';
import { DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import { ProviderError, type ResourceState } from '../../../src/providers/types.js';
import { Recorder } from '../../../src/inventory/recorder.js';
import { freshDb } from '../../helpers/db.js';
import { MOTO_ACCOUNT, useMoto } from '../../helpers/moto.js';
import { WORLD_SSH, inAccount, provider, sdk, seedGroup, type Creds } from './fixtures.js';

const moto = useMoto();

const ROLE = 'OrganizationAccountAccessRole';

/** The management account (moto's default) with two members: web-prod in production/web, data-dev in development. */
async function seedOrganization() {
  const { org } = sdk(moto);
  await org.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
  const create = async (AccountName: string) =>
    (await org.send(new CreateAccountCommand({ AccountName, Email: `${AccountName}@example.com` }))).CreateAccountStatus!.AccountId!;
  const web = await create('web-prod');
  const data = await create('data-dev');
  const root = (await org.send(new ListRootsCommand({}))).Roots![0]!.Id!;
  const ou = async (Name: string, ParentId: string) => (await org.send(new CreateOrganizationalUnitCommand({ Name, ParentId }))).OrganizationalUnit!.Id!;
  const production = await ou('production', root);
  const webOu = await ou('web', production);
  const development = await ou('development', root);
  await org.send(new MoveAccountCommand({ AccountId: web, SourceParentId: root, DestinationParentId: webOu }));
  await org.send(new MoveAccountCommand({ AccountId: data, SourceParentId: root, DestinationParentId: development }));
  await org.send(new RegisterDelegatedAdministratorCommand({ AccountId: data, ServicePrincipal: 'config-multiaccountsetup.amazonaws.com' }));
  return { web, data };
}

const names = (states: ResourceState[]) => states.map((s) => s.resourceName).sort();

test('an organization of three accounts: folders, delegated administrators, members read and changed through the assumed role', async () => {
  const { web, data } = await seedOrganization();
  const seeded: Record<string, Creds | undefined> = { [MOTO_ACCOUNT]: undefined, [web]: await inAccount(moto, web), [data]: await inAccount(moto, data) };
  for (const [account, creds] of Object.entries(seeded)) await seedGroup(sdk(moto, creds).ec2, `only-in-${account}`);

  let now = Date.now();
  // Pages of one: every Organizations list has to be paged to the end.
  const p = provider(moto, { organization: {}, pageSize: 1, clock: () => now });
  try {
    const o = await p.organization();
    assert.ok(o);
    assert.equal(o.managementAccount, MOTO_ACCOUNT);
    assert.equal(await p.managementAccount(), MOTO_ACCOUNT);
    assert.deepEqual(o.delegatedAdministrators, [data]);
    assert.deepEqual(o.folders, [
      { path: 'development', name: 'development', parentPath: null },
      { path: 'production', name: 'production', parentPath: null },
      { path: 'production/web', name: 'web', parentPath: 'production' },
    ]);
    assert.deepEqual(
      [...o.accounts].sort((a, b) => a.accountId.localeCompare(b.accountId)),
      [
        { accountId: MOTO_ACCOUNT, name: 'master', folderPath: null },
        { accountId: web, name: 'web-prod', folderPath: 'production/web' },
        { accountId: data, name: 'data-dev', folderPath: 'development' },
      ].sort((a, b) => a.accountId.localeCompare(b.accountId)),
    );
    const accounts = await p.listAccounts();
    assert.deepEqual(accounts.map((a) => a.accountId).sort(), [MOTO_ACCOUNT, web, data].sort());
    for (const a of accounts) assert.deepEqual(a.regions, ['us-east-1', 'eu-west-1']);

    // Each account's own resources, through its role (the management account through the base credentials).
    for (const account of [MOTO_ACCOUNT, web, data]) {
      const found = await p.discover({ accountId: account, regionId: 'us-east-1', resourceType: 'AWS::EC2::SecurityGroup' });
      assert.deepEqual(names(found), ['default', `only-in-${account}`], account);
      assert.ok(found.every((s) => s.accountId === account && s.configuration.OwnerId === account));
    }
    assert.equal(p.stats().assumeRoleCalls, 2, 'one AssumeRole per member, none for the management account');

    // Changed through the role too, and read back.
    const webGroup = (await p.discover({ accountId: web, regionId: 'us-east-1', resourceType: 'AWS::EC2::SecurityGroup' })).find(
      (s) => s.resourceName !== 'default',
    )!;
    const r = await p.call(
      'ec2:AuthorizeSecurityGroupIngress',
      { accountId: web, regionId: 'us-east-1' },
      { GroupId: webGroup.resourceId, IpPermissions: WORLD_SSH },
    );
    assert.equal(r.accountId, web);
    assert.equal(r.changed, true);
    const [seen] = (await sdk(moto, seeded[web]).ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [webGroup.resourceId] }))).SecurityGroups!;
    assert.equal(seen!.IpPermissions![0]!.FromPort, 22);
    const again = await p.describe({ accountId: web, regionId: 'us-east-1', resourceType: 'AWS::EC2::SecurityGroup', resourceId: webGroup.resourceId });
    assert.equal((again!.configuration.IpPermissions as unknown[]).length, 1);
    assert.equal(p.stats().assumeRoleCalls, 2, 'the sessions are reused');

    // moto's sessions last an hour: kept until five minutes before they expire, then assumed again.
    now = Date.now() + 54 * 60_000;
    await p.discover({ accountId: web, regionId: 'us-east-1', resourceType: 'AWS::EC2::Instance' });
    assert.equal(p.stats().assumeRoleCalls, 2);
    now = Date.now() + 56 * 60_000;
    await p.discover({ accountId: web, regionId: 'us-east-1', resourceType: 'AWS::EC2::Instance' });
    assert.equal(p.stats().assumeRoleCalls, 3);
  } finally {
    await p.close();
  }
});

test('the role name, external id and session name are configurable; what AWS says of the session shows them', async () => {
  const { web } = await seedOrganization();
  const p = provider(moto, { organization: { roleName: 'ConfixReader', externalId: 'ext-123', sessionName: 'confix-audit' } });
  try {
    const c = await p.assumeRole(
      { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', accessKeySecret: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY' },
      { roleArn: `arn:aws:iam::${web}:role/ConfixReader`, sessionName: 'confix-audit', externalId: 'ext-123', durationSeconds: 900 },
    );
    assert.equal(c.assumedRoleArn, `arn:aws:sts::${web}:assumed-role/ConfixReader/confix-audit`);
    assert.ok(Date.parse(c.expiration) - Date.now() <= 900_000 + 5_000);
    assert.ok(c.accessKeyId && c.accessKeySecret && c.securityToken);
    // The provider's own sessions in the member use the configured names: the calls land in the member account.
    const found = await p.discover({ accountId: web, regionId: 'us-east-1', resourceType: 'AWS::EC2::SecurityGroup' });
    assert.deepEqual(names(found), ['default']);
    assert.equal(found[0]!.configuration.OwnerId, web);
    // Credentials moto accepts, checked against the account they belong to.
    assert.deepEqual(await p.verifyCredentials(web, c), { ok: true });
    const wrong = await p.verifyCredentials(MOTO_ACCOUNT, c);
    assert.equal(wrong.ok, false);
    assert.equal(!wrong.ok && wrong.code, 'AccountMismatch');
    assert.equal(p.roleArn(web, 'ConfixReader'), `arn:aws:iam::${web}:role/ConfixReader`);
    assert.equal(p.principalArn(web), `arn:aws:iam::${web}:root`);
    // A function's role is assumed with the provider's own credentials.
    const f = await p.assumeRoleForFunction({ roleArn: `arn:aws:iam::${web}:role/fn-role`, sessionName: 'fn' });
    assert.equal(f.assumedRoleArn, `arn:aws:sts::${web}:assumed-role/fn-role/fn`);
  } finally {
    await p.close();
  }
});

test('a refused role: AccessDenied in AWS’s words naming the role, not retried; the recorder records the scope as refused and marks nothing deleted', async () => {
  const { web, data } = await seedOrganization();
  const { iam } = sdk(moto);
  // confix's user in the management account may read everything, and assume the role in web-prod only.
  await iam.send(new CreateUserCommand({ UserName: 'confix' }));
  await iam.send(
    new PutUserPolicyCommand({
      UserName: 'confix',
      PolicyName: 'confix',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: ['ec2:*', 's3:*', 'organizations:*'], Resource: '*' },
          { Effect: 'Allow', Action: 'sts:AssumeRole', Resource: `arn:aws:iam::${web}:role/${ROLE}` },
        ],
      }),
    }),
  );
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: 'confix' }))).AccessKey!;
  const user = { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! };
  // moto creates the role in new accounts, as Organizations does; with moto's IAM on, an assumed role may do what its policies say.
  for (const account of [web, data]) {
    const c = await inAccount(moto, account);
    const memberIam = sdk(moto, c).iam;
    assert.equal((await memberIam.send(new GetRoleCommand({ RoleName: ROLE }))).Role!.RoleName, ROLE);
    await memberIam.send(
      new PutRolePolicyCommand({
        RoleName: ROLE,
        PolicyName: 'admin',
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }),
      }),
    );
    await seedGroup(sdk(moto, c).ec2, `only-in-${account}`);
  }

  const db = await freshDb();
  const options = { organization: {}, regions: ['us-east-1'], credentials: user } as const;
  try {
    // Before: moto lets anyone do anything, and every account is recorded.
    const open = provider(moto, options);
    const first = await new Recorder(db, [open]).snapshot('aws', { resourceTypes: ['AWS::EC2::SecurityGroup'] });
    await open.close();
    assert.equal(first.refused, undefined);
    const [recorded] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM resources WHERE account_id = $1 AND status <> 'ResourceDeleted'`, [data]);
    assert.equal(recorded!.n, 2);

    await moto.auth('on');
    const p = provider(moto, options);
    try {
      const roleArn = `arn:aws:iam::${data}:role/${ROLE}`;
      const refusal = (e: unknown) => {
        assert.ok(e instanceof ProviderError, String(e));
        assert.equal(e.provider, 'aws');
        assert.equal(e.code, 'AccessDenied');
        assert.equal(e.retryable, false);
        assert.equal(e.httpStatus, 403);
        assert.ok(e.message.includes(roleArn), e.message);
        assert.match(e.message, /not authorized to perform: sts:AssumeRole/);
        return true;
      };
      await assert.rejects(p.discover({ accountId: data, regionId: 'us-east-1', resourceType: 'AWS::EC2::SecurityGroup' }), refusal);
      await assert.rejects(p.describe({ accountId: data, regionId: 'us-east-1', resourceType: 'AWS::EC2::SecurityGroup', resourceId: 'sg-0' }), refusal);
      await assert.rejects(
        p.call('ec2:RevokeSecurityGroupIngress', { accountId: data, regionId: 'us-east-1' }, { GroupId: 'sg-0', IpPermissions: WORLD_SSH }),
        refusal,
      );
      await assert.rejects(p.assumeRole({ accessKeyId: user.accessKeyId, accessKeySecret: user.secretAccessKey }, { roleArn, sessionName: 'x' }), refusal);

      const summary = await new Recorder(db, [p]).snapshot('aws', { resourceTypes: ['AWS::EC2::SecurityGroup'] });
      assert.equal(summary.refused?.length, 1);
      const [r] = summary.refused!;
      assert.deepEqual(
        { ...r, message: undefined },
        { accountId: data, regionId: 'us-east-1', resourceType: 'AWS::EC2::SecurityGroup', code: 'AccessDenied', message: undefined },
      );
      assert.ok(r!.message.includes(roleArn), r!.message);
      assert.equal(summary.deleted, 0);
      const rows = await db.query<{ account_id: string; status: string }>(`SELECT account_id, status FROM resources ORDER BY account_id`);
      assert.equal(rows.length, 5, 'two groups in each member, the default one in the management account');
      assert.ok(
        rows.every((x) => x.status !== 'ResourceDeleted'),
        JSON.stringify(rows),
      );
      // The other member and the management account were read through moto's IAM.
      assert.equal(summary.resources, 3);
    } finally {
      await p.close();
    }
  } finally {
    await moto.auth('off');
    await db.close();
  }
});
