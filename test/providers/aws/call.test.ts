// call() on moto: every mapped action by its IAM name with the API's parameters, its change visible in describe;
// the built-in AWS remediation actions (preview, apply, verify, rollback) through it; errors as ProviderErrors.
import { after, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { DescribeImagesCommand, EC2ServiceException } from '@aws-sdk/client-ec2';
import { GetBucketPolicyCommand, S3ServiceException } from '@aws-sdk/client-s3';
import { CreateAccessKeyCommand, CreateUserCommand, PutUserPolicyCommand } from '@aws-sdk/client-iam';
import { AwsProvider, AWS_ACTIONS, callPermissions, toProviderError } from '../../../src/providers/aws/index.js';
import { ProviderError, type ProviderCredentials, type ResourceKey } from '../../../src/providers/types.js';
import '../../../src/remediation/actions/index.js';
import { remediationAction } from '../../../src/remediation/registry.js';
import type { ActionContext } from '../../../src/remediation/types.js';
import { MOTO_ACCOUNT, MOTO_CREDENTIALS, useMoto } from '../../helpers/moto.js';
import { WORLD_SSH, inAccount, provider, sdk, seedBucket, seedGroup, seedInstance } from './fixtures.js';

let p: AwsProvider;
// Registered before useMoto's: the old provider is closed before moto is reset or stopped.
after(() => p?.close());
beforeEach(() => p?.close());
const moto = useMoto();
beforeEach(() => {
  p = provider(moto, { bucketListTtlMs: 0 });
});

const US = { accountId: MOTO_ACCOUNT, regionId: 'us-east-1' };
const EU = { accountId: MOTO_ACCOUNT, regionId: 'eu-west-1' };
const key = (resourceType: string, resourceId: string, where = US): ResourceKey => ({ ...where, resourceType, resourceId });
const sg = (id: string) => p.describe(key('AWS::EC2::SecurityGroup', id));
const inst = (id: string) => p.describe(key('AWS::EC2::Instance', id));
const bucket = (name: string, where = US) => p.describe(key('AWS::S3::Bucket', name, where));
const isCode =
  (code: string, retryable = false) =>
  (e: unknown) => {
    assert.ok(e instanceof ProviderError, String(e));
    assert.equal(e.code, code, e.message);
    assert.equal(e.retryable, retryable, `${code} retryable`);
    assert.equal(e.provider, 'aws');
    return true;
  };

test('security group actions: create, authorize and revoke ingress and egress, delete', async () => {
  const created = await p.call('ec2:CreateSecurityGroup', US, { GroupName: 'web', Description: 'web tier', Tags: { team: 'payments' } });
  assert.equal(created.action, 'ec2:CreateSecurityGroup');
  assert.equal(created.resourceType, 'AWS::EC2::SecurityGroup');
  assert.match(created.resourceId, /^sg-/);
  assert.equal(created.result.GroupId, created.resourceId);
  assert.equal(created.changed, true);
  assert.ok(created.requestId);
  const id = created.resourceId;
  assert.deepEqual((await sg(id))!.tags, { team: 'payments' });

  const auth = await p.call('ec2:AuthorizeSecurityGroupIngress', US, { GroupId: id, IpPermissions: WORLD_SSH });
  assert.deepEqual([auth.changed, auth.resourceId, auth.result.Return], [true, id, true]);
  assert.deepEqual(
    ((await sg(id))!.configuration.IpPermissions as { FromPort: number }[]).map((x) => x.FromPort),
    [22],
  );
  await assert.rejects(p.call('ec2:AuthorizeSecurityGroupIngress', US, { GroupId: id, IpPermissions: WORLD_SSH }), isCode('InvalidPermission.Duplicate'));

  const rev = await p.call('ec2:RevokeSecurityGroupIngress', US, { GroupId: id, IpPermissions: WORLD_SSH });
  assert.equal(rev.changed, true);
  assert.deepEqual((await sg(id))!.configuration.IpPermissions, []);
  await assert.rejects(p.call('ec2:RevokeSecurityGroupIngress', US, { GroupId: id, IpPermissions: WORLD_SSH }), isCode('InvalidPermission.NotFound'));

  const egress = [{ IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, IpRanges: [{ CidrIp: '10.0.0.0/8' }] }];
  assert.equal((await p.call('ec2:AuthorizeSecurityGroupEgress', US, { GroupId: id, IpPermissions: egress })).changed, true);
  assert.ok(((await sg(id))!.configuration.IpPermissionsEgress as { FromPort?: number }[]).some((x) => x.FromPort === 5432));
  assert.equal((await p.call('ec2:RevokeSecurityGroupEgress', US, { GroupId: id, IpPermissions: egress })).changed, true);
  assert.ok(!((await sg(id))!.configuration.IpPermissionsEgress as { FromPort?: number }[]).some((x) => x.FromPort === 5432));

  const del = await p.call('ec2:DeleteSecurityGroup', US, { GroupId: id });
  assert.deepEqual([del.changed, del.resourceId], [true, id]);
  assert.equal(await sg(id), null);
  await assert.rejects(p.call('ec2:DeleteSecurityGroup', US, { GroupId: id }), isCode('InvalidGroup.NotFound'));
});

test('instance actions: run, stop, start, metadata options, terminate (monitoring: moto has none)', async () => {
  const image = (await sdk(moto).ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images![0]!.ImageId!;
  const run = await p.call('ec2:RunInstances', US, { ImageId: image, InstanceType: 't3.micro', Tags: { Name: 'api-1' } });
  assert.equal(run.resourceType, 'AWS::EC2::Instance');
  assert.match(run.resourceId, /^i-/);
  assert.equal(run.changed, true);
  const id = run.resourceId;
  let now = await inst(id);
  assert.equal(now!.resourceName, 'api-1');
  assert.equal((now!.configuration.State as { Name: string }).Name, 'running');

  const stop = await p.call('ec2:StopInstances', US, { InstanceIds: [id] });
  assert.deepEqual([stop.changed, stop.resourceId], [true, id]);
  assert.equal((stop.result.StoppingInstances as { PreviousState: { Name: string } }[])[0]!.PreviousState.Name, 'running');
  assert.equal(((await inst(id))!.configuration.State as { Name: string }).Name, 'stopped');
  assert.equal((await p.call('ec2:StopInstances', US, { InstanceIds: [id] })).changed, false, 'already stopped');
  // The sandbox's single-instance form works too.
  assert.equal((await p.call('ec2:StartInstances', US, { InstanceId: id })).changed, true);
  assert.equal(((await inst(id))!.configuration.State as { Name: string }).Name, 'running');

  // moto 5 has no MonitorInstances or UnmonitorInstances (it answers 500, "not yet implemented"): the calls are
  // made, and the answer is a retryable ProviderError like any 5xx.
  for (const a of ['ec2:MonitorInstances', 'ec2:UnmonitorInstances'])
    await assert.rejects(p.call(a, US, { InstanceIds: [id] }), (e: unknown) => e instanceof ProviderError && e.retryable && e.httpStatus === 500);
  await p.call('ec2:ModifyInstanceMetadataOptions', US, { InstanceId: id, HttpTokens: 'required' });
  now = await inst(id);
  assert.equal((now!.configuration.MetadataOptions as { HttpTokens: string }).HttpTokens, 'required');

  const term = await p.call('ec2:TerminateInstances', US, { InstanceIds: [id] });
  assert.deepEqual([term.changed, term.resourceId], [true, id]);
  assert.equal(await inst(id), null);
  await assert.rejects(p.call('ec2:StopInstances', US, { InstanceIds: ['i-00000000000000000'] }), isCode('InvalidInstanceID.NotFound'));
});

test('bucket actions: create (in its region, with tags), ACL, public access block, policy, tagging, versioning, encryption, delete', async () => {
  const created = await p.call('s3:CreateBucket', EU, { Bucket: 'exports-eu', Tags: { team: 'data' } });
  assert.deepEqual([created.resourceType, created.resourceId, created.regionId, created.changed], ['AWS::S3::Bucket', 'exports-eu', 'eu-west-1', true]);
  let b = await bucket('exports-eu', EU);
  assert.equal(b!.configuration.Region, 'eu-west-1');
  assert.deepEqual(b!.tags, { team: 'data' });

  const acl = await p.call('s3:PutBucketAcl', EU, { Bucket: 'exports-eu', ACL: 'public-read' });
  assert.deepEqual([acl.changed, acl.resourceId, acl.result], [true, 'exports-eu', {}]);
  b = await bucket('exports-eu', EU);
  assert.ok((b!.configuration.Acl as { Grants: { Grantee: { URI?: string } }[] }).Grants.some((g) => g.Grantee.URI?.endsWith('/AllUsers')));
  assert.equal((await p.call('s3:PutBucketAcl', EU, { Bucket: 'exports-eu', ACL: 'public-read' })).changed, false, 'the same ACL again');

  const ALL_ON = { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true };
  // IAM's name for it (what the remediation action calls) and the API operation's name are the same action.
  const block = await p.call('s3:PutBucketPublicAccessBlock', EU, { Bucket: 'exports-eu', PublicAccessBlockConfiguration: ALL_ON });
  assert.equal(block.changed, true);
  assert.deepEqual((await bucket('exports-eu', EU))!.configuration.PublicAccessBlockConfiguration, ALL_ON);
  assert.equal((await p.call('s3:PutPublicAccessBlock', EU, { Bucket: 'exports-eu', PublicAccessBlockConfiguration: ALL_ON })).changed, false);
  assert.equal((await p.call('s3:DeletePublicAccessBlock', EU, { Bucket: 'exports-eu' })).changed, true);
  assert.deepEqual((await bucket('exports-eu', EU))!.configuration.PublicAccessBlockConfiguration, {
    BlockPublicAcls: false,
    IgnorePublicAcls: false,
    BlockPublicPolicy: false,
    RestrictPublicBuckets: false,
  });
  assert.equal((await p.call('s3:DeleteBucketPublicAccessBlock', EU, { Bucket: 'exports-eu' })).changed, false, 'none to delete');

  const policy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: 'arn:aws:s3:::exports-eu/*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
    ],
  });
  assert.equal((await p.call('s3:PutBucketPolicy', EU, { Bucket: 'exports-eu', Policy: policy })).changed, true);
  assert.ok((await sdk(moto, undefined, 'eu-west-1').s3.send(new GetBucketPolicyCommand({ Bucket: 'exports-eu' }))).Policy);
  assert.equal((await p.call('s3:DeleteBucketPolicy', EU, { Bucket: 'exports-eu' })).changed, true);

  assert.equal((await p.call('s3:PutBucketTagging', EU, { Bucket: 'exports-eu', Tagging: { TagSet: [{ Key: 'env', Value: 'prod' }] } })).changed, true);
  assert.deepEqual((await bucket('exports-eu', EU))!.tags, { env: 'prod' });
  assert.equal((await p.call('s3:DeleteBucketTagging', EU, { Bucket: 'exports-eu' })).changed, true);
  assert.deepEqual((await bucket('exports-eu', EU))!.tags, {});
  assert.equal((await p.call('s3:PutBucketVersioning', EU, { Bucket: 'exports-eu', VersioningConfiguration: { Status: 'Enabled' } })).changed, true);
  assert.deepEqual((await bucket('exports-eu', EU))!.configuration.Versioning, { Status: 'Enabled' });
  const sse = { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'alias/data' } }] };
  assert.equal((await p.call('s3:PutEncryptionConfiguration', EU, { Bucket: 'exports-eu', ServerSideEncryptionConfiguration: sse })).changed, true);
  assert.equal(
    ((await bucket('exports-eu', EU))!.configuration.ServerSideEncryptionConfiguration as typeof sse).Rules[0]!.ApplyServerSideEncryptionByDefault.SSEAlgorithm,
    'aws:kms',
  );

  // Without a region, a bucket's calls go to its own region.
  const anywhere = await p.call(
    's3:PutBucketVersioning',
    { accountId: MOTO_ACCOUNT },
    { Bucket: 'exports-eu', VersioningConfiguration: { Status: 'Suspended' } },
  );
  assert.equal(anywhere.regionId, 'eu-west-1');

  assert.equal((await p.call('s3:DeleteBucket', EU, { Bucket: 'exports-eu' })).changed, true);
  assert.equal(await bucket('exports-eu', EU), null);
  await assert.rejects(p.call('s3:PutBucketAcl', EU, { Bucket: 'exports-eu', ACL: 'private' }), isCode('NoSuchBucket'));
});

