// The AWS provider on moto, a single account: accounts and regions, discovery equal to what the SDK lists
// (in the sandbox's shapes), pagination, S3's global listing split by region, describe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AuthorizeSecurityGroupIngressCommand,
  DeleteSecurityGroupCommand,
  DescribeInstancesCommand,
  DescribeRegionsCommand,
  DescribeSecurityGroupsCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  DeleteBucketCommand,
  PutBucketAclCommand,
  PutBucketEncryptionCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
} from '@aws-sdk/client-s3';
import { resourceType as sandboxType } from '../../../src/providers/sandbox/index.js';
import { ProviderError, type ResourceState } from '../../../src/providers/types.js';
import { MOTO_ACCOUNT, useMoto } from '../../helpers/moto.js';
import { WORLD_SSH, provider, sdk, seedBucket, seedGroup, seedInstance } from './fixtures.js';

const moto = useMoto();

const ids = (states: ResourceState[]) => states.map((s) => s.resourceId).sort();
const withoutMetadata = (v: unknown) => JSON.parse(JSON.stringify(v, (k, x) => (k === '$metadata' ? undefined : x))) as Record<string, unknown>;
const sortedTags = (tags: { Key?: string; Value?: string }[] | undefined) => [...(tags ?? [])].sort((a, b) => a.Key!.localeCompare(b.Key!));

/** The configuration is in the sandbox's shape: its schema takes it, and finds nothing to fill in or change. */
function assertSandboxShape(s: ResourceState) {
  const def = sandboxType(s.resourceType);
  assert.ok(def, s.resourceType);
  const parsed = def.schema.safeParse(s.configuration);
  assert.ok(parsed.success, `${s.resourceType} ${s.resourceId}: ${JSON.stringify(!parsed.success && parsed.error.issues)}`);
  assert.deepEqual(parsed.data, s.configuration, `${s.resourceType} ${s.resourceId}: the sandbox's schema would change it`);
}

test('a single account: the account of the credentials, with the configured regions or every enabled one', async () => {
  const p = provider(moto);
  try {
    assert.deepEqual(await p.listAccounts(), [{ accountId: MOTO_ACCOUNT, name: MOTO_ACCOUNT, regions: ['us-east-1', 'eu-west-1'] }]);
    assert.equal(await p.organization(), null);
    assert.equal(await p.managementAccount(), undefined);
    assert.deepEqual(
      p.resourceTypes().map((t) => t.type),
      ['AWS::EC2::SecurityGroup', 'AWS::EC2::Instance', 'AWS::S3::Bucket'],
    );
  } finally {
    await p.close();
  }
  // No regions configured: those DescribeRegions says are enabled. Organization left out and none exists: the single account.
  const all = provider(moto, { regions: undefined, organization: undefined });
  try {
    const enabled = (await sdk(moto).ec2.send(new DescribeRegionsCommand({}))).Regions!.map((r) => r.RegionName!).sort();
    assert.ok(enabled.length > 10);
    const [account] = await all.listAccounts();
    assert.deepEqual(account, { accountId: MOTO_ACCOUNT, name: MOTO_ACCOUNT, regions: enabled });
    assert.equal(await all.organization(), null);
  } finally {
    await all.close();
  }
});

