// AWS::EC2::Instance, shaped as an instance in EC2 DescribeInstances' Reservations[].Instances[].
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { SandboxError } from '../errors.js';
import { registerOperation, registerResourceType } from '../registry.js';
import type { Configuration, Tags } from '../../types.js';
import { defaultVpcId } from './aws-ec2-security-group.js';

const TYPE = 'AWS::EC2::Instance';

const STATE_CODES = { pending: 0, running: 16, 'shutting-down': 32, terminated: 48, stopping: 64, stopped: 80 } as const;
type StateName = keyof typeof STATE_CODES;
const stateOf = (Name: StateName) => ({ Code: STATE_CODES[Name], Name });

const schema = z.looseObject({
  InstanceId: z.string().optional(),
  ImageId: z.string().min(1),
  InstanceType: z.string().default('m1.small'),
  State: z
    .looseObject({ Code: z.number().int().optional(), Name: z.enum(Object.keys(STATE_CODES) as [StateName, ...StateName[]]) })
    .default({ Name: 'running' }),
  Monitoring: z.looseObject({ State: z.enum(['disabled', 'disabling', 'enabled', 'pending']).default('disabled') }).default({ State: 'disabled' }),
  Placement: z.looseObject({ AvailabilityZone: z.string().optional(), Tenancy: z.string().default('default') }).default({ Tenancy: 'default' }),
  PrivateIpAddress: z.string().optional(),
  PublicIpAddress: z.string().optional(),
  SubnetId: z.string().optional(),
  VpcId: z.string().optional(),
  SecurityGroups: z.array(z.looseObject({ GroupId: z.string().min(1), GroupName: z.string().optional() })).default([]),
  Tags: z.array(z.looseObject({ Key: z.string(), Value: z.string() })).optional(),
  LaunchTime: z.string().optional(),
  IamInstanceProfile: z.looseObject({ Arn: z.string(), Id: z.string().optional() }).optional(),
  // 'optional' is the API default: IMDSv1 stays allowed unless someone requires tokens.
  MetadataOptions: z
    .looseObject({ HttpTokens: z.enum(['required', 'optional']).default('optional'), HttpEndpoint: z.enum(['enabled', 'disabled']).default('enabled') })
    .default({ HttpTokens: 'optional', HttpEndpoint: 'enabled' }),
});

const tagList = (tags: Tags) =>
  Object.keys(tags)
    .sort()
    .map((k) => ({ Key: k, Value: tags[k]! }));

/** A stable private address for instances created by the API (the sandbox keeps no subnets). */
function privateIpFor(id: string): string {
  const h = createHash('sha256').update(id).digest();
  return `172.31.${h[0]}.${(h[1]! % 250) + 4}`;
}

