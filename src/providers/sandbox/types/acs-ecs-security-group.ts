// ACS::ECS::SecurityGroup, shaped as ECS DescribeSecurityGroupAttribute returns it.
import { z } from 'zod';
import { SandboxError } from '../errors.js';
import { registerOperation, registerResourceType, type OperationContext } from '../registry.js';
import type { Configuration } from '../../types.js';

const TYPE = 'ACS::ECS::SecurityGroup';

const portRange = z.string().regex(/^-?\d{1,5}\/-?\d{1,5}$/, 'a port range like "22/22", "1/65535" or "-1/-1"');

export const acsPermission = z.looseObject({
  SecurityGroupRuleId: z.string().optional(),
  Direction: z.enum(['ingress', 'egress']).default('ingress'),
  IpProtocol: z
    .string()
    .transform((s) => s.toUpperCase())
    .pipe(z.enum(['TCP', 'UDP', 'ICMP', 'ICMPV6', 'GRE', 'ALL'])),
  PortRange: portRange,
  SourceCidrIp: z.string().default(''),
  Ipv6SourceCidrIp: z.string().default(''),
  DestCidrIp: z.string().default(''),
  Ipv6DestCidrIp: z.string().default(''),
  SourceGroupId: z.string().default(''),
  Policy: z
    .enum(['Accept', 'Drop', 'accept', 'drop'])
    .transform((p) => (p.toLowerCase() === 'drop' ? 'Drop' : 'Accept'))
    .default('Accept'),
  Priority: z.coerce.number().int().min(1).max(100).default(1),
  Description: z.string().default(''),
  CreateTime: z.string().optional(),
  NicType: z.string().default('intranet'),
});
export type AcsPermission = z.output<typeof acsPermission>;

const schema = z.looseObject({
  SecurityGroupId: z.string().optional(),
  SecurityGroupName: z.string().default(''),
  Description: z.string().default(''),
  VpcId: z.string().default(''),
  ServiceManaged: z.boolean().default(false),
  InnerAccessPolicy: z.enum(['Accept', 'Drop']).default('Accept'),
  Permissions: z.looseObject({ Permission: z.array(acsPermission).default([]) }).default({ Permission: [] }),
});

function ruleId(ctx: Pick<OperationContext, 'newId'>): string {
  return ctx.newId('sgr-');
}

/** Two permissions are the same rule when every matching attribute is equal (ids and times aside). */
function sameRule(a: AcsPermission, b: AcsPermission): boolean {
  return (
    a.Direction === b.Direction &&
    a.IpProtocol === b.IpProtocol &&
    a.PortRange === b.PortRange &&
    a.SourceCidrIp === b.SourceCidrIp &&
    a.Ipv6SourceCidrIp === b.Ipv6SourceCidrIp &&
    a.DestCidrIp === b.DestCidrIp &&
    a.SourceGroupId === b.SourceGroupId &&
    a.Policy === b.Policy
  );
}

function checkPortRange(p: AcsPermission): void {
  const [from, to] = p.PortRange.split('/').map(Number) as [number, number];
  if (p.IpProtocol === 'TCP' || p.IpProtocol === 'UDP') {
    if (from < 1 || to > 65535 || from > to)
      throw new SandboxError('InvalidPortRange.Malformed', `The specified PortRange "${p.PortRange}" is not valid for ${p.IpProtocol}.`);
  } else if (from !== -1 || to !== -1) {
    throw new SandboxError('InvalidPortRange.Malformed', `PortRange must be "-1/-1" for protocol ${p.IpProtocol}.`);
  }
}

function permissionsOf(c: Configuration): AcsPermission[] {
  return ((c.Permissions as { Permission?: AcsPermission[] } | undefined)?.Permission ?? []) as AcsPermission[];
}