test('security groups: discovery equals DescribeSecurityGroups, per region, in the sandbox’s shape', async () => {
  const us = sdk(moto).ec2;
  const eu = sdk(moto, undefined, 'eu-west-1').ec2;
  const web = await seedGroup(us, 'web', { team: 'payments', env: 'prod' });
  await us.send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: web,
      IpPermissions: [
        ...WORLD_SSH,
        { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'HTTPS' }], Ipv6Ranges: [{ CidrIpv6: '::/0' }] },
      ],
    }),
  );
  for (let i = 0; i < 6; i++) await seedGroup(us, `app-${i}`);
  await seedGroup(eu, 'eu-db');
  const p = provider(moto, { pageSize: 5 });
  try {
    for (const [region, client] of [
      ['us-east-1', us],
      ['eu-west-1', eu],
    ] as const) {
      const listed = (await client.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups!;
      const found = await p.discover({ accountId: MOTO_ACCOUNT, regionId: region, resourceType: 'AWS::EC2::SecurityGroup' });
      assert.deepEqual(ids(found), listed.map((g) => g.GroupId!).sort(), region);
      for (const s of found) {
        const g = listed.find((x) => x.GroupId === s.resourceId)!;
        assert.deepEqual(s.configuration, withoutMetadata({ ...g, Tags: sortedTags(g.Tags) }));
        assert.equal(s.resourceName, g.GroupName);
        assert.equal(s.accountId, MOTO_ACCOUNT);
        assert.equal(s.regionId, region);
        assertSandboxShape(s);
      }
    }
    const w = await p.describe({ accountId: MOTO_ACCOUNT, regionId: 'us-east-1', resourceType: 'AWS::EC2::SecurityGroup', resourceId: web });
    assert.deepEqual(w!.tags, { env: 'prod', team: 'payments' });
    assert.deepEqual(w!.configuration.Tags, [
      { Key: 'env', Value: 'prod' },
      { Key: 'team', Value: 'payments' },
    ]);
    const ssh = (w!.configuration.IpPermissions as { FromPort?: number; IpRanges: unknown[] }[]).find((x) => x.FromPort === 22)!;
    assert.deepEqual(ssh.IpRanges, [{ CidrIp: '0.0.0.0/0' }]);
  } finally {
    await p.close();
  }
});

test('instances: one item per instance out of its reservation, paged past one page, terminated ones gone', async () => {
  const ec2 = sdk(moto).ec2;
  const sg = await seedGroup(ec2, 'app');
  const launched: string[] = [];
  // 13 reservations: with pages of 5, only paging to the end finds them all.
  for (let i = 0; i < 12; i++) launched.push(...(await seedInstance(ec2, { name: `app-${i}`, groups: [sg] })));
  launched.push(...(await seedInstance(ec2, { count: 3 })));
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [launched[0]!] }));
  const p = provider(moto, { pageSize: 5 });
  try {
    const found = await p.discover({ accountId: MOTO_ACCOUNT, regionId: 'us-east-1', resourceType: 'AWS::EC2::Instance' });
    const listed = (await ec2.send(new DescribeInstancesCommand({}))).Reservations!.flatMap((r) => r.Instances!).filter((i) => i.State?.Name !== 'terminated');
    assert.equal(found.length, 14);
    assert.deepEqual(ids(found), listed.map((i) => i.InstanceId!).sort());
    assert.deepEqual(ids(found), launched.slice(1).sort());
    for (const s of found) {
      const i = listed.find((x) => x.InstanceId === s.resourceId)!;
      assert.deepEqual(s.configuration, withoutMetadata({ ...i, Tags: sortedTags(i.Tags), LaunchTime: i.LaunchTime!.toISOString() }));
      assert.equal(typeof s.configuration.LaunchTime, 'string');
      assertSandboxShape(s);
    }
    const named = found.find((s) => s.resourceId === launched[1])!;
    assert.equal(named.resourceName, 'app-1');
    assert.deepEqual(named.tags, { Name: 'app-1' });
    assert.deepEqual(named.configuration.SecurityGroups, [{ GroupId: sg, GroupName: 'app' }]);
    assert.equal(found.find((s) => s.resourceId === launched[13])!.resourceName, undefined);
    assert.deepEqual(await p.discover({ accountId: MOTO_ACCOUNT, regionId: 'eu-west-1', resourceType: 'AWS::EC2::Instance' }), []);
  } finally {
    await p.close();
  }
});

