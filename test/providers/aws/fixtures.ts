/** What the AWS provider's tests share: SDK clients on moto, seeding, and providers pointed at it. */
import { EC2Client, CreateSecurityGroupCommand, DescribeImagesCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
import { STSClient, AssumeRoleCommand } from '@aws-sdk/client-sts';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { SQSClient } from '@aws-sdk/client-sqs';
import { IAMClient } from '@aws-sdk/client-iam';
import { AwsProvider, type AwsProviderOptions } from '../../../src/providers/aws/index.js';
import { randomUUID } from 'node:crypto';
import { MOTO_ACCOUNT, MOTO_CREDENTIALS, type Moto } from '../../helpers/moto.js';

export type Creds = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

/** SDK clients as a test seeds with them (not the provider's). */
export function sdk(moto: Moto, credentials: Creds = MOTO_CREDENTIALS, region = 'us-east-1') {
  const base = { endpoint: moto.endpoint, region, credentials };
  return {
    ec2: new EC2Client(base),
    s3: new S3Client({ ...base, forcePathStyle: true }),
    sts: new STSClient(base),
    org: new OrganizationsClient(base),
    sqs: new SQSClient(base),
    iam: new IAMClient(base),
  };
}

export function provider(moto: Moto, opts: Partial<AwsProviderOptions> = {}): AwsProvider {
  return new AwsProvider({
    endpoint: moto.endpoint,
    credentials: MOTO_CREDENTIALS,
    regions: ['us-east-1', 'eu-west-1'],
    region: 'us-east-1',
    organization: false,
    ...opts,
  });
}

/** Credentials in another account: moto lets anyone assume any role, and later calls with them are that account's. */
export async function inAccount(moto: Moto, accountId: string, roleName = 'OrganizationAccountAccessRole'): Promise<Creds> {
  const out = await sdk(moto).sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${accountId}:role/${roleName}`, RoleSessionName: 'seed' }));
  const c = out.Credentials!;
  return { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
}

let amiCache: string | undefined;
/** An AMI moto knows. */
export async function anAmi(ec2: EC2Client): Promise<string> {
  amiCache ??= (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images![0]!.ImageId!;
  return amiCache;
}

export async function seedGroup(ec2: EC2Client, name: string, tags: Record<string, string> = {}): Promise<string> {
  const out = await ec2.send(
    new CreateSecurityGroupCommand({
      GroupName: name,
      Description: `${name} tier`,
      ...(Object.keys(tags).length
        ? { TagSpecifications: [{ ResourceType: 'security-group', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }] }
        : {}),
    }),
  );
  return out.GroupId!;
}

export async function seedInstance(ec2: EC2Client, opts: { name?: string; groups?: string[]; count?: number } = {}): Promise<string[]> {
  const n = opts.count ?? 1;
  const out = await ec2.send(
    new RunInstancesCommand({
      ImageId: await anAmi(ec2),
      MinCount: n,
      MaxCount: n,
      InstanceType: 't3.micro',
      ...(opts.groups ? { SecurityGroupIds: opts.groups } : {}),
      ...(opts.name ? { TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: opts.name }] }] } : {}),
    }),
  );
  return out.Instances!.map((i) => i.InstanceId!);
}

export async function seedBucket(s3: S3Client, name: string, region = 'us-east-1'): Promise<void> {
  await s3.send(
    new CreateBucketCommand({ Bucket: name, ...(region !== 'us-east-1' ? { CreateBucketConfiguration: { LocationConstraint: region as never } } : {}) }),
  );
}

export const WORLD_SSH = [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }];

/** A CloudTrail record as EventBridge puts it on the queue ("AWS API Call via CloudTrail"). */
export function cloudTrailEvent(
  eventName: string,
  service: 'ec2' | 's3',
  requestParameters: Record<string, unknown> | null,
  responseElements: Record<string, unknown> | null = null,
  opts: { account?: string; region?: string; errorCode?: string } = {},
) {
  const account = opts.account ?? MOTO_ACCOUNT;
  const region = opts.region ?? 'us-east-1';
  const time = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'AWS API Call via CloudTrail',
    source: `aws.${service}`,
    account,
    time,
    region,
    resources: [],
    detail: {
      eventVersion: '1.09',
      userIdentity: { type: 'AssumedRole', principalId: 'AROAEXAMPLE:alice', arn: `arn:aws:sts::${account}:assumed-role/Admin/alice`, accountId: account },
      eventTime: time,
      eventSource: `${service}.amazonaws.com`,
      eventName,
      awsRegion: region,
      sourceIPAddress: '203.0.113.10',
      userAgent: 'aws-cli/2.17.0',
      ...(opts.errorCode ? { errorCode: opts.errorCode, errorMessage: 'denied' } : {}),
      requestParameters,
      responseElements,
      requestID: randomUUID(),
      eventID: randomUUID(),
      readOnly: false,
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: account,
      eventCategory: 'Management',
    },
  };
}
