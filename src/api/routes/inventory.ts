import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps } from '../deps.js';
import { stream } from 'hono/streaming';
import { ApiError, errorResponse } from '../errors.js';
import {
  ConfigurationItemSchema,
  Id,
  LookupQuery,
  QueryText,
  ResourceId,
  ResourceSchema,
  SnapshotSummarySchema,
  errorResponses,
  json,
  list,
  text,
} from '../schemas.js';
import { LIMITS } from '../limits.js';
import { emptySnapshot, type SnapshotSummary } from '../../inventory/recorder.js';

/** "key=value" or "key". */
const tagFilter = () => text(LIMITS.tags.key + 1 + LIMITS.tags.value);

const tagParam = z
  .union([tagFilter(), list(tagFilter(), LIMITS.tags.count)])
  .optional()
  .openapi({ description: 'Tag filter, repeatable: "key=value", or "key" for resources that have the tag', example: 'env=prod' });

const NDJSON = 'application/x-ndjson';
const ScopeSchema = z.object({ accountId: z.string(), regionId: z.string(), resourceType: z.string() });
const DiscoveryResultSchema = SnapshotSummarySchema.extend({
  providers: z.array(SnapshotSummarySchema).openapi({ description: "Each provider's own snapshot" }),
}).openapi('DiscoveryResult');
const DiscoveryLineSchema = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('start'), provider: z.string(), scopes: z.number().int() }),
    z.object({
      type: z.literal('scope'),
      provider: z.string(),
      scopesDone: z.number().int(),
      scopes: z.number().int(),
      resources: z.number().int(),
      scope: ScopeSchema,
      found: z.number().int().optional(),
      refused: z.object({ code: z.string(), message: z.string() }).optional(),
    }),
    z.object({ type: z.literal('heartbeat') }),
    z.object({ type: z.literal('result'), result: DiscoveryResultSchema }),
    z.object({ type: z.literal('error'), status: z.number().int(), error: z.object({ code: z.string(), message: z.string() }).passthrough() }),
  ])
  .openapi('DiscoveryProgressLine');
export type DiscoveryLine = z.infer<typeof DiscoveryLineSchema>;

const listResources = createRoute({
  method: 'get',
  path: '/resources',
  tags: ['inventory'],
  summary: 'List and filter recorded resources',
  request: {
    query: LookupQuery.extend({
      provider: Id().optional().openapi({ description: 'Only what this provider recorded (its name in confix.yaml: sandbox, aws, …)' }),
      resourceId: ResourceId().optional().openapi({ description: 'Exact id, or a prefix followed by *' }),
      tag: tagParam,
      includeDeleted: z.enum(['true', 'false']).optional(),
      limit: z.coerce.number().int().min(1).max(5000).optional().openapi({ description: 'Page size (default 100)' }),
      cursor: QueryText().optional().openapi({ description: 'nextCursor of the previous page' }),
    }),
  },
  responses: {
    200: json(z.object({ items: z.array(ResourceSchema), total: z.number().int(), nextCursor: z.string().nullable() }), 'One page of resources'),
    400: errorResponses[400],
  },
});

const getResource = createRoute({
  method: 'get',
  path: '/resources/{resourceId}',
  tags: ['inventory'],
  summary: "A resource's current configuration",
  request: { params: z.object({ resourceId: ResourceId() }), query: LookupQuery },
  responses: { 200: json(ResourceSchema, 'The resource'), 404: errorResponses[404], 409: errorResponses[409] },
});

const history = createRoute({
  method: 'get',
  path: '/resources/{resourceId}/history',
  tags: ['inventory'],
  summary: "A resource's configuration timeline, newest first, each item with its diff to the previous one",
  request: {
    params: z.object({ resourceId: ResourceId() }),
    query: LookupQuery.extend({ limit: z.coerce.number().int().min(1).max(1000).optional() }),
  },
  responses: {
    200: json(z.object({ resource: ResourceSchema, items: z.array(ConfigurationItemSchema) }), 'The timeline'),
    404: errorResponses[404],
    409: errorResponses[409],
  },
});

const summary = createRoute({
  method: 'get',
  path: '/inventory/summary',
  tags: ['inventory'],
  summary: 'Counts of live resources by type and account',
  responses: {
    200: json(z.object({ total: z.number().int(), byType: z.record(z.string(), z.number()), byAccount: z.record(z.string(), z.number()) }), 'Counts'),
  },
});

const discover = createRoute({
  method: 'post',
  path: '/discovery',
  tags: ['inventory'],
  summary: 'Take a full snapshot now (all accounts, or the given ones)',
  description: `With \`Accept: ${'application/x-ndjson'}\` the answer streams as it goes, one JSON object per line: \`{"type":"start","provider","scopes"}\` when a provider's snapshot starts, \`{"type":"scope","provider","scopesDone","scopes","resources","scope","found"}\` (or \`"refused":{code,message}\`) after every scope, \`{"type":"heartbeat"}\` every 15 s of quiet, and last \`{"type":"result","result":…}\` (the JSON answer) or \`{"type":"error","status","error":{code,message}}\`.`,
  request: {
    body: {
      required: false,
      content: {
        'application/json': {
          schema: z.object({
            provider: Id().optional().openapi({ description: 'Only this provider (its name in confix.yaml); default: every provider serving the accounts' }),
            accountIds: list(Id()).optional(),
            resourceTypes: list(Id()).optional(),
          }),
        },
      },
    },
  },
  responses: {
    200: {
      description: 'What the snapshot recorded (the sums over the providers, and each one); streamed as progress lines with Accept: application/x-ndjson',
      content: {
        'application/json': { schema: DiscoveryResultSchema },
        [NDJSON]: { schema: DiscoveryLineSchema },
      },
    },
    400: errorResponses[400],
  },
});

