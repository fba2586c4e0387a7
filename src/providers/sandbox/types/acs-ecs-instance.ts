// ACS::ECS::Instance, shaped as an ECS DescribeInstances item, plus the agent status CloudMonitor reports.
import { z } from 'zod';
import { SandboxError } from '../errors.js';
import { registerOperation, registerResourceType } from '../registry.js';
import type { Configuration, Tags } from '../../types.js';

const TYPE = 'ACS::ECS::Instance';

const ipList = z.looseObject({ IpAddress: z.array(z.string()).default([]) }).default({ IpAddress: [] });

const schema = z.looseObject({
  InstanceId: z.string().optional(),
  InstanceName: z.string().optional(),
  HostName: z.string().optional(),
  Description: z.string().default(''),
  RegionId: z.string().optional(),
  ZoneId: z.string().optional(),
  InstanceType: z.string().default('ecs.g7.large'),
  ImageId: z.string().min(1),
  OSName: z.string().optional(),
  OSType: z.enum(['linux', 'windows']).optional(),
  Status: z.enum(['Running', 'Stopped']).default('Running'),
  Cpu: z.coerce.number().int().positive().optional(),
  Memory: z.coerce.number().int().positive().optional(),
  VpcAttributes: z
    .looseObject({ VpcId: z.string().default(''), VSwitchId: z.string().default(''), PrivateIpAddress: ipList })
    .default({ VpcId: '', VSwitchId: '', PrivateIpAddress: { IpAddress: [] } }),
  PublicIpAddress: ipList,
  SecurityGroupIds: z.looseObject({ SecurityGroupId: z.array(z.string()).default([]) }).default({ SecurityGroupId: [] }),
  Tags: z.looseObject({ Tag: z.array(z.looseObject({ TagKey: z.string(), TagValue: z.string().default('') })).default([]) }).optional(),
  CreationTime: z.string().optional(),
  // Not in DescribeInstances: CloudMonitor's DescribeMonitoringAgentStatuses, merged in because rules need it.
  MonitoringAgentStatus: z.enum(['running', 'stopped', 'not_installed']).default('not_installed'),
});

/** vCPUs and memory (MiB, as ECS reports it) from the instance type name, e.g. ecs.g7.2xlarge → 8 / 32768. */
function specOf(type: string): { Cpu: number; Memory: number } {
  const m = /^ecs\.([a-z]+)[\w-]*\.(\d*)(x?)large$/.exec(type);
  if (!m) return { Cpu: 2, Memory: 8192 };
  const cpu = m[3] ? 4 * Number(m[2] || 1) : 2;
  const ratio = /c1m(\d)/.exec(type)?.[1] ?? { c: '2', r: '8' }[m[1]!.charAt(0)] ?? '4';
  return { Cpu: cpu, Memory: cpu * Number(ratio) * 1024 };
}

// OSName as ECS reports it (in Chinese, with its double spaces) for the public images the sandbox knows.
const OS_BY_IMAGE: [prefix: string, OSName: string, OSType: 'linux' | 'windows'][] = [
  ['ubuntu_22_04', 'Ubuntu  22.04 64位', 'linux'],
  ['aliyun_3', 'Alibaba Cloud Linux  3.2104 LTS 64位', 'linux'],
  ['centos_7_9', 'CentOS  7.9 64位', 'linux'],
  ['win2022', 'Windows Server  2022 数据中心版 64位中文版', 'windows'],
];
function osOf(imageId: string): { OSName: string; OSType: 'linux' | 'windows' } | undefined {
  const hit = OS_BY_IMAGE.find(([p]) => imageId.startsWith(p));
  return hit && { OSName: hit[1], OSType: hit[2] };
}

/** Mainland zones are cn-hangzhou-h; international ones are ap-southeast-1a. */
const zoneOf = (region: string, letter: string) => (region.startsWith('cn-') ? `${region}-${letter}` : `${region}${letter}`);