test('every action of the table is one the provider says it makes, and every call the AWS remediation actions make is in it', () => {
  assert.deepEqual(p.actions(), Object.keys(AWS_ACTIONS).sort());
  for (const name of ['AWS-DisablePublicAccessForSecurityGroup', 'AWS-StopEC2Instance', 'AWS-DisableS3BucketPublicReadWrite']) {
    const a = remediationAction(name);
    assert.ok(a, name);
    for (const perm of a.permissions.filter((x) => !/:(Describe|Get)/.test(x))) assert.ok(p.actions().includes(perm), `${name} needs ${perm}`);
  }
  // The IAM actions a call needs, for a least-privilege policy: S3 authorises some operations under another name.
  assert.deepEqual(callPermissions('s3:DeletePublicAccessBlock'), { required: 's3:PutBucketPublicAccessBlock', optional: ['s3:GetBucketPublicAccessBlock'] });
  assert.deepEqual(callPermissions('s3:PutBucketPublicAccessBlock'), {
    required: 's3:PutBucketPublicAccessBlock',
    optional: ['s3:GetBucketPublicAccessBlock'],
  });
  assert.deepEqual(callPermissions('ec2:RevokeSecurityGroupIngress'), { required: 'ec2:RevokeSecurityGroupIngress', optional: [] });
  assert.deepEqual(callPermissions('s3:CreateBucket'), { required: 's3:CreateBucket', optional: ['s3:PutBucketTagging'] });
  assert.equal(callPermissions('ecs:StopInstance'), undefined);
});

