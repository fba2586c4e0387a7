/**
 * Reading the three resource types, in the shape the sandbox's AWS types
 * have (the SDK's own output, PascalCase): a security group is a
 * DescribeSecurityGroups item, an instance a DescribeInstances instance
 * (flattened out of its reservation), a bucket its ListBuckets entry joined
 * with its region, ACL, public access block, versioning, encryption, policy
 * status and tags. A missing public access block, policy, tag set or
 * encryption configuration is data (S3 answers it with an error), never a
 * failure. Every list is paged to the end.
 */
import {
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  paginateDescribeInstances,
  paginateDescribeSecurityGroups,
  type EC2Client,
  type Instance,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import {
  GetBucketAclCommand,
  GetBucketEncryptionCommand,
  GetBucketLocationCommand,
  GetBucketPolicyStatusCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  GetPublicAccessBlockCommand,
  paginateListBuckets,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Configuration, ResourceState } from '../types.js';
import { annotate, codeOf } from './errors.js';
import { plain, tagList, tagMap } from './plain.js';

export const SECURITY_GROUP = 'AWS::EC2::SecurityGroup';
export const INSTANCE = 'AWS::EC2::Instance';
export const BUCKET = 'AWS::S3::Bucket';
export const AWS_TYPES = [SECURITY_GROUP, INSTANCE, BUCKET] as const;

/** Every IAM action discovery makes, by type (what a read role must be allowed). */
export const DISCOVERY_PERMISSIONS: Record<(typeof AWS_TYPES)[number], string[]> = {
  [SECURITY_GROUP]: ['ec2:DescribeSecurityGroups'],
  [INSTANCE]: ['ec2:DescribeInstances'],
  [BUCKET]: [
    's3:ListAllMyBuckets',
    's3:GetBucketLocation',
    's3:GetBucketAcl',
    's3:GetBucketPublicAccessBlock',
    's3:GetBucketPolicyStatus',
    's3:GetBucketVersioning',
    's3:GetEncryptionConfiguration',
    's3:GetBucketTagging',
  ],
};

// --- EC2 security groups -----------------------------------------------------

const LISTS = ['IpRanges', 'Ipv6Ranges', 'PrefixListIds', 'UserIdGroupPairs'] as const;

/** Permissions with all four source lists present, as the sandbox always has them. */
function permissions(v: unknown): Record<string, unknown>[] {
  if (!Array.isArray(v)) return [];
  return (v as Record<string, unknown>[]).map((p) => {
    const out: Record<string, unknown> = { ...p };
    for (const l of LISTS) if (!Array.isArray(out[l])) out[l] = [];
    return out;
  });
}

export function securityGroupState(accountId: string, regionId: string, g: SecurityGroup): ResourceState {
  const c = plain<Configuration>(g);
  const tags = tagMap(c.Tags);
  return {
    accountId,
    regionId,
    resourceType: SECURITY_GROUP,
    resourceId: g.GroupId!,
    resourceName: g.GroupName || undefined,
    tags,
    configuration: { ...c, IpPermissions: permissions(c.IpPermissions), IpPermissionsEgress: permissions(c.IpPermissionsEgress), Tags: tagList(tags) },
  };
}

export async function discoverSecurityGroups(ec2: EC2Client, accountId: string, regionId: string, pageSize?: number): Promise<ResourceState[]> {
  const out: ResourceState[] = [];
  for await (const page of paginateDescribeSecurityGroups(pageSize ? { client: ec2, pageSize: clampPage(pageSize) } : { client: ec2 }, {}))
    for (const g of page.SecurityGroups ?? []) if (g.GroupId) out.push(securityGroupState(accountId, regionId, g));
  return out.sort(byId);
}

export async function describeSecurityGroup(ec2: EC2Client, accountId: string, regionId: string, id: string): Promise<ResourceState | null> {
  try {
    const page = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [id] }));
    const g = page.SecurityGroups?.find((x) => x.GroupId === id);
    return g ? securityGroupState(accountId, regionId, g) : null;
  } catch (err) {
    if (/^InvalidGroup(Id)?\.(NotFound|Malformed)$/.test(codeOf(err) ?? '')) return null;
    throw err;
  }
}

