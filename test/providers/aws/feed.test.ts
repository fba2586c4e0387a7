// The AWS change feed: CloudTrail events (as EventBridge delivers them to SQS) mapped to resource keys through one
// table; on moto's SQS, read from a cursor, deleted once acknowledged, back after the visibility timeout when not;
// unmappable messages counted and deleted while the feed goes on; and through the recorder, an event → a new
// configuration item.
import { after, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { AuthorizeSecurityGroupIngressCommand } from '@aws-sdk/client-ec2';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { CLOUDTRAIL_EVENTS, eventBridgePattern, mapMessage, type AwsProvider } from '../../../src/providers/aws/index.js';
import type { ResourceChange } from '../../../src/providers/types.js';
import { Recorder, type RecordedEvent } from '../../../src/inventory/recorder.js';
import { freshDb } from '../../helpers/db.js';
import { until } from '../../helpers/wait.js';
import { MOTO_ACCOUNT, useMoto } from '../../helpers/moto.js';
import { WORLD_SSH, cloudTrailEvent, provider, sdk, seedGroup } from './fixtures.js';

const keysOf = (changes: ResourceChange[]) => changes.map((c) => `${c.accountId}/${c.regionId}/${c.resourceType}/${c.resourceId}:${c.changeType}:${c.action}`);
const mapped = (event: unknown) => {
  const out = mapMessage(JSON.stringify(event));
  return out.outcome === 'mapped' ? keysOf(out.changes) : out.outcome;
};

test('the mapping table: each event names the resources it touched, where CloudTrail puts their ids', () => {
  const A = MOTO_ACCOUNT;
  const rule = {
    groupId: 'sg-0a1b2c3d4e5f60718',
    ipPermissions: { items: [{ ipProtocol: 'tcp', fromPort: 22, toPort: 22, ipRanges: { items: [{ cidrIp: '0.0.0.0/0' }] } }] },
  };
  for (const name of ['AuthorizeSecurityGroupIngress', 'RevokeSecurityGroupIngress', 'AuthorizeSecurityGroupEgress', 'RevokeSecurityGroupEgress'])
    assert.deepEqual(mapped(cloudTrailEvent(name, 'ec2', rule, { _return: true })), [
      `${A}/us-east-1/AWS::EC2::SecurityGroup/sg-0a1b2c3d4e5f60718:update:ec2:${name}`,
    ]);
  // Named by the rule set of the answer when the request names the group otherwise.
  assert.deepEqual(
    mapped(
      cloudTrailEvent(
        'AuthorizeSecurityGroupIngress',
        'ec2',
        { groupName: 'web' },
        { securityGroupRuleSet: { items: [{ groupId: 'sg-1', securityGroupRuleId: 'sgr-1' }] } },
      ),
    ),
    [`${A}/us-east-1/AWS::EC2::SecurityGroup/sg-1:update:ec2:AuthorizeSecurityGroupIngress`],
  );
  assert.deepEqual(mapped(cloudTrailEvent('CreateSecurityGroup', 'ec2', { groupName: 'web', groupDescription: 'w' }, { _return: true, groupId: 'sg-2' })), [
    `${A}/us-east-1/AWS::EC2::SecurityGroup/sg-2:create:ec2:CreateSecurityGroup`,
  ]);
  assert.deepEqual(mapped(cloudTrailEvent('DeleteSecurityGroup', 'ec2', { groupId: 'sg-3' }, { _return: true }, { region: 'eu-west-1' })), [
    `${A}/eu-west-1/AWS::EC2::SecurityGroup/sg-3:delete:ec2:DeleteSecurityGroup`,
  ]);
  assert.deepEqual(mapped(cloudTrailEvent('ModifySecurityGroupRules', 'ec2', { ModifySecurityGroupRulesRequest: { GroupId: 'sg-4' } })), [
    `${A}/us-east-1/AWS::EC2::SecurityGroup/sg-4:update:ec2:ModifySecurityGroupRules`,
  ]);
  assert.deepEqual(
    mapped(
      cloudTrailEvent(
        'RunInstances',
        'ec2',
        { instancesSet: { items: [{ imageId: 'ami-1', minCount: 2, maxCount: 2 }] } },
        { instancesSet: { items: [{ instanceId: 'i-1' }, { instanceId: 'i-2' }] } },
      ),
    ),
    [`${A}/us-east-1/AWS::EC2::Instance/i-1:create:ec2:RunInstances`, `${A}/us-east-1/AWS::EC2::Instance/i-2:create:ec2:RunInstances`],
  );
  for (const [name, type] of [
    ['StopInstances', 'update'],
    ['StartInstances', 'update'],
    ['TerminateInstances', 'delete'],
    ['MonitorInstances', 'update'],
  ] as const)
    assert.deepEqual(mapped(cloudTrailEvent(name, 'ec2', { instancesSet: { items: [{ instanceId: 'i-9' }] } })), [
      `${A}/us-east-1/AWS::EC2::Instance/i-9:${type}:ec2:${name}`,
    ]);
  assert.deepEqual(
    mapped(cloudTrailEvent('ModifyInstanceMetadataOptions', 'ec2', { ModifyInstanceMetadataOptionsRequest: { InstanceId: 'i-8', HttpTokens: 'required' } })),
    [`${A}/us-east-1/AWS::EC2::Instance/i-8:update:ec2:ModifyInstanceMetadataOptions`],
  );
  // Tags of either type: the id says which; other resources' ids are left out.
  assert.deepEqual(
    mapped(
      cloudTrailEvent('CreateTags', 'ec2', {
        resourcesSet: { items: [{ resourceId: 'sg-5' }, { resourceId: 'i-5' }, { resourceId: 'vol-5' }] },
        tagSet: { items: [{ key: 'env', value: 'prod' }] },
      }),
    ),
    [`${A}/us-east-1/AWS::EC2::SecurityGroup/sg-5:update:ec2:CreateTags`, `${A}/us-east-1/AWS::EC2::Instance/i-5:update:ec2:CreateTags`],
  );
  for (const name of [
    'PutBucketAcl',
    'PutBucketPublicAccessBlock',
    'DeleteBucketPublicAccessBlock',
    'PutBucketPolicy',
    'DeleteBucketPolicy',
    'PutBucketTagging',
    'PutBucketVersioning',
    'PutBucketEncryption',
  ])
    assert.deepEqual(mapped(cloudTrailEvent(name, 's3', { bucketName: 'logs', Host: 'logs.s3.amazonaws.com' }, null, { region: 'eu-west-1' })), [
      `${A}/eu-west-1/AWS::S3::Bucket/logs:update:s3:${name}`,
    ]);
  assert.deepEqual(mapped(cloudTrailEvent('DeleteBucket', 's3', { bucketName: 'logs' })), [`${A}/us-east-1/AWS::S3::Bucket/logs:delete:s3:DeleteBucket`]);
  // A new bucket is in the region it was asked for.
  assert.deepEqual(mapped(cloudTrailEvent('CreateBucket', 's3', { bucketName: 'eu-logs', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } })), [
    `${A}/eu-west-1/AWS::S3::Bucket/eu-logs:create:s3:CreateBucket`,
  ]);
  // The same, wrapped in an SNS notification, or as CloudTrail's own {Records: […]}.
  const ev = cloudTrailEvent('PutBucketAcl', 's3', { bucketName: 'logs' });
  assert.deepEqual(mapped({ Type: 'Notification', MessageId: 'm', Message: JSON.stringify(ev) }), [
    `${A}/us-east-1/AWS::S3::Bucket/logs:update:s3:PutBucketAcl`,
  ]);
  assert.deepEqual(mapped({ Records: [ev.detail, cloudTrailEvent('StopInstances', 'ec2', { instancesSet: { items: [{ instanceId: 'i-7' }] } }).detail] }), [
    `${A}/us-east-1/AWS::S3::Bucket/logs:update:s3:PutBucketAcl`,
    `${A}/us-east-1/AWS::EC2::Instance/i-7:update:ec2:StopInstances`,
  ]);
  // When it happened: CloudTrail's eventTime.
  const when = mapMessage(JSON.stringify({ ...ev, detail: { ...ev.detail, eventTime: '2026-03-01T10:00:00Z' } }));
  assert.equal(when.outcome === 'mapped' && when.changes[0]!.changedAt.toISOString(), '2026-03-01T10:00:00.000Z');

  // What cannot be mapped says why.
  assert.equal(mapMessage('not json').outcome, 'unmapped');
  assert.equal(mapMessage('[1,2]').outcome, 'unmapped');
  assert.equal(mapMessage(JSON.stringify({ hello: 'world' })).outcome, 'unmapped');
  assert.equal(mapped(cloudTrailEvent('CreateVpc', 'ec2', { cidrBlock: '10.0.0.0/16' })), 'unmapped');
  assert.equal(mapped(cloudTrailEvent('StopInstances', 'ec2', {})), 'unmapped');
  assert.equal(mapped(cloudTrailEvent('RunInstances', 'ec2', { instancesSet: {} }, null)), 'unmapped');
  // A call that failed changed nothing.
  assert.equal(mapped(cloudTrailEvent('AuthorizeSecurityGroupIngress', 'ec2', rule, null, { errorCode: 'Client.UnauthorizedOperation' })), 'ignored');

  // The EventBridge rule asks for exactly the events of the table.
  const pattern = eventBridgePattern() as { detail: { eventName: string[] }; source: string[] };
  assert.deepEqual([...pattern.detail.eventName].sort(), Object.keys(CLOUDTRAIL_EVENTS).sort());
  assert.deepEqual(pattern.source, ['aws.ec2', 'aws.s3']);
});

