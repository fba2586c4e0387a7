/**
 * call(): one API action by its IAM name with the AWS API's own parameter
 * names, through one table: IAM action → service, SDK command, the resource
 * it acts on, and how the answer tells whether anything changed. The
 * parameters the sandbox takes for the same actions (its single-instance
 * `InstanceId`, `Tags` as a map) are turned into the API's forms; everything
 * else goes to the SDK as given.
 */
import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  ModifyInstanceMetadataOptionsCommand,
  MonitorInstancesCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  UnmonitorInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteBucketPolicyCommand,
  DeleteBucketTaggingCommand,
  DeletePublicAccessBlockCommand,
  GetBucketAclCommand,
  GetBucketEncryptionCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  GetPublicAccessBlockCommand,
  PutBucketAclCommand,
  PutBucketEncryptionCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
} from '@aws-sdk/client-s3';
import { stringify } from 'safe-stable-stringify';
import { BUCKET, INSTANCE, SECURITY_GROUP, fullBlock } from './discovery.js';
import { tagList, tagMap } from './plain.js';

export type Params = Record<string, unknown>;
// Any SDK command: the table holds commands of two clients.
export type CommandCtor = new (input: never) => object;

export interface Probe {
  command: CommandCtor;
  /** The IAM action the read needs. */
  permission: string;
  /** The part of the answer that the call changes. */
  pick(out: Params): unknown;
  /** Error codes that mean "there is none" (S3 answers a missing configuration with an error). */
  none: Record<string, unknown>;
}

