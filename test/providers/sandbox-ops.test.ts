import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { freshDb } from '../helpers/db.js';
import { MGMT } from '../helpers/estate.js';
import { SandboxCloud, SandboxError, parseEstateText } from '../../src/providers/sandbox/index.js';
import { DEMO_ESTATE } from '../../src/service.js';
import { readFileSync } from 'node:fs';
import type { Db } from '../../src/store/index.js';

let db: Db;
let cloud: SandboxCloud;
before(async () => {
  db = await freshDb();
  cloud = new SandboxCloud(db);
  await cloud.loadEstate(parseEstateText(readFileSync(DEMO_ESTATE, 'utf8'), DEMO_ESTATE).raw);
});
after(async () => {
  await db.close();
});

const cfg = async (type: string, id: string) => {
  const [row] = await db.query<{ configuration: any }>('SELECT configuration FROM sandbox_resources WHERE resource_type = $1 AND resource_id = $2', [type, id]);
  return row?.configuration;
};
const changes = async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM sandbox_changes'))[0]!.n;

async function refusal(p: Promise<unknown>, code: string): Promise<SandboxError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof SandboxError, `expected a SandboxError ${code}, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  return err;
}

test('every mutation writes exactly one change notification; a no-op writes none', async () => {
  const n0 = await changes();
  await cloud.call('ecs:StopInstance', {}, { InstanceId: 'i-bp1mgmtweb000000001' });
  assert.equal(await changes(), n0 + 1);
  const again = await cloud.call('ecs:StopInstance', {}, { InstanceId: 'i-bp1mgmtweb000000001' });
  assert.equal(again.changed, false, 'stopping a stopped instance changes nothing');
  assert.equal(await changes(), n0 + 1);
  assert.equal((await cfg('ACS::ECS::Instance', 'i-bp1mgmtweb000000001')).Status, 'Stopped');
  await cloud.call('ecs:StartInstance', {}, { InstanceId: 'i-bp1mgmtweb000000001' });
  assert.equal((await cfg('ACS::ECS::Instance', 'i-bp1mgmtweb000000001')).Status, 'Running');
});

test('ACS: install the monitoring agent; set a bucket ACL; revoke a world-open rule by id', async () => {
  await cloud.call('cms:InstallMonitoringAgent', {}, { InstanceIds: ['i-bp1memberapp0000001'] });
  assert.equal((await cfg('ACS::ECS::Instance', 'i-bp1memberapp0000001')).MonitoringAgentStatus, 'running');
  await refusal(cloud.call('cms:InstallMonitoringAgent', {}, { InstanceIds: ['i-bp1memberbatch00001'] }), 'IncorrectInstanceStatus');

  await cloud.call('oss:PutBucketAcl', {}, { BucketName: 'confix-demo-public-assets', Acl: 'private' });
  assert.equal((await cfg('ACS::OSS::Bucket', 'confix-demo-public-assets')).AccessControlList.Grant, 'private');
  await refusal(cloud.call('oss:PutBucketAcl', {}, { BucketName: 'no-such-bucket-here', Acl: 'private' }), 'NoSuchBucket');
  await refusal(cloud.call('ec2:StopInstances', {}, { InstanceIds: ['i-00000000000000000'] }), 'InvalidInstanceID.NotFound');
  await refusal(cloud.call('ecs:DeleteSecurityGroup', {}, { SecurityGroupId: 'sg-none' }), 'InvalidSecurityGroupId.NotFound');

  await cloud.call('ecs:RevokeSecurityGroup', {}, { SecurityGroupId: 'sg-debug-open', SecurityGroupRuleId: ['sgr-debug-ssh-world'] });
  const ids = (await cfg('ACS::ECS::SecurityGroup', 'sg-debug-open')).Permissions.Permission.map((p: any) => p.SecurityGroupRuleId);
  assert.deepEqual(ids, ['sgr-debug-rdp-world', 'sgr-debug-http']);
  await refusal(
    cloud.call('ecs:RevokeSecurityGroup', {}, { SecurityGroupId: 'sg-debug-open', SecurityGroupRuleId: ['sgr-gone'] }),
    'InvalidSecurityGroupRuleId.NotFound',
  );
  const managed = await refusal(
    cloud.call('ecs:RevokeSecurityGroup', {}, { SecurityGroupId: 'sg-ack-managed', SecurityGroupRuleId: ['sgr-ack-all'] }),
    'OperationDenied.ServiceManagedSecurityGroup',
  );
  assert.match(managed.message, /sg-ack-managed/);
});

test('ACS: rules are validated like the cloud does', async () => {
  await refusal(
    cloud.call('ecs:AuthorizeSecurityGroup', {}, { SecurityGroupId: 'sg-web-prod', IpProtocol: 'TCP', PortRange: '0/70000', SourceCidrIp: '0.0.0.0/0' }),
    'InvalidPortRange.Malformed',
  );
  await refusal(
    cloud.call('ecs:AuthorizeSecurityGroup', {}, { SecurityGroupId: 'sg-web-prod', IpProtocol: 'ICMP', PortRange: '22/22', SourceCidrIp: '0.0.0.0/0' }),
    'InvalidPortRange.Malformed',
  );
  await refusal(cloud.call('ecs:AuthorizeSecurityGroup', {}, { SecurityGroupId: 'sg-web-prod' }), 'MissingParameter');
  await refusal(cloud.call('ecs:Teleport', {}, {}), 'InvalidAction.NotFound');
});

test('AWS: duplicate and absent permissions are refused as EC2 does; revoke removes the range', async () => {
  const perm = { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] };
  await cloud.call('ec2:AuthorizeSecurityGroupIngress', {}, { GroupId: 'sg-0fedcba9876543210', IpPermissions: [perm] });
  await refusal(cloud.call('ec2:AuthorizeSecurityGroupIngress', {}, { GroupId: 'sg-0fedcba9876543210', IpPermissions: [perm] }), 'InvalidPermission.Duplicate');
  await cloud.call('ec2:RevokeSecurityGroupIngress', {}, { GroupId: 'sg-0fedcba9876543210', IpPermissions: [perm] });
  await refusal(cloud.call('ec2:RevokeSecurityGroupIngress', {}, { GroupId: 'sg-0fedcba9876543210', IpPermissions: [perm] }), 'InvalidPermission.NotFound');
  const c = await cfg('AWS::EC2::SecurityGroup', 'sg-0fedcba9876543210');
  assert.ok(!c.IpPermissions.some((p: any) => p.FromPort === 22));
  assert.ok(
    c.IpPermissions.some((p: any) => p.FromPort === 443),
    'the other rule stays',
  );
});

test("AWS: stop an instance; block a bucket's public access; canned ACLs become grants", async () => {
  const r = await cloud.call('ec2:StopInstances', {}, { InstanceIds: ['i-0a1b2c3d4e5f60002'] });
  assert.ok(Array.isArray((r.result as any).StoppingInstances));
  assert.equal((await cfg('AWS::EC2::Instance', 'i-0a1b2c3d4e5f60002')).State.Name, 'stopped');
  await cloud.call(
    's3:PutBucketPublicAccessBlock',
    {},
    {
      Bucket: 'confix-demo-website',
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
    },
  );
  const b = await cfg('AWS::S3::Bucket', 'confix-demo-website');
  assert.equal(b.PublicAccessBlockConfiguration.IgnorePublicAcls, true);
  await cloud.call('s3:PutBucketAcl', {}, { Bucket: 'confix-demo-backups', ACL: 'private' });
  const grants = (await cfg('AWS::S3::Bucket', 'confix-demo-backups')).Acl.Grants;
  assert.deepEqual(
    grants.map((g: any) => g.Permission),
    ['FULL_CONTROL'],
  );
});

test('create and delete resources in each vocabulary; creating needs an account and a region it has', async () => {
  const sg = await cloud.call('ecs:CreateSecurityGroup', { accountId: MGMT, regionId: 'cn-hangzhou' }, { SecurityGroupName: 'new' });
  assert.match(sg.resourceId, /^sg-[a-z0-9]{20}$/);
  const inst = await cloud.call(
    'ec2:RunInstances',
    { accountId: MGMT, regionId: 'us-east-1' },
    { ImageId: 'ami-0c55b159cbfafe1f0', InstanceType: 't3.micro', Tags: { Name: 'x' } },
  );
  assert.match(inst.resourceId, /^i-[0-9a-f]{17}$/);
  const bucket = await cloud.call('oss:PutBucket', { accountId: MGMT, regionId: 'cn-hangzhou' }, { BucketName: 'created-in-test' });
  assert.equal(bucket.resourceId, 'created-in-test');
  await refusal(cloud.call('ecs:CreateSecurityGroup', {}, {}), 'MissingParameter');
  await refusal(cloud.call('ecs:CreateSecurityGroup', { accountId: MGMT, regionId: 'eu-west-1' }, {}), 'InvalidRegionId.NotFound');
  await refusal(cloud.call('ecs:CreateSecurityGroup', { accountId: '999999999999', regionId: 'cn-hangzhou' }, {}), 'InvalidAccount.NotFound');
  await cloud.call('ecs:DeleteSecurityGroup', {}, { SecurityGroupId: sg.resourceId });
  await cloud.call('ec2:TerminateInstances', {}, { InstanceIds: [inst.resourceId] });
  await cloud.call('oss:DeleteBucket', {}, { BucketName: 'created-in-test' });
  assert.equal(await cfg('ACS::ECS::SecurityGroup', sg.resourceId), undefined);
  assert.equal(await cfg('AWS::EC2::Instance', inst.resourceId), undefined);
  const kinds = await db.query<{ change_type: string }>(`SELECT change_type FROM sandbox_changes WHERE resource_id = $1 ORDER BY seq`, [inst.resourceId]);
  assert.deepEqual(
    kinds.map((k) => k.change_type),
    ['create', 'delete'],
  );
});

test('tags given at creation appear in the configuration where the cloud shows them', async () => {
  const inst = await cloud.call(
    'ecs:RunInstances',
    { accountId: MGMT, regionId: 'cn-hangzhou' },
    { ImageId: 'aliyun_3_x64_20G_alibase_20240528.vhd', Tags: { team: 'core', env: 'dev' } },
  );
  const c = await cfg('ACS::ECS::Instance', inst.resourceId);
  assert.deepEqual(c.Tags.Tag, [
    { TagKey: 'env', TagValue: 'dev' },
    { TagKey: 'team', TagValue: 'core' },
  ]);
  assert.equal(c.MonitoringAgentStatus, 'not_installed');
});
