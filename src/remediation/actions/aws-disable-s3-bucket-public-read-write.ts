// AWS-DisableS3BucketPublicReadWrite: turns on all four settings of a bucket's S3 public access block.
import { z } from 'zod';
import { diffConfigurations } from '../../inventory/diff.js';
import type { Configuration } from '../../providers/types.js';
import { registerAction } from '../registry.js';
import { gone, priorOf, readNow, refused, reread, text, wrongResource } from './common.js';

const NAME = 'AWS-DisableS3BucketPublicReadWrite';
const FIELDS = ['BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy', 'RestrictPublicBuckets'] as const;
type Block = Record<(typeof FIELDS)[number], boolean>;

const parameters = z.strictObject({ S3BucketName: text() });
type Params = z.output<typeof parameters>;

// A missing configuration (or field) is off, as S3 treats a bucket with no block.
function blockOf(c: Configuration): Block {
  const b = (c.PublicAccessBlockConfiguration ?? {}) as Record<string, unknown>;
  return Object.fromEntries(FIELDS.map((f) => [f, b[f] === true])) as Block;
}
const ALL_ON = Object.fromEntries(FIELDS.map((f) => [f, true])) as Block;
const allOn = (b: Block) => FIELDS.every((f) => b[f]);
const off = (b: Block) => FIELDS.filter((f) => !b[f]);

const prior = z.object({
  bucket: z.string(),
  previous: z.object({ BlockPublicAcls: z.boolean(), IgnorePublicAcls: z.boolean(), BlockPublicPolicy: z.boolean(), RestrictPublicBuckets: z.boolean() }),
});

registerAction<Params>({
  name: NAME,
  description:
    "Turns on the bucket's S3 public access block (BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy and " +
    'RestrictPublicBuckets), so that neither ACLs nor bucket policies can make it publicly readable or writable; the ACL ' +
    'and policy themselves are left as they are. The previous settings are recorded so that rollback can put them back.',
  resourceTypes: ['AWS::S3::Bucket'],
  parameters,
  resourceParameter: 'S3BucketName',
  // Calls are named as IAM names them: the PutPublicAccessBlock API is s3:PutBucketPublicAccessBlock.
  permissions: ['s3:GetBucketPublicAccessBlock', 's3:PutBucketPublicAccessBlock'],

  async preview(ctx, p) {
    const c = ctx.resource.configuration;
    const wrong = wrongResource(ctx, 'S3BucketName', p.S3BucketName);
    if (wrong) return refused(wrong);
    const b = blockOf(c);
    if (allOn(b)) return { summary: `nothing to do: the public access block of ${p.S3BucketName} is already all on`, changes: [], noop: true };
    const after = { ...c, PublicAccessBlockConfiguration: { ...(c.PublicAccessBlockConfiguration as object), ...ALL_ON } };
    return { summary: `turn on ${off(b).join(', ')} for bucket ${p.S3BucketName}`, changes: diffConfigurations(c, after) };
  },

  async apply(ctx, p) {
    const wrong = wrongResource(ctx, 'S3BucketName', p.S3BucketName);
    if (wrong) throw new Error(wrong);
    const b = blockOf(await reread(ctx));
    const priorState = { bucket: p.S3BucketName, previous: b };
    if (allOn(b)) return { summary: `nothing to do: the public access block of ${p.S3BucketName} is already all on`, priorState };
    await ctx.call('s3:PutBucketPublicAccessBlock', { Bucket: p.S3BucketName, PublicAccessBlockConfiguration: ALL_ON });
    return { summary: `turned on ${off(b).join(', ')} for bucket ${p.S3BucketName}`, priorState };
  },

  async verify(ctx, p) {
    const c = await readNow(ctx);
    if (!c) return gone(ctx);
    const b = blockOf(c);
    return allOn(b)
      ? { ok: true, message: `the public access block of ${p.S3BucketName} is all on` }
      : { ok: false, message: `${off(b).join(', ')} ${off(b).length === 1 ? 'is' : 'are'} off for bucket ${p.S3BucketName}` };
  },

  async rollback(ctx, priorState) {
    const s = priorOf(prior, priorState, NAME);
    const now = blockOf(await reread(ctx));
    if (FIELDS.every((f) => now[f] === s.previous[f])) return { summary: `nothing to restore: the public access block of ${s.bucket} is as it was` };
    await ctx.call('s3:PutBucketPublicAccessBlock', { Bucket: s.bucket, PublicAccessBlockConfiguration: s.previous });
    return { summary: `put the public access block of ${s.bucket} back to ${FIELDS.map((f) => `${f}=${String(s.previous[f])}`).join(', ')}` };
  },
});