// --- EC2 instances -------------------------------------------------------------

// A terminated instance is gone (DescribeInstances still lists it for about an hour); the sandbox removes it at once too.
const gone = (i: Instance) => i.State?.Name === 'terminated';

export function instanceState(accountId: string, regionId: string, i: Instance): ResourceState {
  const c = plain<Configuration>(i);
  const tags = tagMap(c.Tags);
  return {
    accountId,
    regionId,
    resourceType: INSTANCE,
    resourceId: i.InstanceId!,
    resourceName: tags.Name || undefined,
    tags,
    configuration: { ...c, SecurityGroups: Array.isArray(c.SecurityGroups) ? c.SecurityGroups : [], Tags: tagList(tags) },
  };
}

export async function discoverInstances(ec2: EC2Client, accountId: string, regionId: string, pageSize?: number): Promise<ResourceState[]> {
  const out: ResourceState[] = [];
  for await (const page of paginateDescribeInstances(pageSize ? { client: ec2, pageSize: clampPage(pageSize) } : { client: ec2 }, {}))
    for (const r of page.Reservations ?? []) for (const i of r.Instances ?? []) if (i.InstanceId && !gone(i)) out.push(instanceState(accountId, regionId, i));
  return out.sort(byId);
}

export async function describeInstance(ec2: EC2Client, accountId: string, regionId: string, id: string): Promise<ResourceState | null> {
  try {
    const page = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    for (const r of page.Reservations ?? [])
      for (const i of r.Instances ?? []) if (i.InstanceId === id) return gone(i) ? null : instanceState(accountId, regionId, i);
    return null;
  } catch (err) {
    if (/^InvalidInstanceID\.(NotFound|Malformed)$/.test(codeOf(err) ?? '')) return null;
    throw err;
  }
}

// --- S3 buckets ----------------------------------------------------------------

export interface ListedBucket {
  Name: string;
  CreationDate?: string;
  /** ListBuckets tells it where S3 does (newer API); otherwise GetBucketLocation. */
  BucketRegion?: string;
}

/** Every bucket of the account (ListBuckets is global), paged to the end. */
export async function listBuckets(s3: S3Client, prefix?: string): Promise<ListedBucket[]> {
  const out: ListedBucket[] = [];
  try {
    for await (const page of paginateListBuckets({ client: s3 }, prefix ? { Prefix: prefix } : {}))
      for (const b of page.Buckets ?? [])
        if (b.Name)
          out.push({
            Name: b.Name,
            ...(b.CreationDate ? { CreationDate: b.CreationDate.toISOString() } : {}),
            ...(b.BucketRegion ? { BucketRegion: b.BucketRegion } : {}),
          });
  } catch (err) {
    throw annotate(err, 's3:ListAllMyBuckets');
  }
  return out;
}

/** GetBucketLocation's answer as a region: none is us-east-1, EU is eu-west-1. */
export function regionOfLocation(constraint: string | null | undefined): string {
  if (!constraint) return 'us-east-1';
  if (constraint === 'EU') return 'eu-west-1';
  return constraint;
}

/** The bucket's region, or null when the bucket no longer exists. */
export async function bucketRegion(s3: S3Client, bucket: string): Promise<string | null> {
  try {
    const out = await s3.send(new GetBucketLocationCommand({ Bucket: bucket }));
    return regionOfLocation(out.LocationConstraint);
  } catch (err) {
    if (codeOf(err) === 'NoSuchBucket') return null;
    throw annotate(err, `s3:GetBucketLocation on bucket ${bucket}`);
  }
}

/** An S3 read whose "not there" error is data: the fallback value instead. */
async function orElse<T>(read: Promise<T>, codes: string[], fallback: T): Promise<T> {
  try {
    return await read;
  } catch (err) {
    if (codes.includes(codeOf(err) ?? '')) return fallback;
    throw err;
  }
}