/** ECS ids start with a region-specific prefix (i-bp1… in Hangzhou). */
const ID_PREFIX: Record<string, string> = { 'cn-hangzhou': 'bp1', 'cn-shanghai': 'uf6', 'cn-beijing': '2ze', 'cn-shenzhen': 'wz9', 'ap-southeast-1': 't4n' };

const tagList = (tags: Tags) =>
  Object.keys(tags)
    .sort()
    .map((k) => ({ TagKey: k, TagValue: tags[k]! }));

/** ECS's own timestamp format: 2024-01-15T08:30Z. */
const ecsTime = (d: Date) => `${d.toISOString().slice(0, 16)}Z`;

registerResourceType({
  type: TYPE,
  dialect: 'acs',
  description: 'ECS instance (DescribeInstances, with the CloudMonitor agent status)',
  schema,
  idField: 'InstanceId',
  weight: 3,
  nameOf: (c) => (c.InstanceName as string) || undefined,
  normalize({ id, regionId, tags, configuration }) {
    const c = schema.parse(configuration);
    const os = osOf(c.ImageId);
    const spec = specOf(c.InstanceType);
    // Parsed once more so fields keep the schema's order: the output is byte-stable, not just deep-equal.
    return schema.parse({
      ...c,
      InstanceId: id,
      InstanceName: c.InstanceName ?? id,
      HostName: c.HostName ?? `iZ${id.replace(/^i-/, '')}Z`,
      RegionId: regionId,
      ZoneId: c.ZoneId ?? zoneOf(regionId, regionId.startsWith('cn-') ? 'h' : 'a'),
      OSName: c.OSName ?? os?.OSName ?? '',
      OSType: c.OSType ?? os?.OSType ?? 'linux',
      Cpu: c.Cpu ?? spec.Cpu,
      Memory: c.Memory ?? spec.Memory,
      Tags: { Tag: tagList(tags) },
    });
  },
  generate(rng, ctx) {
    const pre = ID_PREFIX[ctx.regionId] ?? rng.alnum(3);
    const id = `i-${pre}${rng.alnum(17)}`;
    const env = rng.pick(['prod', 'prod', 'staging', 'dev']);
    const team = rng.pick(['payments', 'identity', 'search', 'data', 'platform', 'ml', 'billing']);
    const app = rng.pick(['api', 'web', 'worker', 'etl', 'gateway', 'scheduler', 'indexer']);
    const type = rng.pick(['ecs.g7.large', 'ecs.g7.xlarge', 'ecs.c7.xlarge', 'ecs.r7.2xlarge', 'ecs.t6-c1m2.large', 'ecs.g6.large']);
    let image = rng.pick(ctx.approvedImages.acs);
    let status: 'Running' | 'Stopped' = rng.chance(0.85) ? 'Running' : 'Stopped';
    let agent: 'running' | 'stopped' | 'not_installed' = 'running';
    // Misconfigured breaks exactly one of the two rules: agent on running instances, or approved images.
    if (ctx.misconfigured && rng.chance(0.5)) [status, agent] = ['Running', rng.pick(['not_installed', 'stopped'] as const)];
    else if (ctx.misconfigured)
      image = rng.pick([`m-${pre}${rng.alnum(17)}`, 'centos_7_9_x64_20G_alibase_20230919.vhd', 'win2022_21H2_x64_dtc_zh-cn_40G_alibase_20240716.vhd']);
    const groups = ctx.securityGroupIds.length
      ? [...new Set([rng.pick(ctx.securityGroupIds), ...(rng.chance(0.3) ? [rng.pick(ctx.securityGroupIds)] : [])])]
      : [`sg-${pre}${rng.alnum(17)}`];
    const name = `${env}-${team}-${app}-${ctx.index}`;
    const created = new Date(Date.UTC(2022, 0, 1) + rng.int(0, 900 * 24 * 60) * 60_000);
    const os = osOf(image);
    return {
      id,
      tags: { env, team, app },
      configuration: {
        InstanceId: id,
        InstanceName: name,
        HostName: rng.chance(0.5) ? name : `iZ${id.slice(2)}Z`,
        Description: '',
        ZoneId: zoneOf(ctx.regionId, rng.pick(ctx.regionId.startsWith('cn-') ? ['h', 'i', 'j'] : ['a', 'b', 'c'])),
        InstanceType: type,
        ImageId: image,
        OSName: os?.OSName ?? 'CentOS  7.9 64位',
        OSType: os?.OSType ?? 'linux',
        Status: status,
        ...specOf(type),
        VpcAttributes: {
          VpcId: `vpc-${pre}${rng.alnum(17)}`,
          VSwitchId: `vsw-${pre}${rng.alnum(17)}`,
          PrivateIpAddress: { IpAddress: [`172.16.${rng.int(0, 255)}.${rng.int(1, 254)}`] },
        },
        PublicIpAddress: {
          IpAddress: app === 'web' || app === 'gateway' || rng.chance(0.1) ? [`47.${rng.int(90, 120)}.${rng.int(0, 255)}.${rng.int(1, 254)}`] : [],
        },
        SecurityGroupIds: { SecurityGroupId: groups },
        CreationTime: ecsTime(created),
        MonitoringAgentStatus: agent,
      },
    };
  },
});