/** What the remediation worker gives an action: calls and reads in the resource's account and region. */
async function contextFor(k: ResourceKey): Promise<ActionContext> {
  const state = await p.describe(k);
  assert.ok(state, `${k.resourceId} exists`);
  const where = { accountId: k.accountId, regionId: k.regionId };
  return {
    resource: { ...k, configuration: state.configuration, tags: state.tags },
    call: (a, params) => p.call(a, where, params),
    describe: async (type, id) => (await p.describe({ ...where, resourceType: type, resourceId: id }))?.configuration ?? null,
  };
}

test('the AWS remediation actions on moto: preview, apply, verify, rollback', async () => {
  const { ec2, s3 } = sdk(moto);
  // AWS-DisablePublicAccessForSecurityGroup: SSH open to the world is revoked, HTTPS stays; rollback authorizes it again.
  const group = await seedGroup(ec2, 'bastion');
  await p.call('ec2:AuthorizeSecurityGroupIngress', US, {
    GroupId: group,
    IpPermissions: [
      { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }, { CidrIp: '10.0.0.0/8' }] },
      { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
    ],
  });
  const sgAction = remediationAction('AWS-DisablePublicAccessForSecurityGroup')!;
  let ctx = await contextFor(key('AWS::EC2::SecurityGroup', group));
  const preview = await sgAction.preview(ctx, { GroupId: group });
  assert.match(preview.summary, /TCP 22 from 0\.0\.0\.0\/0/);
  assert.ok(!preview.noop && !preview.refusal);
  const applied = await sgAction.apply(ctx, { GroupId: group });
  assert.match(applied.summary, /revoked/);
  assert.deepEqual(await sgAction.verify(ctx, { GroupId: group }), {
    ok: true,
    message: `no ingress permission of ${group} opens 22 or 3389 to 0.0.0.0/0 or ::/0`,
  });
  const perms = (await sg(group))!.configuration.IpPermissions as { FromPort: number; IpRanges: { CidrIp: string }[] }[];
  assert.deepEqual(perms.map((x) => [x.FromPort, x.IpRanges.map((r) => r.CidrIp)]).sort(), [
    [22, ['10.0.0.0/8']],
    [443, ['0.0.0.0/0']],
  ]);
  await sgAction.rollback!(ctx, applied.priorState);
  assert.equal((await sgAction.verify(ctx, { GroupId: group })).ok, false, 'SSH is open again');
  ctx = await contextFor(key('AWS::EC2::SecurityGroup', group));
  assert.equal((await sgAction.preview(ctx, { GroupId: group })).noop, undefined);

  // AWS-StopEC2Instance: stopped; rollback starts it again.
  const [instance] = await seedInstance(ec2, { name: 'unapproved' });
  const stopAction = remediationAction('AWS-StopEC2Instance')!;
  ctx = await contextFor(key('AWS::EC2::Instance', instance!));
  const stopped = await stopAction.apply(ctx, { InstanceId: instance });
  assert.match(stopped.summary, /stopped instance/);
  assert.deepEqual(await stopAction.verify(ctx, { InstanceId: instance }), { ok: true, message: `instance ${instance} is stopped` });
  await stopAction.rollback!(ctx, stopped.priorState);
  assert.equal(((await inst(instance!))!.configuration.State as { Name: string }).Name, 'running');

  // AWS-DisableS3BucketPublicReadWrite: the public access block turned on; rollback puts the old one back.
  await seedBucket(s3, 'public-assets');
  await p.call('s3:PutBucketAcl', US, { Bucket: 'public-assets', ACL: 'public-read' });
  const s3Action = remediationAction('AWS-DisableS3BucketPublicReadWrite')!;
  ctx = await contextFor(key('AWS::S3::Bucket', 'public-assets'));
  assert.match(
    (await s3Action.preview(ctx, { S3BucketName: 'public-assets' })).summary,
    /turn on BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets/,
  );
  const blocked = await s3Action.apply(ctx, { S3BucketName: 'public-assets' });
  assert.deepEqual(await s3Action.verify(ctx, { S3BucketName: 'public-assets' }), { ok: true, message: 'the public access block of public-assets is all on' });
  await s3Action.rollback!(ctx, blocked.priorState);
  assert.equal((await s3Action.verify(ctx, { S3BucketName: 'public-assets' })).ok, false);
});

