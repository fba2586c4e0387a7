// AWS-DisablePublicAccessForSecurityGroup: revokes SSH and RDP ingress open to the whole Internet, as AWS's document does.
import { z } from 'zod';
import { diffConfigurations } from '../../inventory/diff.js';
import type { Configuration } from '../../providers/types.js';
import { registerAction } from '../registry.js';
import type { ActionContext } from '../types.js';
import { count, gone, priorOf, readNow, refused, reread, text, wrongResource } from './common.js';
import { awsHas, awsWithout, awsWorldOpenPieces, describeAwsPiece, type AwsPiece } from './world-open.js';

const NAME = 'AWS-DisablePublicAccessForSecurityGroup';
const PORTS = [22, 3389];

const parameters = z.strictObject({ GroupId: text() });
type Params = z.output<typeof parameters>;

const what = (pieces: AwsPiece[]) => `${count(pieces.length, 'ingress permission')} open to the Internet: ${pieces.map(describeAwsPiece).join(', ')}`;
const nothing = (p: Params) => `nothing to revoke: no ingress permission of ${p.GroupId} opens 22 or 3389 to 0.0.0.0/0 or ::/0`;

function plan(ctx: ActionContext, c: Configuration, p: Params) {
  return { refusal: wrongResource(ctx, 'GroupId', p.GroupId), pieces: awsWorldOpenPieces(c, PORTS) };
}

const range = z.record(z.string(), z.unknown());
const prior = z.object({
  groupId: z.string(),
  revoked: z.array(
    z.object({ IpProtocol: z.string(), FromPort: z.number().optional(), ToPort: z.number().optional(), IpRanges: z.array(range), Ipv6Ranges: z.array(range) }),
  ),
});

registerAction<Params>({
  name: NAME,
  description:
    'Revokes the ingress rules of an EC2 security group that let the whole Internet (0.0.0.0/0 or ::/0) reach SSH (22) ' +
    'or RDP (3389), including port ranges and all-traffic rules that cover them. Only the world sources are revoked: other ' +
    'sources of the same permission stay. The revoked pieces are recorded so that rollback can authorize them again.',
  resourceTypes: ['AWS::EC2::SecurityGroup'],
  parameters,
  resourceParameter: 'GroupId',
  permissions: ['ec2:DescribeSecurityGroups', 'ec2:RevokeSecurityGroupIngress', 'ec2:AuthorizeSecurityGroupIngress'],

  async preview(ctx, p) {
    const c = ctx.resource.configuration;
    const { refusal, pieces } = plan(ctx, c, p);
    if (refusal) return refused(refusal);
    if (!pieces.length) return { summary: nothing(p), changes: [], noop: true };
    return { summary: `revoke ${what(pieces)}`, changes: diffConfigurations(c, { ...c, IpPermissions: awsWithout(c.IpPermissions, pieces) }) };
  },

  async apply(ctx, p) {
    const { refusal, pieces } = plan(ctx, await reread(ctx), p);
    if (refusal) throw new Error(refusal);
    if (!pieces.length) return { summary: nothing(p), priorState: { groupId: p.GroupId, revoked: [] } };
    await ctx.call('ec2:RevokeSecurityGroupIngress', { GroupId: p.GroupId, IpPermissions: pieces });
    return { summary: `revoked ${what(pieces)}`, priorState: { groupId: p.GroupId, revoked: pieces } };
  },

  async verify(ctx, p) {
    const c = await readNow(ctx);
    if (!c) return gone(ctx);
    const left = awsWorldOpenPieces(c, PORTS);
    return left.length
      ? { ok: false, message: `${p.GroupId} still has ${left.map(describeAwsPiece).join(', ')}` }
      : { ok: true, message: `no ingress permission of ${p.GroupId} opens 22 or 3389 to 0.0.0.0/0 or ::/0` };
  },

  async rollback(ctx, priorState) {
    const s = priorOf(prior, priorState, NAME);
    const perms = (await reread(ctx)).IpPermissions;
    // EC2 refuses to authorize a rule that exists: send only the sources missing now.
    const missing = s.revoked
      .map((x) => ({ ...x, IpRanges: x.IpRanges.filter((r) => !awsHas(perms, x, r)), Ipv6Ranges: x.Ipv6Ranges.filter((r) => !awsHas(perms, x, r)) }))
      .filter((x) => x.IpRanges.length + x.Ipv6Ranges.length > 0);
    if (!missing.length) return { summary: `nothing to restore: ${s.groupId} has every revoked permission` };
    await ctx.call('ec2:AuthorizeSecurityGroupIngress', { GroupId: s.groupId, IpPermissions: missing });
    return { summary: `authorized again ${count(missing.length, 'ingress permission')}: ${missing.map(describeAwsPiece).join(', ')}` };
  },
});