// --- operations ----------------------------------------------------------

function requireInstance(current: { configuration: Configuration } | null, id: string): Configuration {
  if (!current) throw new SandboxError('InvalidInstanceId.NotFound', `The specified instance "${id}" does not exist.`, 404);
  return current.configuration;
}

function requireStatus(c: Configuration, id: string, status: 'Running' | 'Stopped', action: string): void {
  if (c.Status !== status) throw new SandboxError('IncorrectInstanceStatus', `The instance "${id}" is ${c.Status}; ${action} needs it to be ${status}.`, 403);
}

const instanceTarget = z.object({ InstanceId: z.string().min(1) });

const runParams = z.object({
  InstanceId: z.string().optional(),
  ImageId: z.string().min(1),
  InstanceType: z.string().default('ecs.g7.large'),
  InstanceName: z.string().optional(),
  HostName: z.string().optional(),
  Description: z.string().default(''),
  ZoneId: z.string().optional(),
  VSwitchId: z.string().default(''),
  SecurityGroupId: z.string().optional(),
  SecurityGroupIds: z.array(z.string()).optional(),
  Tags: z.record(z.string(), z.string()).optional(),
});
registerOperation<z.output<typeof runParams>>({
  action: 'ecs:RunInstances',
  resourceType: TYPE,
  kind: 'create',
  description: 'Creates and starts an instance (the CloudMonitor agent is not installed yet).',
  params: runParams,
  target: (p, ctx) => p.InstanceId ?? ctx.newId('i-'),
  apply(current, params, ctx) {
    const id = ctx.resourceId;
    if (current) throw new SandboxError('InvalidInstanceId.Duplicate', `The instance "${id}" already exists.`, 409);
    const { Tags, SecurityGroupId, SecurityGroupIds, VSwitchId, InstanceId: _id, ...rest } = params;
    const groups = [...new Set([...(SecurityGroupId ? [SecurityGroupId] : []), ...(SecurityGroupIds ?? [])])];
    return {
      configuration: {
        ...rest,
        Status: 'Running',
        VpcAttributes: { VpcId: '', VSwitchId, PrivateIpAddress: { IpAddress: [] } },
        SecurityGroupIds: { SecurityGroupId: groups },
        CreationTime: ecsTime(ctx.now),
        MonitoringAgentStatus: 'not_installed',
      },
      tags: Tags ?? {},
      result: { InstanceIdSets: { InstanceIdSet: [id] } },
    };
  },
});

const deleteParams = instanceTarget.extend({ Force: z.boolean().default(false) });
registerOperation<z.output<typeof deleteParams>>({
  action: 'ecs:DeleteInstance',
  resourceType: TYPE,
  kind: 'delete',
  description: 'Releases an instance; it must be Stopped unless Force is true.',
  params: deleteParams,
  target: (p) => p.InstanceId,
  apply(current, params) {
    const c = requireInstance(current, params.InstanceId);
    if (!params.Force) requireStatus(c, params.InstanceId, 'Stopped', 'DeleteInstance without Force');
    return { configuration: null, result: {} };
  },
});

