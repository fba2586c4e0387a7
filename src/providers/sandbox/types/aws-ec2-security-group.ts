// AWS::EC2::SecurityGroup, shaped as a DescribeSecurityGroups item.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { SandboxError } from '../errors.js';
import { registerOperation, registerResourceType } from '../registry.js';
import type { Configuration, Tags } from '../../types.js';

const TYPE = 'AWS::EC2::SecurityGroup';

// The API takes protocol numbers and names in any case; Describe shows lowercase names.
const PROTOCOL_ALIASES: Record<string, string> = { '6': 'tcp', '17': 'udp', '1': 'icmp', '58': 'icmpv6', all: '-1' };
const protocol = z
  .union([z.string(), z.number()])
  .transform((v) => PROTOCOL_ALIASES[String(v).toLowerCase()] ?? String(v).toLowerCase())
  .pipe(z.enum(['tcp', 'udp', 'icmp', 'icmpv6', '-1']));

export const awsPermission = z.looseObject({
  IpProtocol: protocol,
  FromPort: z.coerce.number().int().optional(),
  ToPort: z.coerce.number().int().optional(),
  IpRanges: z.array(z.looseObject({ CidrIp: z.string().min(1), Description: z.string().optional() })).default([]),
  Ipv6Ranges: z.array(z.looseObject({ CidrIpv6: z.string().min(1), Description: z.string().optional() })).default([]),
  PrefixListIds: z.array(z.looseObject({ PrefixListId: z.string().min(1), Description: z.string().optional() })).default([]),
  UserIdGroupPairs: z.array(z.looseObject({ GroupId: z.string().min(1), UserId: z.string().optional(), Description: z.string().optional() })).default([]),
});
export type AwsPermission = z.output<typeof awsPermission>;

const schema = z.looseObject({
  GroupId: z.string().optional(),
  GroupName: z.string().default(''),
  Description: z.string().default(''),
  VpcId: z.string().optional(),
  OwnerId: z.string().optional(),
  IpPermissions: z.array(awsPermission).default([]),
  IpPermissionsEgress: z.array(awsPermission).default([]),
  Tags: z.array(z.looseObject({ Key: z.string(), Value: z.string() })).optional(),
});

/** The account's default VPC in a region: a stable id, since the sandbox keeps no VPCs. */
export const defaultVpcId = (accountId: string, regionId: string) =>
  `vpc-${createHash('sha256').update(`${accountId}/${regionId}/default-vpc`).digest('hex').slice(0, 17)}`;

const tagList = (tags: Tags) =>
  Object.keys(tags)
    .sort()
    .map((k) => ({ Key: k, Value: tags[k]! }));

const invalid = (message: string) => new SandboxError('InvalidParameterValue', message);

/** Checks ports as EC2 does; protocol -1 has none, ICMP ones are type/code with -1 for all. */
function clean(p: AwsPermission, accountId: string): AwsPermission {
  const { IpProtocol, FromPort, ToPort, ...rest } = p;
  for (const r of rest.IpRanges) if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(r.CidrIp)) throw invalid(`CIDR block ${r.CidrIp} is malformed`);
  for (const r of rest.Ipv6Ranges) if (!/^[0-9a-f:]+\/\d{1,3}$/i.test(r.CidrIpv6)) throw invalid(`CIDR block ${r.CidrIpv6} is malformed`);
  const pairs = rest.UserIdGroupPairs.map((g) => ({ ...g, UserId: g.UserId ?? accountId }));
  if (IpProtocol === '-1') return { IpProtocol, ...rest, UserIdGroupPairs: pairs };
  const icmp = IpProtocol.startsWith('icmp');
  const from = FromPort ?? (icmp ? -1 : undefined);
  const to = ToPort ?? (icmp ? -1 : undefined);
  if (from === undefined || to === undefined) throw invalid(`${IpProtocol} permissions need FromPort and ToPort`);
  if (icmp ? from < -1 || from > 255 || to < -1 || to > 255 : from < 0 || to > 65535 || from > to)
    throw invalid(`Invalid value '${from}-${to}' for portRange of protocol ${IpProtocol}`);
  return { IpProtocol, FromPort: from, ToPort: to, ...rest, UserIdGroupPairs: pairs };
}