registerResourceType({
  type: TYPE,
  dialect: 'aws',
  description: 'EC2 instance (DescribeInstances)',
  schema,
  idField: 'InstanceId',
  weight: 2,
  nameOf: (c) => (c.Tags as { Key: string; Value: string }[] | undefined)?.find((t) => t.Key === 'Name')?.Value || undefined,
  normalize({ id, accountId, regionId, tags, configuration }) {
    const c = schema.parse(configuration);
    // Parsed once more so fields keep the schema's order: the output is byte-stable, not just deep-equal.
    return schema.parse({
      ...c,
      InstanceId: id,
      State: { ...c.State, Code: STATE_CODES[c.State.Name] },
      Placement: { ...c.Placement, AvailabilityZone: c.Placement.AvailabilityZone ?? `${regionId}a` },
      PrivateIpAddress: c.PrivateIpAddress ?? privateIpFor(id),
      VpcId: c.VpcId ?? defaultVpcId(accountId, regionId),
      Tags: tagList(tags),
    });
  },
  generate(rng, ctx) {
    const id = `i-${rng.hex(17)}`;
    const env = rng.pick(['prod', 'prod', 'staging', 'dev']);
    const team = rng.pick(['payments', 'identity', 'search', 'data', 'platform', 'ml', 'billing']);
    const app = rng.pick(['api', 'web', 'worker', 'etl', 'gateway', 'scheduler', 'indexer']);
    const type = rng.pick(['t3.micro', 't3.medium', 'm5.large', 'm6i.xlarge', 'c6g.large', 'r6i.2xlarge']);
    let image = rng.pick(ctx.approvedImages.aws);
    let monitoring: 'enabled' | 'disabled' = 'enabled';
    // Break exactly one of the two rules: approved AMIs, or detailed monitoring.
    if (ctx.misconfigured) {
      if (rng.chance(0.5)) image = `ami-${rng.hex(17)}`;
      else monitoring = 'disabled';
    }
    const running = rng.chance(0.85);
    const ip = `10.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(4, 254)}`;
    const groups = ctx.securityGroupIds.length
      ? [...new Set([rng.pick(ctx.securityGroupIds), ...(rng.chance(0.3) ? [rng.pick(ctx.securityGroupIds)] : [])])]
      : [`sg-${rng.hex(17)}`];
    const launched = new Date(Date.UTC(2022, 0, 1) + rng.int(0, 900 * 86_400) * 1000);
    const name = `${env}-${team}-${app}-${ctx.index}`;
    return {
      id,
      tags: { Name: name, env, team, app },
      configuration: {
        InstanceId: id,
        ImageId: image,
        InstanceType: type,
        Architecture: type.startsWith('c6g') ? 'arm64' : 'x86_64',
        State: stateOf(running ? 'running' : 'stopped'),
        Monitoring: { State: monitoring },
        Placement: { AvailabilityZone: `${ctx.regionId}${rng.pick(['a', 'b', 'c'])}`, Tenancy: 'default' },
        PrivateIpAddress: ip,
        PrivateDnsName: `ip-${ip.replaceAll('.', '-')}.${ctx.regionId === 'us-east-1' ? 'ec2' : `${ctx.regionId}.compute`}.internal`,
        ...(running && (app === 'web' || app === 'gateway')
          ? { PublicIpAddress: `${rng.pick([3, 18, 34, 54])}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}` }
          : {}),
        SubnetId: `subnet-${rng.hex(17)}`,
        VpcId: `vpc-${rng.hex(17)}`,
        SecurityGroups: groups.map((GroupId) => ({ GroupId })),
        LaunchTime: launched.toISOString(),
        ...(rng.chance(0.5)
          ? { IamInstanceProfile: { Arn: `arn:aws:iam::${ctx.accountId}:instance-profile/${team}-${app}-${env}`, Id: `AIPA${rng.alnum(17).toUpperCase()}` } }
          : {}),
        MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled' },
      },
    };
  },
});

// --- operations ----------------------------------------------------------

