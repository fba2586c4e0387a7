// ACS-OSS-PutBucketAcl: sets the canned ACL of an OSS bucket (private by default).
import { z } from 'zod';
import { diffConfigurations } from '../../inventory/diff.js';
import type { Configuration } from '../../providers/types.js';
import { registerAction } from '../registry.js';
import type { ActionContext } from '../types.js';
import { gone, priorOf, readNow, refused, reread, text, wrongRegion, wrongResource } from './common.js';

const NAME = 'ACS-OSS-PutBucketAcl';
const acl = z.enum(['private', 'public-read', 'public-read-write']);

const parameters = z.strictObject({
  regionId: text(),
  bucketName: text(),
  acl: acl.default('private'),
});
type Params = z.output<typeof parameters>;

// A bucket that never had an ACL set is private.
const aclOf = (c: Configuration) => (c.AccessControlList as { Grant?: string } | undefined)?.Grant ?? 'private';

function refusal(ctx: ActionContext, c: Configuration, p: Params): string | undefined {
  const wrong = wrongResource(ctx, 'bucketName', p.bucketName) ?? wrongRegion(ctx, p.regionId);
  if (wrong) return wrong;
  // OSS refuses a public ACL while Block Public Access is on; say so before trying.
  if (p.acl !== 'private' && aclOf(c) !== p.acl && c.BlockPublicAccess === true)
    return `Block Public Access is on for bucket ${p.bucketName}, so OSS refuses the ${p.acl} ACL`;
  return undefined;
}

const prior = z.object({ bucketName: z.string(), acl });

registerAction<Params>({
  name: NAME,
  description:
    'Sets the canned ACL of an OSS bucket: private (the default, which removes anonymous read and write access), ' +
    'public-read or public-read-write. A public ACL is refused while the bucket has Block Public Access on, as OSS would. ' +
    'The previous ACL is recorded so that rollback can set it again.',
  resourceTypes: ['ACS::OSS::Bucket'],
  parameters,
  resourceParameter: 'bucketName',
  defaultBindings: { regionId: 'REGION_ID' },
  permissions: ['oss:GetBucketInfo', 'oss:PutBucketAcl'],

  async preview(ctx, p) {
    const c = ctx.resource.configuration;
    const why = refusal(ctx, c, p);
    if (why) return refused(why);
    const now = aclOf(c);
    if (now === p.acl) return { summary: `nothing to do: bucket ${p.bucketName} is already ${p.acl}`, changes: [], noop: true };
    const after = { ...c, AccessControlList: { ...(c.AccessControlList as object), Grant: p.acl } };
    return { summary: `set the ACL of bucket ${p.bucketName} from ${now} to ${p.acl}`, changes: diffConfigurations(c, after) };
  },

  async apply(ctx, p) {
    const c = await reread(ctx);
    const why = refusal(ctx, c, p);
    if (why) throw new Error(why);
    const now = aclOf(c);
    const priorState = { bucketName: p.bucketName, acl: now };
    if (now === p.acl) return { summary: `nothing to do: bucket ${p.bucketName} is already ${p.acl}`, priorState };
    await ctx.call('oss:PutBucketAcl', { BucketName: p.bucketName, Acl: p.acl });
    return { summary: `set the ACL of bucket ${p.bucketName} from ${now} to ${p.acl}`, priorState };
  },

  async verify(ctx, p) {
    const c = await readNow(ctx);
    if (!c) return gone(ctx);
    const now = aclOf(c);
    return now === p.acl
      ? { ok: true, message: `bucket ${p.bucketName} is ${p.acl}` }
      : { ok: false, message: `bucket ${p.bucketName} is ${now}, not ${p.acl}` };
  },

  async rollback(ctx, priorState) {
    const s = priorOf(prior, priorState, NAME);
    const c = await reread(ctx);
    if (aclOf(c) === s.acl) return { summary: `nothing to restore: bucket ${s.bucketName} is ${s.acl}` };
    await ctx.call('oss:PutBucketAcl', { BucketName: s.bucketName, Acl: s.acl });
    return { summary: `set the ACL of bucket ${s.bucketName} back to ${s.acl}` };
  },
});