export interface ActionSpec {
  service: 'ec2' | 's3';
  command: CommandCtor;
  /** The IAM action that authorises the call, when it is not the table's key (S3 names some operations otherwise). */
  permission?: string;
  /** Further IAM actions the call may need (ec2:CreateTags for tags at creation). */
  alsoNeeds?: string[];
  resourceType: string;
  kind: 'create' | 'update' | 'delete';
  /** The resource's id, from the parameters or the answer. */
  resourceId(input: Params, output: Params): unknown;
  /** The sandbox's convenience forms → the API's. */
  prepare?(params: Params, where: { regionId: string }): Params;
  /** Whether the call changed anything, from its answer (default: it did). */
  changed?(output: Params, input: Params): boolean;
  /** S3 answers a put with nothing: this read, before and after, tells whether it changed anything. */
  probe?: Probe;
  /** A second call the action needs (a new bucket's tags). */
  followUp?: { command: CommandCtor; permission: string; input(prepared: Params, original: Params): Params | undefined };
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const list = (v: unknown): Params[] => (Array.isArray(v) ? (v.filter(isRecord) as Params[]) : []);

/** `Tags` as the sandbox takes them (a map, or a tag list) → TagSpecifications for the new resource. */
function tagSpecs(resourceType: string) {
  return (p: Params): Params => {
    const { Tags, ...rest } = p;
    if (Tags === undefined) return rest;
    const tags = Array.isArray(Tags) ? tagMap(Tags) : isRecord(Tags) ? (Tags as Record<string, string>) : {};
    const specs = list(rest.TagSpecifications);
    return Object.keys(tags).length ? { ...rest, TagSpecifications: [...specs, { ResourceType: resourceType, Tags: tagList(tags) }] } : rest;
  };
}

/** The sandbox's single `InstanceId` → the API's `InstanceIds`. */
function instanceIds(p: Params): Params {
  const { InstanceId, ...rest } = p;
  if (typeof InstanceId === 'string' && !Array.isArray(rest.InstanceIds)) return { ...rest, InstanceIds: [InstanceId] };
  return rest;
}
const firstInstance = (input: Params) => (Array.isArray(input.InstanceIds) ? input.InstanceIds[0] : undefined);
const group = (input: Params) => input.GroupId;
const bucket = (input: Params) => input.Bucket;

/** Start/Stop/Terminate changed something when some instance was not already where the call takes it. */
function stateChange(resultKey: string, settled: string[]) {
  return (out: Params) => list(out[resultKey]).some((i) => !settled.includes(String((i.PreviousState as Params | undefined)?.Name ?? '')));
}

/** The number of sources (CIDRs, prefix lists, groups) a rule call names. */
function sourceCount(perms: unknown): number {
  return list(perms).reduce((n, p) => n + ['IpRanges', 'Ipv6Ranges', 'PrefixListIds', 'UserIdGroupPairs'].reduce((m, k) => m + list(p[k]).length, 0), 0);
}

const authorize = (command: CommandCtor): ActionSpec => ({
  service: 'ec2',
  command,
  resourceType: SECURITY_GROUP,
  kind: 'update',
  resourceId: group,
  changed: (out) => out.Return !== false,
});
// EC2 answers rules it did not find in UnknownIpPermissions (or refuses with InvalidPermission.NotFound).
const revoke = (command: CommandCtor): ActionSpec => ({
  service: 'ec2',
  command,
  resourceType: SECURITY_GROUP,
  kind: 'update',
  resourceId: group,
  changed: (out, input) =>
    out.Return !== false &&
    (sourceCount(out.UnknownIpPermissions) === 0 || sourceCount(out.UnknownIpPermissions) < Math.max(1, sourceCount(input.IpPermissions))),
});
const power = (command: CommandCtor, resultKey: string, settled: string[], kind: ActionSpec['kind'] = 'update'): ActionSpec => ({
  service: 'ec2',
  command,
  resourceType: INSTANCE,
  kind,
  resourceId: firstInstance,
  prepare: instanceIds,
  changed: stateChange(resultKey, settled),
});
const monitoring = (command: CommandCtor): ActionSpec => ({
  service: 'ec2',
  command,
  resourceType: INSTANCE,
  kind: 'update',
  resourceId: firstInstance,
  prepare: instanceIds,
});

const grantsOf = (out: Params) =>
  list(out.Grants)
    .map(
      (g) =>
        `${String((g.Grantee as Params | undefined)?.Type)}|${String((g.Grantee as Params | undefined)?.ID ?? (g.Grantee as Params | undefined)?.URI)}|${String(g.Permission)}`,
    )
    .sort();
const PROBES = {
  acl: { command: GetBucketAclCommand, permission: 's3:GetBucketAcl', pick: grantsOf, none: {} },
  block: {
    command: GetPublicAccessBlockCommand,
    permission: 's3:GetBucketPublicAccessBlock',
    pick: (o: Params) => fullBlock(o.PublicAccessBlockConfiguration),
    none: { NoSuchPublicAccessBlockConfiguration: fullBlock(undefined) },
  },
  policy: { command: GetBucketPolicyCommand, permission: 's3:GetBucketPolicy', pick: (o: Params) => o.Policy ?? null, none: { NoSuchBucketPolicy: null } },
  tags: { command: GetBucketTaggingCommand, permission: 's3:GetBucketTagging', pick: (o: Params) => tagMap(o.TagSet), none: { NoSuchTagSet: {} } },
  versioning: {
    command: GetBucketVersioningCommand,
    permission: 's3:GetBucketVersioning',
    pick: (o: Params) => ({ Status: o.Status ?? null, MFADelete: o.MFADelete ?? null }),
    none: {},
  },
  encryption: {
    command: GetBucketEncryptionCommand,
    permission: 's3:GetEncryptionConfiguration',
    pick: (o: Params) => o.ServerSideEncryptionConfiguration ?? null,
    none: { ServerSideEncryptionConfigurationNotFoundError: null },
  },
} satisfies Record<string, Probe>;
const s3put = (command: CommandCtor, probe: Probe, permission?: string): ActionSpec => ({
  service: 's3',
  command,
  resourceType: BUCKET,
  kind: 'update',
  resourceId: bucket,
  probe,
  ...(permission ? { permission } : {}),
});

/** IAM action → how to make it. Aliases: the API operation's name where IAM names the permission otherwise. */
export const AWS_ACTIONS: Record<string, ActionSpec> = {
  'ec2:AuthorizeSecurityGroupIngress': authorize(AuthorizeSecurityGroupIngressCommand),
  'ec2:AuthorizeSecurityGroupEgress': authorize(AuthorizeSecurityGroupEgressCommand),
  'ec2:RevokeSecurityGroupIngress': revoke(RevokeSecurityGroupIngressCommand),
  'ec2:RevokeSecurityGroupEgress': revoke(RevokeSecurityGroupEgressCommand),
  'ec2:CreateSecurityGroup': {
    service: 'ec2',
    command: CreateSecurityGroupCommand,
    resourceType: SECURITY_GROUP,
    kind: 'create',
    resourceId: (_i, out) => out.GroupId,
    alsoNeeds: ['ec2:CreateTags'],
    // The sandbox's own GroupId (to choose the id) has no meaning in EC2.
    prepare: (p) => tagSpecs('security-group')((({ GroupId: _drop, ...rest }) => rest)(p)),
  },
  'ec2:DeleteSecurityGroup': { service: 'ec2', command: DeleteSecurityGroupCommand, resourceType: SECURITY_GROUP, kind: 'delete', resourceId: group },
  'ec2:RunInstances': {
    service: 'ec2',
    command: RunInstancesCommand,
    resourceType: INSTANCE,
    kind: 'create',
    resourceId: (_i, out) => list(out.Instances)[0]?.InstanceId,
    alsoNeeds: ['ec2:CreateTags'],
    prepare: (p) => {
      const { InstanceId: _drop, ...rest } = p;
      return tagSpecs('instance')({ MinCount: 1, MaxCount: 1, ...rest });
    },
  },
  'ec2:StartInstances': power(StartInstancesCommand, 'StartingInstances', ['running', 'pending']),
  'ec2:StopInstances': power(StopInstancesCommand, 'StoppingInstances', ['stopped', 'stopping']),
  'ec2:TerminateInstances': power(TerminateInstancesCommand, 'TerminatingInstances', ['terminated', 'shutting-down'], 'delete'),
  'ec2:MonitorInstances': monitoring(MonitorInstancesCommand),
  'ec2:UnmonitorInstances': monitoring(UnmonitorInstancesCommand),
  'ec2:ModifyInstanceMetadataOptions': {
    service: 'ec2',
    command: ModifyInstanceMetadataOptionsCommand,
    resourceType: INSTANCE,
    kind: 'update',
    resourceId: (i) => i.InstanceId,
  },
  's3:CreateBucket': {
    service: 's3',
    command: CreateBucketCommand,
    resourceType: BUCKET,
    kind: 'create',
    resourceId: bucket,
    prepare: (p, { regionId }) => {
      const { Tags: _tags, ...rest } = p;
      // Outside us-east-1 S3 needs to be told the region.
      if (regionId !== 'us-east-1' && !isRecord(rest.CreateBucketConfiguration))
        return { ...rest, CreateBucketConfiguration: { LocationConstraint: regionId } };
      return rest;
    },
    followUp: {
      command: PutBucketTaggingCommand,
      permission: 's3:PutBucketTagging',
      input: (prepared, original) => {
        const tags = Array.isArray(original.Tags) ? tagMap(original.Tags) : isRecord(original.Tags) ? (original.Tags as Record<string, string>) : {};
        return Object.keys(tags).length ? { Bucket: prepared.Bucket, Tagging: { TagSet: tagList(tags) } } : undefined;
      },
    },
  },
  's3:DeleteBucket': { service: 's3', command: DeleteBucketCommand, resourceType: BUCKET, kind: 'delete', resourceId: bucket },
  's3:PutBucketAcl': s3put(PutBucketAclCommand, PROBES.acl),
  's3:PutBucketPublicAccessBlock': s3put(PutPublicAccessBlockCommand, PROBES.block),
  's3:PutPublicAccessBlock': s3put(PutPublicAccessBlockCommand, PROBES.block, 's3:PutBucketPublicAccessBlock'),
  // IAM authorises deleting the block with s3:PutBucketPublicAccessBlock.
  's3:DeleteBucketPublicAccessBlock': s3put(DeletePublicAccessBlockCommand, PROBES.block, 's3:PutBucketPublicAccessBlock'),
  's3:DeletePublicAccessBlock': s3put(DeletePublicAccessBlockCommand, PROBES.block, 's3:PutBucketPublicAccessBlock'),
  's3:PutBucketPolicy': s3put(PutBucketPolicyCommand, PROBES.policy),
  's3:DeleteBucketPolicy': s3put(DeleteBucketPolicyCommand, PROBES.policy),
  's3:PutBucketTagging': s3put(PutBucketTaggingCommand, PROBES.tags),
  's3:DeleteBucketTagging': s3put(DeleteBucketTaggingCommand, PROBES.tags, 's3:PutBucketTagging'),
  's3:PutBucketVersioning': s3put(PutBucketVersioningCommand, PROBES.versioning),
  's3:PutEncryptionConfiguration': s3put(PutBucketEncryptionCommand, PROBES.encryption),
  's3:PutBucketEncryption': s3put(PutBucketEncryptionCommand, PROBES.encryption, 's3:PutEncryptionConfiguration'),
};

/**
 * The IAM actions a call needs (for a least-privilege policy): the one that
 * authorises it, the read that tells whether it changed anything (a call
 * made without it still works, and says it changed), and those for tags given
 * at creation. Undefined for an action the provider does not make.
 */
export function callPermissions(action: string): { required: string; optional: string[] } | undefined {
  const spec = AWS_ACTIONS[action];
  if (!spec) return undefined;
  const optional = [...(spec.probe ? [spec.probe.permission] : []), ...(spec.followUp ? [spec.followUp.permission] : []), ...(spec.alsoNeeds ?? [])];
  return { required: spec.permission ?? action, optional };
}

/** Whether two probe answers differ. */
export const differs = (a: unknown, b: unknown) => stringify(a) !== stringify(b);
