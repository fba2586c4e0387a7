// AWS::S3::Bucket: ListBuckets' entry joined with GetBucketAcl, GetPublicAccessBlock, GetBucketVersioning,
// GetBucketEncryption, GetBucketPolicyStatus and GetBucketTagging, as a config recorder shows a bucket.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { SandboxError } from '../errors.js';
import { registerOperation, registerResourceType } from '../registry.js';
import type { Configuration, Tags } from '../../types.js';

const TYPE = 'AWS::S3::Bucket';

export const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';
export const AUTHENTICATED_USERS = 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers';

const NAME_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const NAME_RULE = 'a bucket name: 3–63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit';
const validName = (n: string) => NAME_RE.test(n) && !n.includes('..') && !/^\d+\.\d+\.\d+\.\d+$/.test(n);
const bucketName = z.string().refine(validName, NAME_RULE);

const owner = z.looseObject({ ID: z.string().min(1), DisplayName: z.string().optional() });
const grant = z.looseObject({
  Grantee: z
    .looseObject({ Type: z.enum(['CanonicalUser', 'Group']), ID: z.string().optional(), URI: z.string().optional(), DisplayName: z.string().optional() })
    .refine((g) => (g.Type === 'Group' ? !!g.URI : !!g.ID), 'a CanonicalUser grantee needs an ID, a Group grantee a URI'),
  Permission: z.enum(['FULL_CONTROL', 'READ', 'WRITE', 'READ_ACP', 'WRITE_ACP']),
});
type Grant = z.output<typeof grant>;
type Owner = z.output<typeof owner>;
const canned = z.enum(['private', 'public-read', 'public-read-write', 'authenticated-read']);

const pabFields = ['BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy', 'RestrictPublicBuckets'] as const;
const pabShape = {
  BlockPublicAcls: z.boolean().default(false),
  IgnorePublicAcls: z.boolean().default(false),
  BlockPublicPolicy: z.boolean().default(false),
  RestrictPublicBuckets: z.boolean().default(false),
};
const pab = z.looseObject(pabShape);
const pabAll = (on: boolean) => Object.fromEntries(pabFields.map((f) => [f, on])) as Record<(typeof pabFields)[number], boolean>;

const schema = z.looseObject({
  Name: bucketName.optional(),
  CreationDate: z.string().optional(),
  Region: z.string().optional(),
  Acl: z.looseObject({ Owner: owner.optional(), Grants: z.array(grant).optional() }).default({}),
  // An absent configuration is the same as all four off: nothing is blocked.
  PublicAccessBlockConfiguration: pab.default(pabAll(false)),
  Versioning: z.looseObject({ Status: z.enum(['Enabled', 'Suspended']).optional(), MFADelete: z.enum(['Enabled', 'Disabled']).optional() }).default({}),
  ServerSideEncryptionConfiguration: z
    .looseObject({
      Rules: z.array(
        z.looseObject({
          ApplyServerSideEncryptionByDefault: z.looseObject({
            SSEAlgorithm: z.enum(['AES256', 'aws:kms', 'aws:kms:dsse']),
            KMSMasterKeyID: z.string().optional(),
          }),
          BucketKeyEnabled: z.boolean().optional(),
        }),
      ),
    })
    .optional(),
  // GetBucketPolicyStatus, as the AWS provider records it: no bucket policy is not public.
  PolicyStatus: z.looseObject({ IsPublic: z.boolean().default(false) }).default({ IsPublic: false }),
  Tags: z.array(z.looseObject({ Key: z.string(), Value: z.string() })).optional(),
});

/** The account's canonical user id: 64 hex digits, stable for the account as in S3. */
function ownerOf(accountId: string): Owner {
  return { ID: createHash('sha256').update(`s3-canonical-user/${accountId}`).digest('hex'), DisplayName: accountId };
}

/** The grants S3 writes for a canned ACL. */
function cannedGrants(acl: z.output<typeof canned>, o: Owner): Grant[] {
  const own: Grant = { Grantee: { Type: 'CanonicalUser', ID: o.ID, ...(o.DisplayName ? { DisplayName: o.DisplayName } : {}) }, Permission: 'FULL_CONTROL' };
  const to = (URI: string, Permission: Grant['Permission']): Grant => ({ Grantee: { Type: 'Group', URI }, Permission });
  if (acl === 'public-read') return [own, to(ALL_USERS, 'READ')];
  if (acl === 'public-read-write') return [own, to(ALL_USERS, 'READ'), to(ALL_USERS, 'WRITE')];
  if (acl === 'authenticated-read') return [own, to(AUTHENTICATED_USERS, 'READ')];
  return [own];
}