function requireInstance(current: { configuration: Configuration } | null, id: string): Configuration {
  if (!current) throw new SandboxError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`, 404);
  return current.configuration;
}

// The EC2 API takes a list of ids; the sandbox acts on one resource per call, so exactly one.
const oneInstance = z
  .object({ InstanceIds: z.array(z.string().min(1)).optional(), InstanceId: z.string().min(1).optional() })
  .refine((p) => (p.InstanceIds ? p.InstanceIds.length === 1 && (!p.InstanceId || p.InstanceId === p.InstanceIds[0]) : !!p.InstanceId), {
    message: 'give InstanceId, or InstanceIds with exactly one instance id',
    path: ['InstanceIds'],
  })
  .transform((p) => ({ InstanceId: p.InstanceId ?? p.InstanceIds![0]! }));
type OneInstance = z.output<typeof oneInstance>;

const tagSpecs = z.array(
  z.object({ ResourceType: z.string().optional(), Tags: z.array(z.object({ Key: z.string().min(1), Value: z.string().default('') })).default([]) }),
);
const runParams = z.object({
  InstanceId: z.string().optional(),
  ImageId: z.string().min(1),
  InstanceType: z.string().default('m1.small'),
  SecurityGroupIds: z.array(z.string().min(1)).default([]),
  SubnetId: z.string().optional(),
  Monitoring: z.object({ Enabled: z.boolean() }).optional(),
  MetadataOptions: z.object({ HttpTokens: z.enum(['required', 'optional']).optional() }).optional(),
  IamInstanceProfile: z.object({ Arn: z.string() }).optional(),
  Tags: z.record(z.string(), z.string()).optional(),
  TagSpecifications: tagSpecs.optional(),
});
registerOperation<z.output<typeof runParams>>({
  action: 'ec2:RunInstances',
  resourceType: TYPE,
  kind: 'create',
  description: 'Launches one instance (it is running at once; detailed monitoring is off unless asked for).',
  params: runParams,
  target: (p, ctx) => p.InstanceId ?? ctx.newId('i-'),
  apply(current, params, ctx) {
    const id = ctx.resourceId;
    if (!/^ami-[0-9a-f]{8,17}$/.test(params.ImageId)) throw new SandboxError('InvalidAMIID.Malformed', `Invalid id: "${params.ImageId}" (expecting "ami-...")`);
    if (current) throw new SandboxError('InvalidInstanceID.Duplicate', `The instance ID '${id}' already exists`, 409);
    const tags: Tags = { ...params.Tags };
    for (const spec of params.TagSpecifications ?? [])
      if (!spec.ResourceType || spec.ResourceType === 'instance') for (const t of spec.Tags) tags[t.Key] = t.Value;
    const configuration: Configuration = {
      InstanceId: id,
      ImageId: params.ImageId,
      InstanceType: params.InstanceType,
      State: stateOf('running'),
      Monitoring: { State: params.Monitoring?.Enabled ? 'enabled' : 'disabled' },
      Placement: { AvailabilityZone: `${ctx.regionId}a`, Tenancy: 'default' },
      ...(params.SubnetId ? { SubnetId: params.SubnetId } : {}),
      SecurityGroups: params.SecurityGroupIds.map((GroupId) => ({ GroupId })),
      LaunchTime: ctx.now.toISOString(),
      ...(params.IamInstanceProfile ? { IamInstanceProfile: params.IamInstanceProfile } : {}),
      MetadataOptions: { HttpTokens: params.MetadataOptions?.HttpTokens ?? 'optional', HttpEndpoint: 'enabled' },
    };
    return {
      configuration,
      tags,
      result: { Instances: [{ InstanceId: id, ImageId: params.ImageId, InstanceType: params.InstanceType, State: stateOf('pending') }] },
    };
  },
});

registerOperation<OneInstance>({
  action: 'ec2:TerminateInstances',
  resourceType: TYPE,
  kind: 'delete',
  description: 'Terminates an instance (the sandbox removes it at once).',
  params: oneInstance,
  target: (p) => p.InstanceId,
  apply(current, params) {
    const c = requireInstance(current, params.InstanceId);
    const previous = c.State as ReturnType<typeof stateOf>;
    return {
      configuration: null,
      result: { TerminatingInstances: [{ InstanceId: params.InstanceId, CurrentState: stateOf('shutting-down'), PreviousState: previous }] },
    };
  },
});

for (const [action, to, resultKey] of [
  ['ec2:StopInstances', 'stopped', 'StoppingInstances'],
  ['ec2:StartInstances', 'running', 'StartingInstances'],
] as const) {
  registerOperation<OneInstance>({
    action,
    resourceType: TYPE,
    kind: 'update',
    description: `${to === 'stopped' ? 'Stops' : 'Starts'} an instance (no change if it already is ${to}).`,
    params: oneInstance,
    target: (p) => p.InstanceId,
    apply(current, params) {
      const c = requireInstance(current, params.InstanceId);
      const previous = c.State as ReturnType<typeof stateOf>;
      const result = { [resultKey]: [{ InstanceId: params.InstanceId, CurrentState: stateOf(to), PreviousState: previous }] };
      return { configuration: previous.Name === to ? undefined : { ...c, State: stateOf(to) }, result };
    },
  });
}

for (const [action, to] of [
  ['ec2:MonitorInstances', 'enabled'],
  ['ec2:UnmonitorInstances', 'disabled'],
] as const) {
  registerOperation<OneInstance>({
    action,
    resourceType: TYPE,
    kind: 'update',
    description: `${to === 'enabled' ? 'Enables' : 'Disables'} detailed monitoring of an instance.`,
    params: oneInstance,
    target: (p) => p.InstanceId,
    apply(current, params) {
      const c = requireInstance(current, params.InstanceId);
      const now = (c.Monitoring as { State?: string } | undefined)?.State;
      return {
        configuration: now === to ? undefined : { ...c, Monitoring: { ...(c.Monitoring as object), State: to } },
        result: { InstanceMonitorings: [{ InstanceId: params.InstanceId, Monitoring: { State: to } }] },
      };
    },
  });
}