/** A read whose failure says which one it was (a refusal then names the IAM action and the bucket). */
async function doing<T>(what: string, read: Promise<T>): Promise<T> {
  try {
    return await read;
  } catch (err) {
    throw annotate(err, what);
  }
}

const PAB_FIELDS = ['BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy', 'RestrictPublicBuckets'] as const;

/** A public access block with its four settings (missing ones are off, as S3 treats them). */
export function fullBlock(v: unknown): Record<(typeof PAB_FIELDS)[number], boolean> {
  const b = (v ?? {}) as Record<string, unknown>;
  return Object.fromEntries(PAB_FIELDS.map((f) => [f, b[f] === true])) as Record<(typeof PAB_FIELDS)[number], boolean>;
}

/** The bucket's configuration, or null when it disappeared meanwhile. */
export async function bucketState(s3: S3Client, accountId: string, regionId: string, b: ListedBucket): Promise<ResourceState | null> {
  const Bucket = b.Name;
  try {
    const on = ` on bucket ${Bucket}`;
    const [acl, pab, versioning, encryption, policyStatus, tagging] = await Promise.all([
      doing(`s3:GetBucketAcl${on}`, s3.send(new GetBucketAclCommand({ Bucket }))),
      doing(
        `s3:GetBucketPublicAccessBlock${on}`,
        orElse(
          s3.send(new GetPublicAccessBlockCommand({ Bucket })).then((o) => o.PublicAccessBlockConfiguration),
          ['NoSuchPublicAccessBlockConfiguration'],
          undefined,
        ),
      ),
      doing(`s3:GetBucketVersioning${on}`, s3.send(new GetBucketVersioningCommand({ Bucket }))),
      doing(
        `s3:GetEncryptionConfiguration${on}`,
        orElse(
          s3.send(new GetBucketEncryptionCommand({ Bucket })).then((o) => o.ServerSideEncryptionConfiguration),
          ['ServerSideEncryptionConfigurationNotFoundError'],
          undefined,
        ),
      ),
      doing(
        `s3:GetBucketPolicyStatus${on}`,
        orElse(
          s3.send(new GetBucketPolicyStatusCommand({ Bucket })).then((o) => o.PolicyStatus),
          ['NoSuchBucketPolicy'],
          undefined,
        ),
      ),
      doing(
        `s3:GetBucketTagging${on}`,
        orElse(
          s3.send(new GetBucketTaggingCommand({ Bucket })).then((o) => o.TagSet),
          ['NoSuchTagSet'],
          undefined,
        ),
      ),
    ]);
    const tags = tagMap(tagging);
    const a = plain<Configuration>(acl);
    const v = plain<Configuration>(versioning);
    const configuration: Configuration = {
      Name: Bucket,
      ...(b.CreationDate ? { CreationDate: b.CreationDate } : {}),
      Region: regionId,
      Acl: { ...(a.Owner ? { Owner: a.Owner } : {}), Grants: Array.isArray(a.Grants) ? a.Grants : [] },
      // No configuration is the same as all four off: nothing is blocked.
      PublicAccessBlockConfiguration: fullBlock(pab),
      Versioning: v,
      ...(encryption ? { ServerSideEncryptionConfiguration: plain(encryption) } : {}),
      // No bucket policy: nothing public through one.
      PolicyStatus: { IsPublic: policyStatus?.IsPublic === true },
      Tags: tagList(tags),
    };
    return { accountId, regionId, resourceType: BUCKET, resourceId: Bucket, resourceName: Bucket, tags, configuration };
  } catch (err) {
    if (codeOf(err) === 'NoSuchBucket') return null;
    throw err;
  }
}

// --- helpers ------------------------------------------------------------------

const byId = (a: ResourceState, b: ResourceState) => a.resourceId.localeCompare(b.resourceId);

/** EC2 takes MaxResults of 5 to 1000. */
const clampPage = (n: number) => Math.max(5, Math.min(1000, Math.floor(n)));