// --- on moto's SQS -------------------------------------------------------------

// The file's providers end their long polls first: the hooks registered first run first.
let open: AwsProvider[] = [];
const closeOpen = async () => {
  for (const p of open) await p.close();
  open = [];
};
after(closeOpen);
beforeEach(closeOpen);
const moto = useMoto();

async function queue(): Promise<string> {
  return (await sdk(moto).sqs.send(new CreateQueueCommand({ QueueName: `events-${randomUUID().slice(0, 8)}` }))).QueueUrl!;
}
async function send(url: string, body: unknown) {
  await sdk(moto).sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: typeof body === 'string' ? body : JSON.stringify(body) }));
}
async function depth(url: string): Promise<{ visible: number; inFlight: number }> {
  const a = (
    await sdk(moto).sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
    )
  ).Attributes!;
  return { visible: Number(a.ApproximateNumberOfMessages), inFlight: Number(a.ApproximateNumberOfMessagesNotVisible) };
}
function feedProvider(url: string, extra: Parameters<typeof provider>[1] = {}) {
  const p = provider(moto, { eventsQueueUrl: url, eventsWaitSeconds: 1, ...extra });
  open.push(p);
  return p;
}
/** Resolves at the feed's next notification. */
const notified = (p: AwsProvider) =>
  new Promise<() => void>((resolve) => {
    const off = p.changeFeed!.onChange(() => resolve(off));
  });

