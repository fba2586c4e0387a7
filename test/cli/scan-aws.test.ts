// `confix scan --provider aws` as a user runs it against an AWS account (moto
// here, through AWS_ENDPOINT_URL and an access key in the environment, the
// SDK's own chain): the findings of examples/aws, then --remediate fixing
// them in the account; and a key that may not read S3: the scope is reported
// refused, the rest is judged. And `confix serve --config` governing the
// sandbox and that account at once, the CLI filtering by provider.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthorizeSecurityGroupIngressCommand, DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import { GetPublicAccessBlockCommand, PutBucketAclCommand } from '@aws-sdk/client-s3';
import { CreateAccessKeyCommand, CreateUserCommand, PutUserPolicyCommand } from '@aws-sdk/client-iam';
import { runCli, startServing } from '../helpers/cli.js';
import { MOTO_ACCOUNT, MOTO_CREDENTIALS, useMoto } from '../helpers/moto.js';
import { WORLD_SSH, sdk, seedBucket, seedGroup } from '../providers/aws/fixtures.js';

const moto = useMoto();

const env = (key: { accessKeyId: string; secretAccessKey: string } = MOTO_CREDENTIALS) => ({
  AWS_ENDPOINT_URL: moto.endpoint,
  AWS_ACCESS_KEY_ID: key.accessKeyId,
  AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
  AWS_REGION: 'us-east-1',
  AWS_PROFILE: '',
});
const SCAN = ['scan', '--provider', 'aws', '--regions', 'us-east-1', '--policies', 'examples/aws'];

async function seed() {
  const { ec2, s3 } = sdk(moto);
  const group = await seedGroup(ec2, 'web');
  await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: group, IpPermissions: WORLD_SSH }));
  await seedBucket(s3, 'press-kit');
  await s3.send(new PutBucketAclCommand({ Bucket: 'press-kit', ACL: 'public-read' }));
  return { ec2, s3, group };
}

test('confix scan --provider aws: the findings, then --remediate fixes them in the account', async () => {
  const { ec2, s3, group } = await seed();
  const r = await runCli([...SCAN, '--json'], env());
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /NodeVersionSupportWarning/);
  const report = JSON.parse(r.stdout);
  const rule = (name: string) => report.rules.find((x: any) => x.name === name);
  assert.deepEqual(
    rule('aws-restricted-ssh-rdp').nonCompliantResources.map((x: any) => [x.accountId, x.regionId, x.resourceId]),
    [[MOTO_ACCOUNT, 'us-east-1', group]],
  );
  assert.deepEqual(
    rule('aws-s3-bucket-public-read-prohibited').nonCompliantResources.map((x: any) => x.resourceId),
    ['press-kit'],
  );
  assert.equal(rule('aws-restricted-ssh-rdp').compliant, 1, 'the VPC’s default group');

  const fixed = await runCli([...SCAN, '--remediate'], env());
  assert.equal(fixed.code, 0, fixed.stderr);
  assert.match(fixed.stdout, /remediation: 2 succeeded, 0 failed, 0 not started/);
  assert.match(fixed.stdout, /after remediation:[\s\S]*aws-restricted-ssh-rdp\s+0\s+2/);
  const g = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [group] }))).SecurityGroups![0]!;
  assert.deepEqual(g.IpPermissions, []);
  assert.equal((await s3.send(new GetPublicAccessBlockCommand({ Bucket: 'press-kit' }))).PublicAccessBlockConfiguration!.IgnorePublicAcls, true);
});

test('confix scan --provider aws with a key that may not read S3: the bucket scope is reported refused, the groups are judged', async () => {
  const { iam } = sdk(moto);
  const { group } = await seed();
  await iam.send(new CreateUserCommand({ UserName: 'auditor' }));
  const allowed = ['sts:GetCallerIdentity', 'ec2:Describe*'];
  await iam.send(
    new PutUserPolicyCommand({
      UserName: 'auditor',
      PolicyName: 'ec2-read',
      PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: allowed, Resource: '*' }] }),
    }),
  );
  const k = (await iam.send(new CreateAccessKeyCommand({ UserName: 'auditor' }))).AccessKey!;
  await moto.auth('on');
  try {
    const r = await runCli(SCAN, env({ accessKeyId: k.AccessKeyId!, secretAccessKey: k.SecretAccessKey! }));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /refused: AWS::S3::Bucket in 123456789012\/us-east-1: AccessDenied: .*s3:ListAllMyBuckets/);
    assert.match(r.stdout, new RegExp(`aws-restricted-ssh-rdp: 1 non-compliant\\n\\s+AWS::EC2::SecurityGroup ${group}`));
  } finally {
    await moto.auth('off');
  }
});

test('confix scan --provider aws without credentials says so, and how to give them', async () => {
  const r = await runCli(SCAN, {
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
    AWS_PROFILE: '',
    AWS_REGION: 'us-east-1',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
    AWS_CONFIG_FILE: '/nonexistent',
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /credentials/i);
});

test('confix serve --config with a sandbox and an aws entry: both discovered; get resources and discover by provider', async () => {
  const { group } = await seed();
  const dir = mkdtempSync(join(tmpdir(), 'confix-serve-aws-'));
  const config = join(dir, 'confix.yaml');
  writeFileSync(
    config,
    `providers:\n  - type: sandbox\n  - type: aws\n    name: aws-dev\n    endpoint: ${moto.endpoint}\n    regions: [us-east-1]\n    organization: false\n`,
  );
  const data = join(dir, 'data');
  const server = await startServing(['serve', '--config', config, '--data', data], {
    env: { ...process.env, ...env(), NO_COLOR: '1', CONFIX_URL: '', CONFIX_TOKEN: '' },
  });
  try {
    const url = server.url;
    const token = readFileSync(join(data, 'admin.token'), 'utf8').trim();
    const cli = (...args: string[]) => runCli(['--url', url, ...args], { CONFIX_TOKEN: token });
    const aws = await cli('get', 'resources', '--provider', 'aws-dev', '--json');
    assert.equal(aws.code, 0, aws.stderr);
    const items = JSON.parse(aws.stdout).items as { provider: string; resourceId: string; resourceType: string }[];
    assert.ok(items.length >= 3 && items.every((r) => r.provider === 'aws-dev'), aws.stdout);
    assert.ok(items.some((r) => r.resourceId === group) && items.some((r) => r.resourceId === 'press-kit'));
    const sandbox = JSON.parse((await cli('get', 'resources', '--provider', 'sandbox', '--json')).stdout);
    assert.ok(sandbox.total > 0 && sandbox.items.every((r: { provider: string }) => r.provider === 'sandbox'), 'the demo estate, in the sandbox');
    // Both in one listing: the provider is a column.
    const mixed = await cli('get', 'resources', '--limit', '5000');
    assert.match(mixed.stdout, /^PROVIDER\s+ACCOUNT/m);
    const d = await cli('discover', '--provider', 'aws-dev');
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /snapshot \(aws-dev\): \d+ resources in \d+ scopes: 0 new, 0 changed, 0 deleted/);
    const bad = await cli('discover', '--provider', 'azure');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /unknown provider azure; known: sandbox, aws-dev/);
    const compliance = await cli('get', 'compliance', '--resource', group);
    assert.match(compliance.stdout, /sg-disallow-risky-ports-for-all-ips\s+\S*\s*sg-/);
  } finally {
    await server.stop();
  }
});