registerResourceType({
  type: TYPE,
  dialect: 'acs',
  description: 'ECS security group (DescribeSecurityGroupAttribute)',
  schema,
  idField: 'SecurityGroupId',
  weight: 3,
  drifts: [
    {
      what: 'opened SSH (22) to the world',
      action: 'ecs:AuthorizeSecurityGroup',
      params: (id) => ({ SecurityGroupId: id, IpProtocol: 'TCP', PortRange: '22/22', SourceCidrIp: '0.0.0.0/0', Description: 'quick debug' }),
    },
    {
      what: 'opened RDP (3389) to the world',
      action: 'ecs:AuthorizeSecurityGroup',
      params: (id) => ({ SecurityGroupId: id, IpProtocol: 'TCP', PortRange: '3389/3389', SourceCidrIp: '0.0.0.0/0' }),
    },
  ],
  nameOf: (c) => (c.SecurityGroupName as string) || undefined,
  normalize({ id, regionId, configuration }) {
    const c = schema.parse(configuration);
    let n = 0;
    const perms = c.Permissions.Permission.map((p) => {
      checkPortRange(p);
      return { ...p, SecurityGroupRuleId: p.SecurityGroupRuleId ?? `sgr-${id.replace(/^sg-/, '')}-${++n}` };
    });
    return { ...c, RegionId: regionId, SecurityGroupId: id, Permissions: { Permission: perms } };
  },
  generate(rng, ctx) {
    const id = `sg-${rng.alnum(20)}`;
    const tier = rng.pick(['web', 'app', 'db', 'bastion', 'cache', 'batch']);
    const env = rng.pick(['prod', 'staging', 'dev']);
    const perms: Configuration[] = [];
    const add = (p: Configuration) =>
      perms.push({
        SecurityGroupRuleId: `sgr-${rng.alnum(20)}`,
        Direction: 'ingress',
        Policy: 'Accept',
        Priority: 1,
        NicType: 'intranet',
        SourceCidrIp: '',
        Ipv6SourceCidrIp: '',
        DestCidrIp: '',
        Description: '',
        ...p,
      });
    if (tier === 'web') {
      add({ IpProtocol: 'TCP', PortRange: '443/443', SourceCidrIp: '0.0.0.0/0', Description: 'HTTPS' });
      add({ IpProtocol: 'TCP', PortRange: '80/80', SourceCidrIp: '0.0.0.0/0', Description: 'HTTP' });
    }
    if (tier === 'db') add({ IpProtocol: 'TCP', PortRange: rng.pick(['3306/3306', '5432/5432']), SourceCidrIp: '172.16.0.0/12' });
    if (tier === 'cache') add({ IpProtocol: 'TCP', PortRange: '6379/6379', SourceCidrIp: '172.16.0.0/12' });
    add({ IpProtocol: 'TCP', PortRange: '22/22', SourceCidrIp: `10.${rng.int(0, 255)}.0.0/16`, Description: 'SSH from office VPN' });
    add({ IpProtocol: 'ICMP', PortRange: '-1/-1', SourceCidrIp: '0.0.0.0/0' });
    if (ctx.misconfigured) {
      add(
        rng.pick([
          { IpProtocol: 'TCP', PortRange: '22/22', SourceCidrIp: '0.0.0.0/0', Description: 'temporary debug' },
          { IpProtocol: 'TCP', PortRange: '3389/3389', SourceCidrIp: '0.0.0.0/0' },
          { IpProtocol: 'TCP', PortRange: '1/65535', SourceCidrIp: '0.0.0.0/0' },
          { IpProtocol: 'ALL', PortRange: '-1/-1', SourceCidrIp: '0.0.0.0/0' },
          { IpProtocol: 'TCP', PortRange: '20/25', Ipv6SourceCidrIp: '::/0' },
        ]),
      );
    }
    add({ Direction: 'egress', IpProtocol: 'ALL', PortRange: '-1/-1', DestCidrIp: '0.0.0.0/0' });
    return {
      id,
      tags: { env, tier },
      configuration: {
        SecurityGroupId: id,
        SecurityGroupName: `${env}-${tier}-${ctx.index}`,
        Description: `${tier} tier (${env})`,
        VpcId: `vpc-${rng.alnum(20)}`,
        ServiceManaged: rng.chance(0.03),
        InnerAccessPolicy: 'Accept',
        Permissions: { Permission: perms },
      },
    };
  },
});

// --- operations ----------------------------------------------------------

const sgTarget = z.object({ SecurityGroupId: z.string().min(1) });
const ruleFields = acsPermission.omit({ Direction: true, SecurityGroupRuleId: true, CreateTime: true });
const authorizeParams = sgTarget.extend({
  Permissions: z.array(ruleFields).optional(),
  // The single-rule form of the API (top-level fields).
  IpProtocol: z.string().optional(),
  PortRange: z.string().optional(),
  SourceCidrIp: z.string().optional(),
  Ipv6SourceCidrIp: z.string().optional(),
  DestCidrIp: z.string().optional(),
  Ipv6DestCidrIp: z.string().optional(),
  SourceGroupId: z.string().optional(),
  Policy: z.string().optional(),
  Priority: z.coerce.number().optional(),
  Description: z.string().optional(),
});
type AuthorizeParams = z.output<typeof authorizeParams>;

function requestedRules(params: AuthorizeParams, direction: 'ingress' | 'egress'): AcsPermission[] {
  const { SecurityGroupId: _sg, Permissions, ...single } = params;
  const raw = Permissions && Permissions.length > 0 ? Permissions : single.IpProtocol ? [single] : [];
  if (raw.length === 0) throw new SandboxError('MissingParameter', 'Specify Permissions or IpProtocol and PortRange.');
  return raw.map((r) => {
    const p = acsPermission.parse({ ...r, Direction: direction });
    checkPortRange(p);
    return p;
  });
}

