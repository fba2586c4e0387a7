// ACS-ECS-RevokeSecurityGroupRules: revokes ingress rules of an ECS security group, the given ones or those open to the Internet.
import { z } from 'zod';
import { diffConfigurations } from '../../inventory/diff.js';
import type { Configuration } from '../../providers/types.js';
import { registerAction } from '../registry.js';
import type { ActionContext } from '../types.js';
import { count, gone, priorOf, readNow, refused, reread, text, wrongRegion, wrongResource } from './common.js';
import { acsRules, acsWorldOpen, describeAcsRule, isIngress, portsParameter, type AcsRule } from './world-open.js';

const NAME = 'ACS-ECS-RevokeSecurityGroupRules';

const parameters = z.strictObject({
  regionId: text(),
  securityGroupId: text(),
  // A list, or "sgr-a,sgr-b" as a binding or the command line gives it.
  securityGroupRuleIds: z
    .union([z.array(text()), z.string()])
    .transform((v) =>
      typeof v === 'string'
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : v,
    )
    // An empty list must not silently turn into "revoke everything open to the Internet".
    .refine((ids) => ids.length > 0, 'give at least one rule id, or leave securityGroupRuleIds out to revoke the rules open to the Internet')
    .optional(),
  ports: portsParameter(),
});
type Params = z.output<typeof parameters>;

interface Plan {
  refusal?: string;
  targets: AcsRule[];
  /** What the targets are, for summaries: "ingress rules open to the Internet: sgr-a (…)". */
  what: string;
  /** Why there is nothing to do, when there is not. */
  nothing?: string;
  after: Configuration;
}

function plan(ctx: ActionContext, c: Configuration, p: Params): Plan {
  const rules = acsRules(c);
  let refusal = wrongResource(ctx, 'securityGroupId', p.securityGroupId) ?? wrongRegion(ctx, p.regionId);
  if (!refusal && c.ServiceManaged === true)
    refusal = `${p.securityGroupId} is a service-managed security group (ServiceManaged: true): its rules belong to the cloud service that created it and the API refuses changes; change them through that service`;
  let targets: AcsRule[];
  let what: string;
  let nothing: string | undefined;
  if (p.securityGroupRuleIds) {
    const ids = new Set(p.securityGroupRuleIds);
    targets = rules.filter((r) => ids.has(String(r.SecurityGroupRuleId)));
    const egress = targets.filter((r) => !isIngress(r));
    if (egress.length && !refusal)
      refusal = `${egress.map((r) => String(r.SecurityGroupRuleId)).join(', ')} ${egress.length === 1 ? 'is an egress rule' : 'are egress rules'}; this action revokes ingress rules only`;
    // Ids already gone are ignored, so a second run after success is a noop.
    const missing = p.securityGroupRuleIds.filter((id) => !rules.some((r) => r.SecurityGroupRuleId === id));
    what = `${count(targets.length, 'ingress rule')}: ${targets.map(describeAcsRule).join(', ')}${missing.length ? ` (not in the group, ignored: ${missing.join(', ')})` : ''}`;
    if (!targets.length) nothing = `none of ${p.securityGroupRuleIds.join(', ')} is in ${p.securityGroupId}`;
  } else {
    targets = rules.filter((r) => acsWorldOpen(r, p.ports));
    what = `${count(targets.length, 'ingress rule')} open to the Internet: ${targets.map(describeAcsRule).join(', ')}`;
    if (!targets.length) nothing = `no ingress rule of ${p.securityGroupId} opens ${p.ports.join(', ')} to 0.0.0.0/0 or ::/0`;
  }
  const after = { ...c, Permissions: { ...(c.Permissions as object), Permission: rules.filter((r) => !targets.includes(r)) } };
  return { refusal, targets, what, nothing, after };
}

const prior = z.object({ securityGroupId: z.string(), permissions: z.array(z.record(z.string(), z.unknown())) });

registerAction<Params>({
  name: NAME,
  description:
    'Revokes ingress rules of an ECS security group. Given securityGroupRuleIds, it revokes those rules (ids no longer in ' +
    'the group are ignored); without them, it revokes every ingress Accept rule that lets TCP, UDP or all traffic from ' +
    '0.0.0.0/0 or ::/0 reach one of the listed ports (22 and 3389 by default), exactly the rules sg-risky-ports-check ' +
    'flags. Service-managed groups are refused. The revoked rules are recorded so that rollback can authorize them again ' +
    '(they come back with new rule ids).',
  resourceTypes: ['ACS::ECS::SecurityGroup'],
  parameters,
  resourceParameter: 'securityGroupId',
  defaultBindings: { regionId: 'REGION_ID' },
  permissions: ['ecs:DescribeSecurityGroupAttribute', 'ecs:RevokeSecurityGroup', 'ecs:AuthorizeSecurityGroup'],

  async preview(ctx, p) {
    const c = ctx.resource.configuration;
    const pl = plan(ctx, c, p);
    if (pl.refusal) return refused(pl.refusal);
    if (pl.nothing) return { summary: `nothing to revoke: ${pl.nothing}`, changes: [], noop: true };
    return { summary: `revoke ${pl.what}`, changes: diffConfigurations(c, pl.after) };
  },

  async apply(ctx, p) {
    const pl = plan(ctx, await reread(ctx), p);
    if (pl.refusal) throw new Error(pl.refusal);
    if (pl.nothing) return { summary: `nothing to revoke: ${pl.nothing}`, priorState: { securityGroupId: p.securityGroupId, permissions: [] } };
    await ctx.call('ecs:RevokeSecurityGroup', {
      SecurityGroupId: p.securityGroupId,
      SecurityGroupRuleId: pl.targets.map((r) => String(r.SecurityGroupRuleId)),
    });
    return { summary: `revoked ${pl.what}`, priorState: { securityGroupId: p.securityGroupId, permissions: pl.targets } };
  },

  async verify(ctx, p) {
    const c = await readNow(ctx);
    if (!c) return gone(ctx);
    const rules = acsRules(c).filter(isIngress);
    const left = p.securityGroupRuleIds
      ? rules.filter((r) => p.securityGroupRuleIds!.includes(String(r.SecurityGroupRuleId)))
      : rules.filter((r) => acsWorldOpen(r, p.ports));
    if (left.length) return { ok: false, message: `${p.securityGroupId} still has ${left.map(describeAcsRule).join(', ')}` };
    return {
      ok: true,
      message: p.securityGroupRuleIds
        ? `none of ${p.securityGroupRuleIds.join(', ')} remains in ${p.securityGroupId}`
        : `no ingress rule of ${p.securityGroupId} opens ${p.ports.join(', ')} to 0.0.0.0/0 or ::/0`,
    };
  },

  async rollback(ctx, priorState) {
    const s = priorOf(prior, priorState, NAME);
    if (!s.permissions.length) return { summary: 'nothing to restore: no rule was revoked' };
    // Ids and creation times are the cloud's to assign; authorizing ignores rules already there.
    const permissions = s.permissions.map(({ SecurityGroupRuleId: _id, Direction: _d, CreateTime: _t, ...rule }) => rule);
    await ctx.call('ecs:AuthorizeSecurityGroup', { SecurityGroupId: s.securityGroupId, Permissions: permissions });
    return { summary: `authorized again ${count(permissions.length, 'ingress rule')}: ${s.permissions.map(describeAcsRule).join(', ')}` };
  },
});