test('an event on the queue → the feed yields its resource; acknowledged, the message is deleted', async () => {
  const url = await queue();
  const group = await seedGroup(sdk(moto).ec2, 'web');
  const p = feedProvider(url);
  const feed = p.changeFeed!;
  const ready = notified(p);
  await send(url, cloudTrailEvent('AuthorizeSecurityGroupIngress', 'ec2', { groupId: group, ipPermissions: { items: [] } }, { _return: true }));
  const off = await ready;
  const { changes, cursor } = await feed.read(null, 500);
  assert.deepEqual(keysOf(changes), [`${MOTO_ACCOUNT}/us-east-1/AWS::EC2::SecurityGroup/${group}:update:ec2:AuthorizeSecurityGroupIngress`]);
  assert.ok(cursor);
  // Read from the same place again, the same changes: nothing is lost before it is recorded.
  assert.deepEqual(keysOf((await feed.read(null, 500)).changes), keysOf(changes));
  assert.deepEqual(await depth(url), { visible: 0, inFlight: 1 });
  await feed.acknowledge!(cursor);
  assert.deepEqual(await depth(url), { visible: 0, inFlight: 0 });
  assert.deepEqual((await feed.read(cursor, 500)).changes, []);
  assert.deepEqual({ ...p.stats().feed, errors: 0 }, { received: 1, mapped: 1, unmapped: 0, ignored: 0, deleted: 1, errors: 0, local: 0, buffered: 0 });
  off();
});

test('a message never acknowledged comes back after the visibility timeout; the newest receipt deletes it', async () => {
  const url = await queue();
  const p = feedProvider(url, { eventsVisibilityTimeout: 1 });
  const feed = p.changeFeed!;
  const ready = notified(p);
  await send(url, cloudTrailEvent('PutBucketAcl', 's3', { bucketName: 'logs' }));
  const off = await ready;
  const first = await feed.read(null, 500);
  assert.equal(first.changes.length, 1);
  // Not acknowledged (the recorder died, say): received again once its second is up, still one change to record.
  await until('the message received again', () => p.stats().feed!.received >= 2, 10_000);
  assert.equal(p.stats().feed!.buffered, 1);
  assert.deepEqual(keysOf((await feed.read(null, 500)).changes), keysOf(first.changes));
  await feed.acknowledge!(first.cursor!);
  assert.deepEqual(await depth(url), { visible: 0, inFlight: 0 });
  off();
});