function parseTags(tag: string | string[] | undefined) {
  const list = tag === undefined ? [] : Array.isArray(tag) ? tag : [tag];
  return list.map((t) => {
    const i = t.indexOf('=');
    if (i === 0) throw new ApiError(400, 'InvalidTagFilter', `tag filter "${t}" has no key; use key=value or key`);
    return i < 0 ? { key: t } : { key: t.slice(0, i), value: t.slice(i + 1) };
  });
}

export function inventoryRoutes(app: OpenAPIHono, deps: AppDeps) {
  app.openapi(listResources, async (c) => {
    const q = c.req.valid('query');
    const tags = parseTags(c.req.queries('tag') ?? q.tag);
    const page = await deps.inventory.list({ ...q, tags, includeDeleted: q.includeDeleted === 'true' });
    return c.json(page, 200);
  });

  app.openapi(getResource, async (c) => {
    const { resourceId } = c.req.valid('param');
    const found = await deps.inventory.resolve(resourceId, c.req.valid('query'));
    const [withConfig] = await deps.inventory.find(found.resourceId, found);
    return c.json(withConfig!, 200);
  });

  app.openapi(history, async (c) => {
    const { resourceId } = c.req.valid('param');
    const q = c.req.valid('query');
    const resource = await deps.inventory.resolve(resourceId, q);
    const items = await deps.inventory.history(resource, { limit: q.limit });
    return c.json({ resource, items }, 200);
  });

  app.openapi(summary, async (c) => c.json(await deps.inventory.summary(), 200));

  app.openapi(discover, async (c) => {
    const body = ((c.req.header('content-type') ?? '').includes('json') ? c.req.valid('json') : {}) ?? {};
    const all = deps.providers.all();
    if (body.provider && !deps.providers.has(body.provider))
      throw new ApiError(400, 'InvalidProvider', `unknown provider ${body.provider}; known: ${all.map((p) => p.name).join(', ')}`);
    let chosen = body.provider ? [deps.providers.get(body.provider)] : all;
    // Named accounts: only the providers they belong to.
    if (!body.provider && body.accountIds?.length) {
      const owners = new Set<string>();
      for (const id of body.accountIds)
        owners.add(
          (
            await deps.providers.forAccount(id).catch((err: Error) => {
              throw new ApiError(400, 'InvalidAccount', err.message);
            })
          ).name,
        );
      chosen = chosen.filter((p) => owners.has(p.name));
    }
    const known = new Set(chosen.flatMap((p) => p.resourceTypes().map((t) => t.type)));
    const unknown = (body.resourceTypes ?? []).filter((t) => !known.has(t));
    if (unknown.length) throw new ApiError(400, 'InvalidResourceType', `unknown resource type ${unknown.join(', ')}; known: ${[...known].join(', ')}`);
    const run = async (emit?: (line: DiscoveryLine) => void) => {
      const providers = [];
      for (const p of chosen) {
        const served = new Set(p.resourceTypes().map((t) => t.type));
        const types = body.resourceTypes?.filter((t) => served.has(t));
        if (types && types.length === 0) continue;
        providers.push(
          await deps.recorder.snapshot(p.name, {
            accountIds: body.accountIds,
            resourceTypes: types,
            ...(emit
              ? {
                  onProgress: (x) => {
                    if (!x.scope) emit({ type: 'start', provider: p.name, scopes: x.scopes });
                    else
                      emit({
                        type: 'scope',
                        provider: p.name,
                        scopesDone: x.scopesDone,
                        scopes: x.scopes,
                        resources: x.resources,
                        scope: x.scope,
                        ...(x.refused ? { refused: x.refused } : { found: x.found ?? 0 }),
                      });
                  },
                }
              : {}),
          }),
        );
      }
      return { ...sumSnapshots(providers), providers };
    };
    if (!(c.req.header('accept') ?? '').includes(NDJSON)) return c.json(await run(), 200);
    // Streamed: the status is 200 once the first line is out, so a failure is the last line.
    c.header('content-type', `${NDJSON}; charset=utf-8`);
    c.header('cache-control', 'no-store');
    return stream(c, async (out) => {
      const write = (line: DiscoveryLine) => void out.write(JSON.stringify(line) + '\n');
      const heartbeat = setInterval(() => write({ type: 'heartbeat' }), 15_000);
      try {
        write({ type: 'result', result: await run(write) });
      } catch (err) {
        const answer = errorResponse(err, c, deps.log);
        write({ type: 'error', status: answer.status, error: ((await answer.json()) as { error: { code: string; message: string } }).error });
      } finally {
        clearInterval(heartbeat);
      }
    }) as never;
  });
}

/** One summary of several providers' snapshots (the sums; the providers' names joined). */
function sumSnapshots(list: SnapshotSummary[]): SnapshotSummary {
  const sum = emptySnapshot(list.map((s) => s.provider).join(','));
  for (const s of list) {
    for (const k of ['scopes', 'resources', 'created', 'updated', 'deleted', 'unchanged', 'durationMs'] as const) sum[k] += s[k];
    if (s.refused?.length) (sum.refused ??= []).push(...s.refused);
  }
  return sum;
}
