// ACS::OSS::Bucket, shaped as the Bucket element of OSS GetBucketInfo.
import { z } from 'zod';
import { SandboxError } from '../errors.js';
import { registerOperation, registerResourceType } from '../registry.js';
import type { Configuration } from '../../types.js';

const TYPE = 'ACS::OSS::Bucket';

const NAME_RE = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
const NAME_RULE = 'a bucket name: 3–63 lowercase letters, digits and hyphens, starting and ending with a letter or digit';
const bucketName = z.string().regex(NAME_RE, NAME_RULE);
const acl = z.enum(['private', 'public-read', 'public-read-write']);
type Acl = z.output<typeof acl>;

const schema = z.looseObject({
  Name: bucketName.optional(),
  Location: z.string().optional(),
  CreationDate: z.string().optional(),
  ExtranetEndpoint: z.string().optional(),
  IntranetEndpoint: z.string().optional(),
  StorageClass: z.enum(['Standard', 'IA', 'Archive']).default('Standard'),
  DataRedundancyType: z.enum(['LRS', 'ZRS']).default('LRS'),
  // '' is a bucket that never had versioning; once enabled it can only be suspended.
  Versioning: z.enum(['Enabled', 'Suspended', '']).default(''),
  Owner: z.looseObject({ ID: z.string(), DisplayName: z.string() }).optional(),
  AccessControlList: z.looseObject({ Grant: acl.default('private') }).default({ Grant: 'private' }),
  ServerSideEncryptionRule: z.looseObject({ SSEAlgorithm: z.enum(['None', 'AES256', 'KMS', 'SM4']).default('None') }).default({ SSEAlgorithm: 'None' }),
  BlockPublicAccess: z.boolean().default(false),
});

registerResourceType({
  type: TYPE,
  dialect: 'acs',
  description: 'OSS bucket (GetBucketInfo)',
  schema,
  idField: 'Name',
  weight: 2,
  drifts: [{ what: 'made the bucket public-read', action: 'oss:PutBucketAcl', params: (id) => ({ BucketName: id, Acl: 'public-read' }) }],
  nameOf: (c) => (c.Name as string) || undefined,
  normalize({ id, accountId, regionId, configuration }) {
    if (!NAME_RE.test(id)) throw new SandboxError('InvalidBucketName', `"${id}" is not ${NAME_RULE}.`);
    const c = schema.parse(configuration);
    // Location, endpoints and owner are facts of the region and account, not settings. Parsed
    // once more so fields keep the schema's order: the output is byte-stable, not just deep-equal.
    return schema.parse({
      ...c,
      Name: id,
      Location: `oss-${regionId}`,
      ExtranetEndpoint: `oss-${regionId}.aliyuncs.com`,
      IntranetEndpoint: `oss-${regionId}-internal.aliyuncs.com`,
      Owner: { ID: accountId, DisplayName: accountId },
    });
  },
  generate(rng, ctx) {
    const env = rng.pick(['prod', 'prod', 'staging', 'dev']);
    const team = rng.pick(['payments', 'identity', 'search', 'data', 'platform', 'ml', 'billing']);
    const purpose = rng.pick(['logs', 'backups', 'assets', 'uploads', 'exports', 'datalake', 'artifacts']);
    const name = `${team}-${purpose}-${env}-${rng.alnum(6)}`;
    const created = new Date(Date.UTC(2021, 0, 1) + rng.int(0, 1200 * 86_400) * 1000);
    const grant: Acl = ctx.misconfigured ? rng.pick(['public-read', 'public-read', 'public-read-write'] as const) : 'private';
    return {
      id: name,
      tags: { env, team, purpose },
      configuration: {
        Name: name,
        CreationDate: created.toISOString(),
        StorageClass: purpose === 'backups' ? rng.pick(['IA', 'Archive', 'Standard'] as const) : 'Standard',
        DataRedundancyType: env === 'prod' && rng.chance(0.5) ? 'ZRS' : 'LRS',
        Versioning: rng.pick(['Enabled', '', '', 'Suspended'] as const),
        AccessControlList: { Grant: grant },
        ServerSideEncryptionRule: { SSEAlgorithm: rng.pick(['None', 'AES256', 'AES256', 'KMS'] as const) },
        // Block Public Access would override a public ACL, so a public bucket never has it on.
        BlockPublicAccess: grant === 'private' && rng.chance(0.4),
      },
    };
  },
});

// --- operations ----------------------------------------------------------

function requireBucket(current: { configuration: Configuration } | null, name: string): Configuration {
  if (!current) throw new SandboxError('NoSuchBucket', `The specified bucket "${name}" does not exist.`, 404);
  return current.configuration;
}