// A permission is one protocol and port range with several sources; each source is one rule.
const LISTS = ['IpRanges', 'Ipv6Ranges', 'PrefixListIds', 'UserIdGroupPairs'] as const;
type Rule = { perm: AwsPermission; list: (typeof LISTS)[number]; item: Record<string, unknown>; key: string };

const permKey = (p: AwsPermission) => `${p.IpProtocol}|${p.FromPort ?? ''}|${p.ToPort ?? ''}`;
function sourceOf(item: Record<string, unknown>): string {
  return String(item.CidrIp ?? item.CidrIpv6 ?? item.PrefixListId ?? `${String(item.UserId)}/${String(item.GroupId)}`);
}

function flatten(perms: AwsPermission[]): Rule[] {
  return perms.flatMap((perm) =>
    LISTS.flatMap((list) => (perm[list] as Record<string, unknown>[]).map((item) => ({ perm, list, item, key: `${permKey(perm)}|${list}|${sourceOf(item)}` }))),
  );
}

/** Regroups rules into permissions as Describe shows them: one per protocol and port range, no duplicate sources. */
function group(rules: Rule[]): AwsPermission[] {
  const out = new Map<string, AwsPermission>();
  const seen = new Set<string>();
  for (const r of rules) {
    if (seen.has(r.key)) continue;
    seen.add(r.key);
    const k = permKey(r.perm);
    if (!out.has(k)) out.set(k, { ...r.perm, IpRanges: [], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [] });
    (out.get(k)![r.list] as Record<string, unknown>[]).push(r.item);
  }
  return [...out.values()];
}

const tidy = (perms: AwsPermission[], accountId: string) => group(flatten(perms.map((p) => clean(p, accountId))));

function describeRule(r: Rule): string {
  const ports = r.perm.IpProtocol === '-1' ? 'ALL' : `${r.perm.IpProtocol.toUpperCase()}, from port: ${r.perm.FromPort}, to port: ${r.perm.ToPort}`;
  return `peer: ${r.list === 'UserIdGroupPairs' ? String(r.item.GroupId) : sourceOf(r.item)}, ${ports}, ALLOW`;
}

const perm = (IpProtocol: string, FromPort: number | undefined, ToPort: number | undefined, sources: Partial<Record<(typeof LISTS)[number], object[]>>) =>
  awsPermission.parse({ IpProtocol, FromPort, ToPort, ...sources });
const world = (Description?: string) => ({ IpRanges: [{ CidrIp: '0.0.0.0/0', ...(Description ? { Description } : {}) }] });

