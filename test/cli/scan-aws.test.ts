// `confix scan --provider aws` as a user runs it against an AWS account (moto
// here, through AWS_ENDPOINT_URL and an access key in the environment, the
// SDK's own chain): the findings of examples/aws, then --remediate fixing
// them in the account; and a key that may not read S3: the scope is reported
// refused, the rest is judged.
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthorizeSecurityGroupIngressCommand, DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import { GetPublicAccessBlockCommand, PutBucketAclCommand } from '@aws-sdk/client-s3';
import { CreateAccessKeyCommand, CreateUserCommand, PutUserPolicyCommand } from '@aws-sdk/client-iam';
import { runCli } from '../helpers/cli.js';
import { MOTO_ACCOUNT, MOTO_CREDENTIALS, startMoto, type Moto } from '../helpers/moto.js';
import { WORLD_SSH, sdk, seedBucket, seedGroup } from '../providers/aws/fixtures.js';

let moto: Moto;
before(async () => {
  moto = await startMoto();
});
after(async () => {
  await moto?.stop();
});
beforeEach(async () => {
  await moto.reset();
});

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
  assert.deepEqual(rule('aws-restricted-ssh-rdp').nonCompliantResources.map((x: any) => [x.accountId, x.regionId, x.resourceId]), [[MOTO_ACCOUNT, 'us-east-1', group]]);
  assert.deepEqual(rule('aws-s3-bucket-public-read-prohibited').nonCompliantResources.map((x: any) => x.resourceId), ['press-kit']);
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
  await iam.send(new PutUserPolicyCommand({ UserName: 'auditor', PolicyName: 'ec2-read', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: allowed, Resource: '*' }] }) }));
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
  const r = await runCli(SCAN, { AWS_ENDPOINT_URL: moto.endpoint, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: '', AWS_REGION: 'us-east-1', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', AWS_CONFIG_FILE: '/nonexistent', AWS_EC2_METADATA_DISABLED: 'true' });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /credentials/i);
});