test('unmappable messages are counted, logged and deleted; the feed goes on', async () => {
  const url = await queue();
  const group = await seedGroup(sdk(moto).ec2, 'web');
  const warnings: string[] = [];
  const log = { debug() {}, info() {}, warn: (m: string) => void warnings.push(m), error: (m: string) => void warnings.push(m), child: () => log };
  const p = feedProvider(url, { log });
  const off = p.changeFeed!.onChange(() => undefined);
  await send(url, 'not json at all');
  await send(url, cloudTrailEvent('CreateVpc', 'ec2', { cidrBlock: '10.0.0.0/16' }));
  await send(url, cloudTrailEvent('StopInstances', 'ec2', { instancesSet: { items: [{ instanceId: 'i-1' }] } }, null, { account: '999999999999' }));
  await send(url, cloudTrailEvent('StopInstances', 'ec2', { instancesSet: { items: [{ instanceId: 'i-1' }] } }, null, { region: 'ap-south-1' }));
  await send(url, cloudTrailEvent('RevokeSecurityGroupIngress', 'ec2', { groupId: group }, null, { errorCode: 'InvalidPermission.NotFound' }));
  await until('five messages handled', () => p.stats().feed!.deleted >= 5, 15_000);
  assert.deepEqual({ ...p.stats().feed, errors: 0 }, { received: 5, mapped: 0, unmapped: 2, ignored: 3, deleted: 5, errors: 0, local: 0, buffered: 0 });
  assert.equal(warnings.filter((w) => /cannot map/.test(w)).length, 2);
  assert.deepEqual(await depth(url), { visible: 0, inFlight: 0 });
  // Still running: the next good event comes through.
  await send(url, cloudTrailEvent('DeleteSecurityGroup', 'ec2', { groupId: group }));
  await until('the good event', async () => (await p.changeFeed!.read(null, 500)).changes.length === 1, 15_000);
  off();
});

test('the provider’s own calls are in the feed at once', async () => {
  const url = await queue();
  const group = await seedGroup(sdk(moto).ec2, 'web');
  const p = feedProvider(url);
  const r = await p.call('ec2:AuthorizeSecurityGroupIngress', { accountId: MOTO_ACCOUNT, regionId: 'us-east-1' }, { GroupId: group, IpPermissions: WORLD_SSH });
  assert.equal(r.changed, true);
  const { changes, cursor } = await p.changeFeed!.read(null, 500);
  assert.deepEqual(keysOf(changes), [`${MOTO_ACCOUNT}/us-east-1/AWS::EC2::SecurityGroup/${group}:update:ec2:AuthorizeSecurityGroupIngress`]);
  await p.changeFeed!.acknowledge!(cursor!);
  assert.equal(p.stats().feed!.local, 1);
});

test('through the recorder: an event on the queue → a new configuration item of the resource, the message deleted after', async (t) => {
  const url = await queue();
  const { ec2 } = sdk(moto);
  const group = await seedGroup(ec2, 'web');
  const db = await freshDb();
  const p = feedProvider(url, { eventsWaitSeconds: 20 });
  const recorder = new Recorder(db, [p]);
  try {
    await recorder.snapshot('aws');
    const recorded: RecordedEvent[] = [];
    recorder.on('recorded', (e: RecordedEvent) => recorded.push(e));
    recorder.start(200);
    // Someone opens SSH outside confix; CloudTrail tells through EventBridge.
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: group, IpPermissions: WORLD_SSH }));
    const sent = Date.now();
    await send(
      url,
      cloudTrailEvent(
        'AuthorizeSecurityGroupIngress',
        'ec2',
        { groupId: group, ipPermissions: { items: [{ ipProtocol: 'tcp', fromPort: 22, toPort: 22 }] } },
        { _return: true },
      ),
    );
    const item = await until('the new configuration item', () => recorded.find((e) => e.resourceId === group && e.source === 'change'), 10_000);
    const latency = Date.now() - sent;
    assert.equal(item.status, 'OK');
    assert.equal(item.version, 2);
    assert.equal((item.state!.configuration.IpPermissions as { FromPort: number }[])[0]!.FromPort, 22);
    t.diagnostic(`recorded ${latency} ms after the event was sent`);
    assert.ok(latency < 2000, `recorded ${latency} ms after the event was sent`);
    // Recorded, then deleted from the queue.
    await until('the message deleted', async () => (await depth(url)).inFlight === 0 && p.stats().feed!.deleted === 1, 10_000);
    assert.deepEqual(await depth(url), { visible: 0, inFlight: 0 });
  } finally {
    await recorder.stop();
    await db.close();
  }
});