test('credentials given are used for the call instead of the provider’s own: the call lands in their account', async () => {
  const member = '210987654321';
  const c = await inAccount(moto, member, 'ExecutionRole');
  const creds: ProviderCredentials = { accessKeyId: c.accessKeyId, accessKeySecret: c.secretAccessKey, securityToken: c.sessionToken! };
  const r = await p.call('ec2:CreateSecurityGroup', { regionId: 'us-east-1' }, { GroupName: 'made-by-role', Description: 'x' }, creds);
  assert.equal(r.accountId, member, 'the account of the credentials (GetCallerIdentity)');
  const mine = await p.discover({ ...US, resourceType: 'AWS::EC2::SecurityGroup' });
  assert.ok(!mine.some((s) => s.resourceId === r.resourceId), 'not in the provider’s own account');
  const theirs = await p.describe({ accountId: member, regionId: 'us-east-1', resourceType: 'AWS::EC2::SecurityGroup', resourceId: r.resourceId }, creds);
  assert.equal(theirs!.configuration.OwnerId, member);
  assert.equal((await p.discover({ accountId: member, regionId: 'us-east-1', resourceType: 'AWS::EC2::SecurityGroup' }, creds)).length, 2);
});

test('a call the credentials may not make: AWS’s AccessDenied naming the action, not retryable (moto’s IAM)', async () => {
  const { iam, ec2 } = sdk(moto);
  const group = await seedGroup(ec2, 'web');
  await iam.send(new CreateUserCommand({ UserName: 'reader' }));
  await iam.send(
    new PutUserPolicyCommand({
      UserName: 'reader',
      PolicyName: 'read',
      PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ec2:Describe*', Resource: '*' }] }),
    }),
  );
  const k = (await iam.send(new CreateAccessKeyCommand({ UserName: 'reader' }))).AccessKey!;
  const reader = { accessKeyId: k.AccessKeyId!, accessKeySecret: k.SecretAccessKey! };
  await moto.auth('on');
  try {
    assert.equal((await p.describe(key('AWS::EC2::SecurityGroup', group), reader))!.resourceId, group);
    await assert.rejects(p.call('ec2:RevokeSecurityGroupIngress', US, { GroupId: group, IpPermissions: WORLD_SSH }, reader), (e: unknown) => {
      isCode('AccessDenied')(e);
      assert.match((e as Error).message, /ec2:RevokeSecurityGroupIngress/);
      assert.equal((e as ProviderError).httpStatus, 403);
      return true;
    });
    // A refused read says which one (S3's own message is only "Access Denied").
    await assert.rejects(p.discover({ ...US, resourceType: 'AWS::S3::Bucket' }, reader), (e: unknown) => {
      isCode('AccessDenied')(e);
      assert.match((e as Error).message, /s3:ListAllMyBuckets/);
      return true;
    });
  } finally {
    await moto.auth('off');
  }
});

