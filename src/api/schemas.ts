import { z } from '@hono/zod-openapi';
import { LIMITS, boundIssues, type Bound, type JsonLimits } from './limits.js';

// ---- request fields with their limits (the numbers are in ./limits.ts) ----

/** A string of at most `max` characters; a longer one is refused naming the field and both lengths. */
export const text = (max: number) =>
  z.string().max(max, { error: (iss) => `at most ${max} characters (this one has ${typeof iss.input === 'string' ? iss.input.length : '?'})` });
/** A list of at most `max` items. */
export const list = <T extends z.ZodType>(item: T, max: number = LIMITS.list) =>
  z.array(item).max(max, { error: (iss) => `at most ${max} items (this one has ${Array.isArray(iss.input) ? iss.input.length : '?'})` });

export const Id = () => text(LIMITS.text.id);
export const ResourceId = () => text(LIMITS.text.resourceId);
export const Name = () => text(LIMITS.text.name);
export const Description = () => text(LIMITS.text.description);
export const Reason = () => text(LIMITS.text.reason);
export const Time = () => text(LIMITS.text.time);
export const QueryText = () => text(LIMITS.text.query);

/**
 * A schema that leaves parts open (z.unknown(), records, passthrough) with
 * limits on them: `bound` for the fields it knows, and the generic JSON
 * limits (string length, array and object size, depth) everywhere. Types are
 * left to whoever validates the value; only sizes are checked here.
 */
export function bounded<T extends z.ZodType>(schema: T, bound?: Bound, json?: Partial<JsonLimits>): T {
  return schema.superRefine((value, ctx) => {
    for (const i of boundIssues(value, bound, [], json)) ctx.addIssue({ code: 'custom', message: i.message, path: i.path });
  }) as T;
}

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'ResourceNotFound' }),
      message: z.string(),
      issues: z.array(z.object({ path: z.string(), pathSegments: z.array(z.union([z.string(), z.number()])), message: z.string() })).optional(),
    }),
  })
  .openapi('Error');

export const errorResponses = {
  400: { content: { 'application/json': { schema: ErrorSchema } }, description: 'Invalid request' },
  403: {
    content: { 'application/json': { schema: ErrorSchema } },
    description: 'Refused: the caller may not do this (the refusal names the action, the resource and the caller)',
  },
  404: { content: { 'application/json': { schema: ErrorSchema } }, description: 'Not found' },
  409: { content: { 'application/json': { schema: ErrorSchema } }, description: 'Conflict (for example an ambiguous resource id)' },
} as const;

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});

/** A required JSON request body. */
export const jsonBody = <T extends z.ZodType>(schema: T) => ({ required: true, content: { 'application/json': { schema } } });

export const TagsSchema = z.record(z.string(), z.string()).openapi('Tags', { example: { env: 'prod' } });
export const ConfigurationSchema = z.record(z.string(), z.unknown()).openapi('Configuration');

export const ResourceKeySchema = z.object({
  accountId: z.string().openapi({ example: '100931896542' }),
  regionId: z.string().openapi({ example: 'cn-hangzhou' }),
  resourceType: z.string().openapi({ example: 'ACS::ECS::SecurityGroup' }),
  resourceId: z.string().openapi({ example: 'sg-bp1234567890abcdefgh' }),
});

export const CiStatusSchema = z.enum(['ResourceDiscovered', 'OK', 'ResourceDeleted']);

export const ResourceSchema = ResourceKeySchema.extend({
  provider: z.string(),
  resourceName: z.string().nullable(),
  tags: TagsSchema,
  status: CiStatusSchema,
  version: z.number().int().openapi({ description: 'Number of configuration items recorded for the resource' }),
  firstSeenAt: z.string(),
  capturedAt: z.string(),
  configuration: ConfigurationSchema.nullable().optional(),
}).openapi('Resource');

export const DiffOpSchema = z
  .object({
    op: z.enum(['add', 'remove', 'replace', 'move']),
    path: z.string().openapi({ description: 'JSON Pointer into the configuration', example: '/Permissions/Permission/3' }),
    from: z.string().optional(),
    value: z.unknown().optional(),
    previousValue: z.unknown().optional(),
  })
  .openapi('DiffOp');

export const ConfigurationItemSchema = ResourceKeySchema.extend({
  id: z.number().int(),
  version: z.number().int(),
  status: CiStatusSchema,
  source: z.enum(['discovery', 'change']),
  capturedAt: z.string(),
  changedAt: z.string().nullable(),
  resourceName: z.string().nullable(),
  tags: TagsSchema,
  configuration: ConfigurationSchema.nullable(),
  configHash: z.string(),
  diff: z.array(DiffOpSchema),
}).openapi('ConfigurationItem');

export const SnapshotSummarySchema = z
  .object({
    provider: z.string(),
    scopes: z.number().int(),
    resources: z.number().int(),
    created: z.number().int(),
    updated: z.number().int(),
    deleted: z.number().int(),
    unchanged: z.number().int(),
    durationMs: z.number(),
    refused: z
      .array(z.object({ accountId: z.string(), regionId: z.string(), resourceType: z.string(), code: z.string(), message: z.string() }))
      .optional()
      .openapi({ description: 'Scopes the provider refused to read (a read role without the permission); they keep their last recorded state' }),
  })
  .openapi('SnapshotSummary');

export const LookupQuery = z.object({
  accountId: Id().optional(),
  regionId: Id().optional(),
  resourceType: Id().optional(),
});

/** What one cloud API call did (POST /sandbox/actions/{action}, POST /cloud/actions/{action}). */
export const CallResultSchema = z
  .object({
    requestId: z.string(),
    action: z.string(),
    accountId: z.string(),
    regionId: z.string(),
    resourceType: z.string(),
    resourceId: z.string(),
    changed: z.boolean(),
    result: z.record(z.string(), z.unknown()),
    configurationItemId: z.number().int().nullable().openapi({ description: 'The configuration item recorded for the change, if it changed anything' }),
  })
  .openapi('CallResult');