function requireGroup(current: { configuration: Configuration } | null, id: string): Configuration {
  if (!current) throw new SandboxError('InvalidSecurityGroupId.NotFound', `The specified security group "${id}" does not exist.`, 404);
  return current.configuration;
}

for (const direction of ['ingress', 'egress'] as const) {
  const suffix = direction === 'egress' ? 'Egress' : '';
  registerOperation<AuthorizeParams>({
    action: `ecs:AuthorizeSecurityGroup${suffix}`,
    resourceType: TYPE,
    kind: 'update',
    description: `Adds ${direction} rules to a security group (duplicates are ignored).`,
    params: authorizeParams,
    target: (p) => p.SecurityGroupId,
    apply(current, params, ctx) {
      const c = requireGroup(current, params.SecurityGroupId);
      const existing = permissionsOf(c);
      const added: AcsPermission[] = [];
      for (const r of requestedRules(params, direction)) {
        if (existing.some((e) => sameRule(e, r)) || added.some((e) => sameRule(e, r))) continue;
        added.push({ ...r, SecurityGroupRuleId: ruleId(ctx), CreateTime: ctx.now.toISOString() });
      }
      return {
        configuration: added.length ? { ...c, Permissions: { Permission: [...existing, ...added] } } : undefined,
        result: { SecurityGroupRuleIds: { SecurityGroupRuleId: added.map((a) => a.SecurityGroupRuleId) } },
      };
    },
  });

  const revokeParams = authorizeParams.extend({ SecurityGroupRuleId: z.array(z.string()).optional() });
  registerOperation<z.output<typeof revokeParams>>({
    action: `ecs:RevokeSecurityGroup${suffix}`,
    resourceType: TYPE,
    kind: 'update',
    description: `Removes ${direction} rules from a security group, by SecurityGroupRuleId or by matching attributes.`,
    params: revokeParams,
    target: (p) => p.SecurityGroupId,
    apply(current, params) {
      const c = requireGroup(current, params.SecurityGroupId);
      if (c.ServiceManaged === true)
        throw new SandboxError(
          'OperationDenied.ServiceManagedSecurityGroup',
          `The security group "${params.SecurityGroupId}" is managed by a cloud service and cannot be modified.`,
          403,
        );
      const existing = permissionsOf(c);
      let keep: AcsPermission[];
      if (params.SecurityGroupRuleId && params.SecurityGroupRuleId.length > 0) {
        const ids = new Set(params.SecurityGroupRuleId);
        const unknown = [...ids].filter((id) => !existing.some((e) => e.SecurityGroupRuleId === id && e.Direction === direction));
        if (unknown.length)
          throw new SandboxError(
            'InvalidSecurityGroupRuleId.NotFound',
            `The specified ${direction} rule(s) ${unknown.join(', ')} do not exist in security group "${params.SecurityGroupId}".`,
            404,
          );
        keep = existing.filter((e) => !ids.has(e.SecurityGroupRuleId ?? ''));
      } else {
        const wanted = requestedRules(params, direction);
        keep = existing.filter((e) => !wanted.some((w) => sameRule(e, w)));
      }
      const removed = existing.length - keep.length;
      return {
        configuration: removed ? { ...c, Permissions: { Permission: keep } } : undefined,
        result: { Revoked: removed },
      };
    },
  });
}

const createParams = z.object({
  SecurityGroupId: z.string().optional(),
  SecurityGroupName: z.string().default(''),
  Description: z.string().default(''),
  VpcId: z.string().default(''),
  ServiceManaged: z.boolean().default(false),
  Tags: z.record(z.string(), z.string()).optional(),
});
registerOperation<z.output<typeof createParams>>({
  action: 'ecs:CreateSecurityGroup',
  resourceType: TYPE,
  kind: 'create',
  description: 'Creates a security group with no rules.',
  params: createParams,
  target: (p, ctx) => p.SecurityGroupId ?? ctx.newId('sg-'),
  apply(current, params, ctx) {
    const id = ctx.resourceId;
    if (current) throw new SandboxError('InvalidSecurityGroupId.Duplicate', `The security group "${current.resourceId}" already exists.`, 409);
    const { Tags, ...rest } = params;
    return {
      configuration: { ...rest, RegionId: ctx.regionId, SecurityGroupId: id, InnerAccessPolicy: 'Accept', Permissions: { Permission: [] } },
      tags: Tags ?? {},
      result: { SecurityGroupId: id },
    };
  },
});

registerOperation<z.output<typeof sgTarget>>({
  action: 'ecs:DeleteSecurityGroup',
  resourceType: TYPE,
  kind: 'delete',
  description: 'Deletes a security group.',
  params: sgTarget,
  target: (p) => p.SecurityGroupId,
  apply(current, params) {
    requireGroup(current, params.SecurityGroupId);
    return { configuration: null, result: {} };
  },
});