const isPublic = (grants: Grant[]) => grants.some((g) => g.Grantee.URI === ALL_USERS || g.Grantee.URI === AUTHENTICATED_USERS);
const grantSet = (grants: Grant[]) =>
  grants
    .map((g) => `${g.Grantee.Type}|${g.Grantee.ID ?? g.Grantee.URI}|${g.Permission}`)
    .sort()
    .join('\n');
const tagList = (tags: Tags) =>
  Object.keys(tags)
    .sort()
    .map((k) => ({ Key: k, Value: tags[k]! }));

registerResourceType({
  type: TYPE,
  dialect: 'aws',
  description: 'S3 bucket (with its ACL, public access block, versioning, encryption and tags)',
  schema,
  idField: 'Name',
  weight: 2,
  nameOf: (c) => (c.Name as string) || undefined,
  normalize({ id, accountId, regionId, tags, configuration }) {
    if (!validName(id)) throw new SandboxError('InvalidBucketName', `"${id}" is not ${NAME_RULE}.`);
    const c = schema.parse(configuration);
    // A given owner is kept (grants may name it); otherwise the bucket belongs to the account.
    const o = c.Acl.Owner ?? ownerOf(accountId);
    return schema.parse({
      ...c,
      Name: id,
      Region: regionId,
      Acl: { ...c.Acl, Owner: o, Grants: c.Acl.Grants ?? cannedGrants('private', o) },
      Tags: tagList(tags),
    });
  },
  generate(rng, ctx) {
    const env = rng.pick(['prod', 'prod', 'staging', 'dev']);
    const team = rng.pick(['payments', 'identity', 'search', 'data', 'platform', 'ml', 'billing']);
    const purpose = rng.pick(['logs', 'backups', 'assets', 'uploads', 'exports', 'datalake', 'artifacts']);
    const name = `${team}-${purpose}-${env}-${rng.hex(8)}`;
    const o = ownerOf(ctx.accountId);
    const created = new Date(Date.UTC(2020, 0, 1) + rng.int(0, 1500 * 86_400) * 1000);
    const acl = ctx.misconfigured ? rng.pick(['public-read', 'public-read', 'public-read-write'] as const) : 'private';
    // Public buckets need the block off; private ones mostly have it on (older buckets may not).
    const blocked = acl === 'private' && rng.chance(0.8);
    const kms = rng.chance(0.3);
    return {
      id: name,
      tags: { env, team, purpose },
      configuration: {
        Name: name,
        CreationDate: created.toISOString(),
        Acl: { Owner: o, Grants: cannedGrants(acl, o) },
        PublicAccessBlockConfiguration: pabAll(blocked),
        Versioning: rng.pick([{ Status: 'Enabled' }, { Status: 'Enabled' }, {}, { Status: 'Suspended' }]),
        ServerSideEncryptionConfiguration: {
          Rules: [
            kms
              ? {
                  ApplyServerSideEncryptionByDefault: {
                    SSEAlgorithm: 'aws:kms',
                    KMSMasterKeyID: `arn:aws:kms:${ctx.regionId}:${ctx.accountId}:key/${rng.hex(8)}-${rng.hex(4)}-${rng.hex(4)}-${rng.hex(4)}-${rng.hex(12)}`,
                  },
                  BucketKeyEnabled: true,
                }
              : { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: false },
          ],
        },
      },
    };
  },
});

// --- operations ----------------------------------------------------------

function requireBucket(current: { configuration: Configuration } | null, name: string): Configuration {
  if (!current) throw new SandboxError('NoSuchBucket', `The specified bucket does not exist: ${name}`, 404);
  return current.configuration;
}

// Names are checked when a bucket is created, with S3's own error code; other calls just find no bucket.
const bucketTarget = z.object({ Bucket: z.string().min(1) });