// The ACL travels as the x-oss-acl header in the REST API; SDKs call it Acl. Either is accepted.
const aclFields = {
  Acl: acl.optional(),
  'x-oss-acl': acl.optional(),
};
const aclOf = (p: { Acl?: Acl; 'x-oss-acl'?: Acl }) => p.Acl ?? p['x-oss-acl'];
const sameAcl = (p: { Acl?: Acl; 'x-oss-acl'?: Acl }) => !p.Acl || !p['x-oss-acl'] || p.Acl === p['x-oss-acl'];

// Names are checked when a bucket is created, with OSS's own error code; other calls just find no bucket.
const bucketTarget = z.object({ BucketName: z.string().min(1) });

const putParams = bucketTarget
  .extend({
    ...aclFields,
    StorageClass: z.enum(['Standard', 'IA', 'Archive']).default('Standard'),
    DataRedundancyType: z.enum(['LRS', 'ZRS']).default('LRS'),
    Tags: z.record(z.string(), z.string()).optional(),
  })
  .refine(sameAcl, { message: 'Acl and x-oss-acl differ', path: ['Acl'] })
  .transform(({ 'x-oss-acl': header, Acl, ...p }) => ({ ...p, Acl: Acl ?? header ?? 'private' }));
registerOperation<z.output<typeof putParams>>({
  action: 'oss:PutBucket',
  resourceType: TYPE,
  kind: 'create',
  description: 'Creates a bucket (private unless an ACL is given).',
  params: putParams,
  target: (p) => p.BucketName,
  apply(current, params, ctx) {
    if (!NAME_RE.test(params.BucketName)) throw new SandboxError('InvalidBucketName', `"${params.BucketName}" is not ${NAME_RULE}.`);
    if (current) throw new SandboxError('BucketAlreadyExists', `The bucket "${params.BucketName}" already exists.`, 409);
    return {
      configuration: {
        Name: params.BucketName,
        CreationDate: ctx.now.toISOString(),
        StorageClass: params.StorageClass,
        DataRedundancyType: params.DataRedundancyType,
        Versioning: '',
        AccessControlList: { Grant: params.Acl },
        ServerSideEncryptionRule: { SSEAlgorithm: 'None' },
        BlockPublicAccess: false,
      },
      tags: params.Tags ?? {},
      result: {},
    };
  },
});

registerOperation<z.output<typeof bucketTarget>>({
  action: 'oss:DeleteBucket',
  resourceType: TYPE,
  kind: 'delete',
  description: 'Deletes a bucket.',
  params: bucketTarget,
  target: (p) => p.BucketName,
  apply(current, params) {
    requireBucket(current, params.BucketName);
    return { configuration: null, result: {} };
  },
});

const aclParams = bucketTarget
  .extend(aclFields)
  .refine((p) => aclOf(p) !== undefined, { message: 'give Acl (or the x-oss-acl header)', path: ['Acl'] })
  .refine(sameAcl, { message: 'Acl and x-oss-acl differ', path: ['Acl'] })
  .transform((p) => ({ BucketName: p.BucketName, Acl: aclOf(p)! }));
registerOperation<z.output<typeof aclParams>>({
  action: 'oss:PutBucketAcl',
  resourceType: TYPE,
  kind: 'update',
  description: 'Sets the canned ACL of a bucket (private, public-read, public-read-write).',
  params: aclParams,
  target: (p) => p.BucketName,
  apply(current, params) {
    const c = requireBucket(current, params.BucketName);
    const now = (c.AccessControlList as { Grant?: string } | undefined)?.Grant ?? 'private';
    if (now === params.Acl) return { configuration: undefined, result: {} };
    // OSS refuses to make a bucket public while Block Public Access is on.
    if (params.Acl !== 'private' && c.BlockPublicAccess === true)
      throw new SandboxError('AccessDenied', `Put public bucket acl is not allowed: Block Public Access is enabled for bucket "${params.BucketName}".`, 403);
    return { configuration: { ...c, AccessControlList: { Grant: params.Acl } }, result: {} };
  },
});

const versioningParams = bucketTarget.extend({ Status: z.enum(['Enabled', 'Suspended']) });
registerOperation<z.output<typeof versioningParams>>({
  action: 'oss:PutBucketVersioning',
  resourceType: TYPE,
  kind: 'update',
  description: 'Enables or suspends versioning of a bucket.',
  params: versioningParams,
  target: (p) => p.BucketName,
  apply(current, params) {
    const c = requireBucket(current, params.BucketName);
    return { configuration: c.Versioning === params.Status ? undefined : { ...c, Versioning: params.Status }, result: {} };
  },
});