test('errors: AWS’s codes and words, retryable only when trying again can help', async () => {
  await assert.rejects(p.call('ec2:RevokeSecurityGroupIngress', US, { GroupId: 'sg-00000000000000000', IpPermissions: WORLD_SSH }), (e: unknown) => {
    isCode('InvalidGroup.NotFound')(e);
    assert.equal((e as ProviderError).httpStatus, 400);
    assert.match((e as Error).message, /sg-00000000000000000/);
    return true;
  });
  await assert.rejects(
    p.call('ecs:StopInstance', US, { InstanceId: 'i-1' }),
    (e: unknown) => isCode('InvalidAction')(e) && /ec2:StopInstances/.test((e as Error).message),
  );
  await assert.rejects(p.call('ec2:StopInstances', { accountId: MOTO_ACCOUNT }, { InstanceIds: ['i-1'] }), isCode('MissingParameter'));
  await assert.rejects(p.discover({ ...US, resourceType: 'ACS::ECS::Instance' }), isCode('InvalidParameterValue'));
  await assert.rejects(
    p.call('s3:PutBucketAcl', US, { Bucket: 'no-such-bucket-here', ACL: 'private' }),
    (e: unknown) => isCode('NoSuchBucket')(e) && (e as ProviderError).httpStatus === 404,
  );

  // Nothing listens: the network's error, retryable (after the SDK's own attempts).
  const dead = new AwsProvider({ endpoint: 'http://127.0.0.1:9', credentials: MOTO_CREDENTIALS, regions: ['us-east-1'], organization: false, maxAttempts: 1 });
  try {
    await assert.rejects(dead.listAccounts(), isCode('ECONNREFUSED', true));
  } finally {
    await dead.close();
  }

  // The SDK's exceptions as AWS throws them (moto cannot be made to throttle or fail).
  const meta = (httpStatusCode: number) => ({ httpStatusCode, requestId: 'r', attempts: 5, totalRetryDelay: 1000 });
  const ec2Error = (name: string, status: number, extra: Record<string, unknown> = {}) =>
    Object.assign(new EC2ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: meta(status), message: `${name} said AWS` }), extra);
  const cases: [Error, string, boolean, number][] = [
    [ec2Error('RequestLimitExceeded', 503), 'RequestLimitExceeded', true, 503],
    [ec2Error('Throttling', 400, { $retryable: { throttling: true } }), 'Throttling', true, 400],
    [ec2Error('InternalError', 500), 'InternalError', true, 500],
    [ec2Error('UnauthorizedOperation', 403), 'UnauthorizedOperation', false, 403],
    [ec2Error('InvalidParameterValue', 400), 'InvalidParameterValue', false, 400],
    [new S3ServiceException({ name: 'SlowDown', $fault: 'server', $metadata: meta(503), message: 'Please reduce your request rate.' }), 'SlowDown', true, 503],
    [new S3ServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: meta(403), message: 'Access Denied' }), 'AccessDenied', false, 403],
  ];
  for (const [err, code, retryable, status] of cases) {
    const e = toProviderError('aws-prod', err, 's3:PutBucketPublicAccessBlock');
    assert.ok(e instanceof ProviderError);
    assert.deepEqual([e.provider, e.code, e.retryable, e.httpStatus], ['aws-prod', code, retryable, status], code);
  }
  // A refusal that does not say what was refused is told what.
  assert.equal(toProviderError('aws', cases[6]![0], 's3:PutBucketPublicAccessBlock').message, 'Access Denied (s3:PutBucketPublicAccessBlock)');
  const noCreds = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
  assert.deepEqual(((e) => e instanceof ProviderError && [e.code, e.retryable])(toProviderError('aws', noCreds)), ['NoCredentials', false]);
  // A bug is not the cloud's answer: it stays what it is.
  const bug = new TypeError('x is undefined');
  assert.equal(toProviderError('aws', bug), bug);
});