registerResourceType({
  type: TYPE,
  dialect: 'aws',
  description: 'EC2 security group (DescribeSecurityGroups)',
  schema,
  idField: 'GroupId',
  weight: 2,
  drifts: [
    {
      what: 'opened SSH (22) to the world',
      action: 'ec2:AuthorizeSecurityGroupIngress',
      params: (id) => ({ GroupId: id, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }),
    },
  ],
  nameOf: (c) => (c.GroupName as string) || undefined,
  normalize({ id, accountId, regionId, tags, configuration }) {
    const c = schema.parse(configuration);
    // Parsed once more so fields keep the schema's order: the output is byte-stable, not just deep-equal.
    return schema.parse({
      ...c,
      GroupId: id,
      VpcId: c.VpcId ?? defaultVpcId(accountId, regionId),
      OwnerId: accountId,
      IpPermissions: tidy(c.IpPermissions, accountId),
      IpPermissionsEgress: tidy(c.IpPermissionsEgress, accountId),
      Tags: tagList(tags),
    });
  },
  generate(rng, ctx) {
    const id = `sg-${rng.hex(17)}`;
    const tier = rng.pick(['web', 'app', 'db', 'bastion', 'cache', 'batch']);
    const env = rng.pick(['prod', 'staging', 'dev']);
    const team = rng.pick(['payments', 'identity', 'search', 'data', 'platform', 'ml']);
    const ingress: AwsPermission[] = [];
    if (tier === 'web') {
      ingress.push(perm('tcp', 443, 443, { ...world('HTTPS'), Ipv6Ranges: rng.chance(0.3) ? [{ CidrIpv6: '::/0' }] : [] }));
      if (rng.chance(0.5)) ingress.push(perm('tcp', 80, 80, world('HTTP redirect')));
    }
    if (tier === 'app') ingress.push(perm('tcp', 8080, 8080, { IpRanges: [{ CidrIp: '10.0.0.0/8' }] }));
    if (tier === 'app' && rng.chance(0.5)) ingress.push(perm('-1', undefined, undefined, { UserIdGroupPairs: [{ GroupId: id, UserId: ctx.accountId }] }));
    const dbPort = rng.pick([5432, 3306]);
    if (tier === 'db') ingress.push(perm('tcp', dbPort, dbPort, { IpRanges: [{ CidrIp: '10.0.0.0/8', Description: 'VPC clients' }] }));
    if (tier === 'cache') ingress.push(perm('tcp', 6379, 6379, { IpRanges: [{ CidrIp: '10.0.0.0/8' }] }));
    if (tier === 'bastion' || rng.chance(0.3))
      ingress.push(
        perm('tcp', 22, 22, {
          IpRanges: [
            { CidrIp: rng.pick(['203.0.113.0/24', '198.51.100.0/24', `10.${rng.int(0, 255)}.${rng.int(0, 255)}.0/24`]), Description: 'SSH from office VPN' },
          ],
        }),
      );
    if (rng.chance(0.2)) ingress.push(perm('icmp', -1, -1, { IpRanges: [{ CidrIp: '10.0.0.0/8' }] }));
    // Misconfigured: SSH, RDP or all traffic open to the world, over IPv4 or IPv6.
    if (ctx.misconfigured) {
      const [proto, port] = rng.pick([
        ['tcp', 22],
        ['tcp', 22],
        ['tcp', 3389],
        ['-1', undefined],
      ] as const);
      ingress.push(perm(proto, port, port, rng.chance(0.8) ? world('temporary debug') : { Ipv6Ranges: [{ CidrIpv6: '::/0' }] }));
    }
    const egress = [perm('-1', undefined, undefined, { ...world(), Ipv6Ranges: rng.chance(0.3) ? [{ CidrIpv6: '::/0' }] : [] })];
    return {
      id,
      tags: { env, tier, team },
      configuration: {
        GroupId: id,
        GroupName: `${env}-${tier}-${ctx.index}`,
        Description: `${tier} tier (${env})`,
        VpcId: `vpc-${rng.hex(17)}`,
        OwnerId: ctx.accountId,
        IpPermissions: tidy(ingress, ctx.accountId),
        IpPermissionsEgress: tidy(egress, ctx.accountId),
      },
    };
  },
});

// --- operations ----------------------------------------------------------

function requireGroup(current: { configuration: Configuration } | null, id: string): Configuration {
  if (!current) throw new SandboxError('InvalidGroup.NotFound', `The security group '${id}' does not exist`, 404);
  return current.configuration;
}

const groupTarget = z.object({ GroupId: z.string().min(1) });
const permissionParams = groupTarget.extend({
  IpPermissions: z.array(awsPermission).optional(),
  // The older single-rule form of the API.
  IpProtocol: protocol.optional(),
  FromPort: z.coerce.number().int().optional(),
  ToPort: z.coerce.number().int().optional(),
  CidrIp: z.string().optional(),
});
type PermissionParams = z.output<typeof permissionParams>;

function requestedRules(p: PermissionParams, accountId: string): Rule[] {
  const perms = p.IpPermissions?.length
    ? p.IpPermissions
    : p.IpProtocol
      ? [awsPermission.parse({ IpProtocol: p.IpProtocol, FromPort: p.FromPort, ToPort: p.ToPort, IpRanges: p.CidrIp ? [{ CidrIp: p.CidrIp }] : [] })]
      : [];
  const rules = flatten(perms.map((x) => clean(x, accountId)));
  if (rules.length === 0)
    throw new SandboxError('MissingParameter', 'The request must contain IpPermissions with at least one source (or IpProtocol and CidrIp).');
  return rules;
}