for (const [action, status] of [
  ['ecs:StopInstance', 'Stopped'],
  ['ecs:StartInstance', 'Running'],
] as const) {
  registerOperation<z.output<typeof instanceTarget>>({
    action,
    resourceType: TYPE,
    kind: 'update',
    description: `${status === 'Stopped' ? 'Stops' : 'Starts'} an instance (no change if it already is ${status}).`,
    params: instanceTarget,
    target: (p) => p.InstanceId,
    apply(current, p) {
      const c = requireInstance(current, p.InstanceId);
      return { configuration: c.Status === status ? undefined : { ...c, Status: status }, result: {} };
    },
  });
}

// The CloudMonitor API takes a list; the sandbox acts on one resource per call, so exactly one id.
const installParams = z
  .object({ InstanceIds: z.array(z.string().min(1)).optional(), InstanceId: z.string().min(1).optional(), Force: z.boolean().default(false) })
  .refine((p) => (p.InstanceIds ? p.InstanceIds.length === 1 && (!p.InstanceId || p.InstanceId === p.InstanceIds[0]) : !!p.InstanceId), {
    message: 'give InstanceId, or InstanceIds with exactly one instance id',
  })
  .transform((p) => ({ InstanceId: p.InstanceId ?? p.InstanceIds![0]!, Force: p.Force }));
registerOperation<z.output<typeof installParams>>({
  action: 'cms:InstallMonitoringAgent',
  resourceType: TYPE,
  kind: 'update',
  description: 'Installs (or restarts) the CloudMonitor agent on a running instance.',
  params: installParams,
  target: (p) => p.InstanceId,
  apply(current, params) {
    const c = requireInstance(current, params.InstanceId);
    requireStatus(c, params.InstanceId, 'Running', 'installing the CloudMonitor agent');
    // A forced reinstall of a running agent leaves it running: nothing the configuration shows changes.
    return { configuration: c.MonitoringAgentStatus === 'running' ? undefined : { ...c, MonitoringAgentStatus: 'running' }, result: { Success: true } };
  },
});

const modifyParams = instanceTarget.extend({ InstanceName: z.string().optional(), Description: z.string().optional(), HostName: z.string().optional() });
registerOperation<z.output<typeof modifyParams>>({
  action: 'ecs:ModifyInstanceAttribute',
  resourceType: TYPE,
  kind: 'update',
  description: 'Changes the name, host name or description of an instance.',
  params: modifyParams,
  target: (p) => p.InstanceId,
  apply(current, params) {
    const c = requireInstance(current, params.InstanceId);
    if (params.InstanceName !== undefined && !/^[\p{L}][\p{L}\d.:_-]{1,127}$/u.test(params.InstanceName))
      throw new SandboxError(
        'InvalidInstanceName.Malformed',
        `The instance name "${params.InstanceName}" must be 2–128 characters, start with a letter and contain only letters, digits, ".", ":", "_" and "-".`,
      );
    const { InstanceId: _id, ...changes } = params;
    const set = Object.entries(changes).filter(([k, v]) => v !== undefined && v !== c[k]);
    return { configuration: set.length ? { ...c, ...Object.fromEntries(set) } : undefined, result: {} };
  },
});

const replaceParams = instanceTarget.extend({ ImageId: z.string().min(1) });
registerOperation<z.output<typeof replaceParams>>({
  action: 'ecs:ReplaceSystemDisk',
  resourceType: TYPE,
  kind: 'update',
  description: 'Re-images a stopped instance from another image.',
  params: replaceParams,
  target: (p) => p.InstanceId,
  apply(current, params, ctx) {
    const c = requireInstance(current, params.InstanceId);
    requireStatus(c, params.InstanceId, 'Stopped', 'ReplaceSystemDisk');
    const os = osOf(params.ImageId);
    const next = { ...c, ImageId: params.ImageId, ...(os ?? {}) };
    return { configuration: next.ImageId === c.ImageId && next.OSName === c.OSName ? undefined : next, result: { DiskId: ctx.newId('d-') } };
  },
});