const createParams = bucketTarget.extend({ ACL: canned.optional(), Tags: z.record(z.string(), z.string()).optional() });
registerOperation<z.output<typeof createParams>>({
  action: 's3:CreateBucket',
  resourceType: TYPE,
  kind: 'create',
  description: 'Creates a bucket; as in S3 since 2023 it has the public access block on and SSE-S3, unless a public ACL is asked for.',
  params: createParams,
  target: (p) => p.Bucket,
  apply(current, params, ctx) {
    if (!validName(params.Bucket)) throw new SandboxError('InvalidBucketName', `"${params.Bucket}" is not ${NAME_RULE}.`);
    if (current)
      throw new SandboxError(
        'BucketAlreadyOwnedByYou',
        `Your previous request to create the named bucket succeeded and you already own it: ${params.Bucket}`,
        409,
      );
    const o = ownerOf(ctx.accountId);
    const grants = cannedGrants(params.ACL ?? 'private', o);
    return {
      configuration: {
        Name: params.Bucket,
        CreationDate: ctx.now.toISOString(),
        Acl: { Owner: o, Grants: grants },
        // Real S3 would refuse a public ACL on a new bucket; the sandbox creates it with the block off instead.
        PublicAccessBlockConfiguration: pabAll(!isPublic(grants)),
        Versioning: {},
        ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: false }] },
      },
      tags: params.Tags ?? {},
      result: { Location: `/${params.Bucket}` },
    };
  },
});

registerOperation<z.output<typeof bucketTarget>>({
  action: 's3:DeleteBucket',
  resourceType: TYPE,
  kind: 'delete',
  description: 'Deletes a bucket.',
  params: bucketTarget,
  target: (p) => p.Bucket,
  apply(current, params) {
    requireBucket(current, params.Bucket);
    return { configuration: null, result: {} };
  },
});

const aclParams = bucketTarget
  .extend({ ACL: canned.optional(), AccessControlPolicy: z.object({ Grants: z.array(grant), Owner: owner.optional() }).optional() })
  .refine((p) => (p.ACL === undefined) !== (p.AccessControlPolicy === undefined), {
    message: 'give either ACL (canned) or AccessControlPolicy, not both',
    path: ['ACL'],
  });
registerOperation<z.output<typeof aclParams>>({
  action: 's3:PutBucketAcl',
  resourceType: TYPE,
  kind: 'update',
  description: 'Replaces the ACL of a bucket, by canned ACL or explicit grants.',
  params: aclParams,
  target: (p) => p.Bucket,
  apply(current, params, ctx) {
    const c = requireBucket(current, params.Bucket);
    const acl = (c.Acl ?? {}) as { Owner?: Owner; Grants?: Grant[] };
    const o = acl.Owner ?? ownerOf(ctx.accountId);
    const grants = params.ACL ? cannedGrants(params.ACL, o) : params.AccessControlPolicy!.Grants;
    if (grantSet(grants) === grantSet(acl.Grants ?? [])) return { configuration: undefined, result: {} };
    const block = c.PublicAccessBlockConfiguration as Record<string, boolean> | undefined;
    if (isPublic(grants) && block?.BlockPublicAcls)
      throw new SandboxError('AccessDenied', `Access Denied: BlockPublicAcls is on for bucket ${params.Bucket}, so a public ACL cannot be set.`, 403);
    return { configuration: { ...c, Acl: { ...acl, Owner: o, Grants: grants } }, result: {} };
  },
});

const pabParams = bucketTarget.extend({
  // Fields left out are false, as in S3.
  PublicAccessBlockConfiguration: z.object(pabShape),
});
function setBlock(c: Configuration, next: Record<string, boolean>): Configuration | undefined {
  const now = (c.PublicAccessBlockConfiguration ?? {}) as Record<string, boolean>;
  return pabFields.every((f) => !!now[f] === next[f]) ? undefined : { ...c, PublicAccessBlockConfiguration: { ...now, ...next } };
}
registerOperation<z.output<typeof pabParams>>({
  action: 's3:PutBucketPublicAccessBlock',
  resourceType: TYPE,
  kind: 'update',
  description: 'Sets the public access block of a bucket.',
  params: pabParams,
  target: (p) => p.Bucket,
  apply(current, params) {
    const c = requireBucket(current, params.Bucket);
    return { configuration: setBlock(c, params.PublicAccessBlockConfiguration), result: {} };
  },
});

registerOperation<z.output<typeof bucketTarget>>({
  action: 's3:DeletePublicAccessBlock',
  resourceType: TYPE,
  kind: 'update',
  description: 'Removes the public access block of a bucket (all four settings off).',
  params: bucketTarget,
  target: (p) => p.Bucket,
  apply(current, params) {
    return { configuration: setBlock(requireBucket(current, params.Bucket), pabAll(false)), result: {} };
  },
});