for (const [suffix, field] of [
  ['Ingress', 'IpPermissions'],
  ['Egress', 'IpPermissionsEgress'],
] as const) {
  registerOperation<PermissionParams>({
    action: `ec2:AuthorizeSecurityGroup${suffix}`,
    resourceType: TYPE,
    kind: 'update',
    description: `Adds ${suffix.toLowerCase()} rules to a security group; a rule that already exists is refused.`,
    params: permissionParams,
    target: (p) => p.GroupId,
    apply(current, params, ctx) {
      const c = requireGroup(current, params.GroupId);
      const existing = flatten(c[field] as AwsPermission[]);
      const have = new Set(existing.map((r) => r.key));
      const added = requestedRules(params, ctx.accountId);
      for (const r of added) {
        if (have.has(r.key)) throw new SandboxError('InvalidPermission.Duplicate', `the specified rule "${describeRule(r)}" already exists`);
        have.add(r.key);
      }
      return { configuration: { ...c, [field]: group([...existing, ...added]) }, result: { Return: true } };
    },
  });

  registerOperation<PermissionParams>({
    action: `ec2:RevokeSecurityGroup${suffix}`,
    resourceType: TYPE,
    kind: 'update',
    description: `Removes ${suffix.toLowerCase()} rules from a security group; every rule named must exist.`,
    params: permissionParams,
    target: (p) => p.GroupId,
    apply(current, params, ctx) {
      const c = requireGroup(current, params.GroupId);
      const existing = flatten(c[field] as AwsPermission[]);
      const gone = new Set(requestedRules(params, ctx.accountId).map((r) => r.key));
      for (const key of gone)
        if (!existing.some((r) => r.key === key))
          throw new SandboxError('InvalidPermission.NotFound', `The specified rule does not exist in security group '${params.GroupId}'.`);
      // Regrouping drops a permission whose last source was removed.
      return { configuration: { ...c, [field]: group(existing.filter((r) => !gone.has(r.key))) }, result: { Return: true } };
    },
  });
}

const createParams = z.object({
  GroupId: z.string().optional(),
  GroupName: z.string().min(1).max(255),
  Description: z.string().min(1).max(255),
  VpcId: z.string().optional(),
  Tags: z.record(z.string(), z.string()).optional(),
  TagSpecifications: z
    .array(z.object({ ResourceType: z.string().optional(), Tags: z.array(z.object({ Key: z.string().min(1), Value: z.string().default('') })).default([]) }))
    .optional(),
});
registerOperation<z.output<typeof createParams>>({
  action: 'ec2:CreateSecurityGroup',
  resourceType: TYPE,
  kind: 'create',
  description: 'Creates a security group with no ingress rules and the default allow-all egress rule.',
  params: createParams,
  target: (p, ctx) => p.GroupId ?? ctx.newId('sg-'),
  apply(current, params, ctx) {
    const id = ctx.resourceId;
    if (current) throw new SandboxError('InvalidGroup.Duplicate', `The security group '${id}' already exists`);
    if (params.GroupName.startsWith('sg-')) throw invalid(`Group names may not be in the format sg-*`);
    const tags: Tags = { ...params.Tags };
    for (const spec of params.TagSpecifications ?? [])
      if (!spec.ResourceType || spec.ResourceType === 'security-group') for (const t of spec.Tags) tags[t.Key] = t.Value;
    return {
      configuration: {
        GroupId: id,
        GroupName: params.GroupName,
        Description: params.Description,
        VpcId: params.VpcId ?? defaultVpcId(ctx.accountId, ctx.regionId),
        // As in AWS, a new group may send anywhere until its egress rules are changed.
        IpPermissions: [],
        IpPermissionsEgress: [perm('-1', undefined, undefined, world())],
      },
      tags,
      result: { GroupId: id },
    };
  },
});

registerOperation<z.output<typeof groupTarget>>({
  action: 'ec2:DeleteSecurityGroup',
  resourceType: TYPE,
  kind: 'delete',
  description: 'Deletes a security group (not a VPC default group).',
  params: groupTarget,
  target: (p) => p.GroupId,
  apply(current, params) {
    const c = requireGroup(current, params.GroupId);
    if (c.GroupName === 'default')
      throw new SandboxError('CannotDelete', `the specified group: "${params.GroupId}" name: "default" cannot be deleted by a user`);
    return { configuration: null, result: { Return: true, GroupId: params.GroupId } };
  },
});