test('buckets: listed once for the account, each in its own region (configured regions only), with ACL, block, versioning, encryption, policy status and tags', async () => {
  const { s3 } = sdk(moto);
  await seedBucket(s3, 'logs-prod');
  await seedBucket(s3, 'assets-public');
  await seedBucket(s3, 'eu-exports', 'eu-west-1');
  await seedBucket(s3, 'ap-backups', 'ap-southeast-1');
  await s3.send(new PutBucketAclCommand({ Bucket: 'assets-public', ACL: 'public-read' }));
  await s3.send(
    new PutBucketPolicyCommand({
      Bucket: 'assets-public',
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::assets-public/*' }],
      }),
    }),
  );
  await s3.send(
    new PutPublicAccessBlockCommand({
      Bucket: 'logs-prod',
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
    }),
  );
  await s3.send(
    new PutBucketTaggingCommand({
      Bucket: 'logs-prod',
      Tagging: {
        TagSet: [
          { Key: 'team', Value: 'platform' },
          { Key: 'env', Value: 'prod' },
        ],
      },
    }),
  );
  await s3.send(new PutBucketVersioningCommand({ Bucket: 'logs-prod', VersioningConfiguration: { Status: 'Enabled' } }));
  await s3.send(
    new PutBucketEncryptionCommand({
      Bucket: 'logs-prod',
      ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
    }),
  );
  const p = provider(moto);
  try {
    const us = await p.discover({ accountId: MOTO_ACCOUNT, regionId: 'us-east-1', resourceType: 'AWS::S3::Bucket' });
    const eu = await p.discover({ accountId: MOTO_ACCOUNT, regionId: 'eu-west-1', resourceType: 'AWS::S3::Bucket' });
    assert.deepEqual(ids(us), ['assets-public', 'logs-prod']);
    assert.deepEqual(ids(eu), ['eu-exports']);
    const logs = us.find((s) => s.resourceId === 'logs-prod')!;
    assert.equal(logs.resourceName, 'logs-prod');
    assert.deepEqual(logs.tags, { env: 'prod', team: 'platform' });
    const c = logs.configuration;
    assert.deepEqual(Object.keys(c), [
      'Name',
      'CreationDate',
      'Region',
      'Acl',
      'PublicAccessBlockConfiguration',
      'Versioning',
      'ServerSideEncryptionConfiguration',
      'PolicyStatus',
      'Tags',
    ]);
    assert.equal(c.Name, 'logs-prod');
    assert.equal(c.Region, 'us-east-1');
    assert.match(String(c.CreationDate), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.deepEqual(c.PublicAccessBlockConfiguration, { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true });
    assert.deepEqual(c.Versioning, { Status: 'Enabled' });
    assert.deepEqual(c.ServerSideEncryptionConfiguration, {
      Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: false }],
    });
    assert.deepEqual(c.Tags, [
      { Key: 'env', Value: 'prod' },
      { Key: 'team', Value: 'platform' },
    ]);
    assert.deepEqual(c.PolicyStatus, { IsPublic: false });
    // No public access block, policy or tags: data, not errors (the block's four settings off, as S3 treats a missing one).
    const pub = us.find((s) => s.resourceId === 'assets-public')!.configuration;
    assert.deepEqual(pub.PublicAccessBlockConfiguration, {
      BlockPublicAcls: false,
      IgnorePublicAcls: false,
      BlockPublicPolicy: false,
      RestrictPublicBuckets: false,
    });
    assert.deepEqual(pub.Tags, []);
    assert.deepEqual(pub.Versioning, {});
    assert.ok((pub.Acl as { Grants: { Grantee: { URI?: string } }[] }).Grants.some((g) => g.Grantee.URI === 'http://acs.amazonaws.com/groups/global/AllUsers'));
    assert.ok((pub.Acl as { Owner?: { ID?: string } }).Owner?.ID);
    assert.equal(eu[0]!.configuration.Region, 'eu-west-1');
    for (const s of [...us, ...eu]) assertSandboxShape(s);
    // The sandbox's own bucket has no field this one lacks.
    const sandboxKeys = Object.keys(
      sandboxType('AWS::S3::Bucket')!.normalize({
        id: 'logs-prod',
        accountId: MOTO_ACCOUNT,
        regionId: 'us-east-1',
        tags: {},
        configuration: { ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] } },
      }),
    );
    assert.deepEqual(
      sandboxKeys.filter((k) => !(k in c)),
      [],
    );
  } finally {
    await p.close();
  }
});

test('describe: one resource as it is now; null when it is gone, in another region, or not an id at all', async () => {
  const { ec2, s3 } = sdk(moto);
  const sg = await seedGroup(ec2, 'web');
  const [i] = await seedInstance(ec2, { name: 'web-1', groups: [sg] });
  const doomed = await seedGroup(ec2, 'doomed');
  await seedBucket(s3, 'b-us');
  await seedBucket(s3, 'b-eu', 'eu-west-1');
  const p = provider(moto, { bucketListTtlMs: 0 });
  const key = (resourceType: string, resourceId: string, regionId = 'us-east-1') => ({ accountId: MOTO_ACCOUNT, regionId, resourceType, resourceId });
  try {
    const group = await p.describe(key('AWS::EC2::SecurityGroup', sg));
    assert.equal(group!.configuration.GroupName, 'web');
    const inst = await p.describe(key('AWS::EC2::Instance', i!));
    assert.equal((inst!.configuration.State as { Name: string }).Name, 'running');
    assert.equal(inst!.resourceName, 'web-1');
    const b = await p.describe(key('AWS::S3::Bucket', 'b-eu', 'eu-west-1'));
    assert.equal(b!.configuration.Region, 'eu-west-1');
    // Equal to what discovery says of it.
    const [discovered] = await p.discover({ accountId: MOTO_ACCOUNT, regionId: 'eu-west-1', resourceType: 'AWS::S3::Bucket' });
    assert.deepEqual(b, discovered);

    await ec2.send(new DeleteSecurityGroupCommand({ GroupId: doomed }));
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [i!] }));
    await s3.send(new DeleteBucketCommand({ Bucket: 'b-us' }));
    assert.equal(await p.describe(key('AWS::EC2::SecurityGroup', doomed)), null);
    assert.equal(await p.describe(key('AWS::EC2::Instance', i!)), null, 'terminated');
    assert.equal(await p.describe(key('AWS::S3::Bucket', 'b-us')), null);
    assert.equal(await p.describe(key('AWS::S3::Bucket', 'b-eu')), null, 'asked in another region');
    assert.equal(await p.describe(key('AWS::EC2::SecurityGroup', sg, 'eu-west-1')), null, 'asked in another region');
    assert.equal(await p.describe(key('AWS::EC2::SecurityGroup', 'sg-00000000000000000')), null);
    assert.equal(await p.describe(key('AWS::EC2::Instance', 'i-00000000000000000')), null);
    await assert.rejects(
      p.describe(key('AWS::Lambda::Function', 'f')),
      (e: unknown) => e instanceof ProviderError && e.code === 'InvalidParameterValue' && !e.retryable,
    );
  } finally {
    await p.close();
  }
});

test('requests in flight per account stay within concurrencyPerAccount', async () => {
  const { s3 } = sdk(moto);
  for (let i = 0; i < 12; i++) await seedBucket(s3, `bucket-${String(i).padStart(2, '0')}`);
  const p = provider(moto, { concurrencyPerAccount: 3 });
  try {
    const found = await p.discover({ accountId: MOTO_ACCOUNT, regionId: 'us-east-1', resourceType: 'AWS::S3::Bucket' });
    assert.equal(found.length, 12);
    // 12 buckets × 7 reads were made as concurrently as the code could: at most 3 at a time.
    assert.equal(p.stats().peakRequestsInFlight[MOTO_ACCOUNT], 3);
  } finally {
    await p.close();
  }
});
