/**
 * Functions (like Function Compute and Lambda): deploy code as numbered
 * versions, invoke them (queued, run by the function worker, optionally
 * waited for), follow their invocations and logs, cancel one under way.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { Description, Id, Name, QueryText, Time, bounded, errorResponses, json, text } from '../schemas.js';
import { LIMITS } from '../limits.js';
import { timeOrDuration } from '../time.js';
import { FINAL, type Invocation, type InvocationSource } from '../../functions/invocations.js';
import type { FunctionVersion } from '../../functions/store.js';

const STATUSES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED'] as const;
const SOURCE_TYPES = ['manual', 'remediation', 'rule', 'subscription'] as const;

const ENV_DESCRIPTION =
  "The function's environment variables (its process.env). Stored and shown in clear, like the rest of the settings: not for secrets; a function gets credentials from its role (context.credentials)";

const FunctionVersionSchema = z
  .object({
    name: z.string().openapi({ example: 'revoke-open-ports' }),
    version: z.number().int().openapi({ example: 3 }),
    fileName: z.string().openapi({ example: 'handler.ts' }),
    codeSha256: z.string(),
    handler: z.string().openapi({ example: 'handler' }),
    role: z
      .string()
      .nullable()
      .openapi({ description: "The role the function runs with: a name (the management account's role) or a role ARN; null: no credentials" }),
    timeoutSeconds: z.number().int(),
    memoryMb: z.number().int(),
    env: z.record(z.string(), z.string()).openapi({ description: ENV_DESCRIPTION }),
    createdAt: z.string(),
  })
  .openapi('FunctionVersion');

const FunctionVersionWithSourceSchema = FunctionVersionSchema.extend({ source: z.string().openapi({ description: 'The code as deployed' }) }).openapi(
  'FunctionVersionWithSource',
);

const FunctionSchema = z
  .object({
    name: z.string().openapi({ example: 'revoke-open-ports' }),
    description: z.string(),
    latestVersion: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
    latest: FunctionVersionSchema.openapi({ description: "The latest version's settings" }),
  })
  .openapi('Function');

const FunctionDetailSchema = FunctionSchema.extend({
  versions: z.array(FunctionVersionSchema).openapi({ description: 'Every version, newest first (without code)' }),
  usedBy: z
    .array(z.string())
    .openapi({ description: 'The rules and subscriptions naming the function (it cannot be deleted while any do)', example: ['rule sg-no-open-ssh'] }),
}).openapi('FunctionDetail');

const DeployInput = bounded(
  z
    .object({
      fileName: Name().openapi({ description: 'The code file name: .ts, .mts, .js, .mjs or .cjs (TypeScript is compiled)', example: 'handler.ts' }),
      source: text(LIMITS.text.functionSource).openapi({
        description: 'The code (at most 1 MiB); it must compile and, loaded as at a cold start, export the handler',
        example: 'export async function handler(event, context) {\n  return { ok: true };\n}\n',
      }),
      handler: Name().optional().openapi({ description: 'The exported function called as handler(event, context); default "handler"' }),
      role: text(LIMITS.text.url).optional().openapi({
        description:
          "The role the function runs with, assumed by the function service (its trust policy must name fc.aliyuncs.com or lambda.amazonaws.com): a bare name is the management account's role, or a role ARN (acs:ram::ACCOUNT:role/NAME, arn:aws:iam::ACCOUNT:role/NAME). Without one the function gets no credentials",
      }),
      timeoutSeconds: z.number().int().optional().openapi({ description: '1 to 900; default 60. The invocation is stopped at it (TIMED_OUT)' }),
      memoryMb: z.number().int().optional().openapi({ description: '64 to 3072; default 256. The heap of its process; past it the invocation FAILED' }),
      env: z.record(z.string(), z.string()).optional().openapi({ description: ENV_DESCRIPTION }),
      description: Description().optional(),
    })
    .passthrough(),
  // Checked by the function store; here only sizes (the code may be longer than other strings).
  { fields: { env: { keys: LIMITS.entries, key: LIMITS.text.name, values: LIMITS.text.value } } },
  { string: LIMITS.text.functionSource },
).openapi('FunctionDeployInput', { description: "Every deploy gives all the settings: those left out take their defaults, not the previous version's" });

const LogLineSchema = z.object({
  time: z.string(),
  level: z.enum(['debug', 'info', 'warn', 'error']),
  message: z.string(),
});

const InvocationErrorSchema = z
  .object({
    type: z.string().openapi({
      description: "The error name (Error, TypeError, ApiCallError, …) or the runtime's: FunctionTimeout, MemoryLimitExceeded, Cancelled, HandlerNotFound, …",
    }),
    message: z.string(),
    code: z.string().optional(),
    stack: z.string().optional().openapi({ description: "With positions in the function's file" }),
  })
  .openapi('InvocationError');

const SourceSchema = z
  .object({ type: z.enum(SOURCE_TYPES), id: z.string().optional(), rule: z.string().optional(), subscription: z.string().optional() })
  .openapi('InvocationSource', {
    description: 'What started it: manual (the API or CLI), a remediation execution (id: the execution), a rule, or a subscription',
  });

const InvocationFields = {
  invocationId: z.string().openapi({ example: 'inv-4f1c2a9b0d3e5f67' }),
  functionName: z.string(),
  version: z.number().int(),
  status: z.enum(STATUSES),
  source: SourceSchema,
  idempotencyKey: z.string().nullable(),
  error: InvocationErrorSchema.nullable(),
  logsTruncated: z.number().int().openapi({ description: 'Log lines dropped past the 256 KiB cap' }),
  attempt: z.number().int().openapi({ description: 'Runs started; an invocation whose worker died is run again, three times at most' }),
  cancelRequested: z.boolean(),
  durationMs: z.number().nullable(),
  initDurationMs: z.number().nullable().openapi({ description: 'Compile, process start and module load' }),
  maxRssMb: z.number().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
};

const InvocationSummarySchema = z.object(InvocationFields).openapi('InvocationSummary', { description: 'An invocation without its input, result and logs' });

const InvocationSchema = z
  .object({
    ...InvocationFields,
    input: z.unknown().openapi({ description: 'The event' }),
    result: z.unknown().openapi({ description: "The handler's return value (SUCCEEDED)" }),
    logs: z.array(LogLineSchema),
  })
  .openapi('Invocation');

const InvokedSchema = InvocationSchema.extend({
  deduplicated: z.boolean().openapi({ description: 'true: the idempotency key was used before, and this is that invocation (nothing new was queued)' }),
}).openapi('InvocationStarted');

const nameParam = z.object({ name: Name().openapi({ example: 'revoke-open-ports' }) });
const idParam = z.object({ id: Id().openapi({ example: 'inv-4f1c2a9b0d3e5f67' }) });

/** How long a cancelled invocation under way is waited for before answering (its worker stops it within a second or so). */
const CANCEL_WAIT_MS = 5000;

const withoutSource = ({ source: _s, ...v }: FunctionVersion): FunctionVersion => v;
const summary = ({ input: _i, result: _r, logs: _l, ...rest }: Invocation) => rest;

/** "remediation" or "remediation:ID": a source type, and optionally the one source. */
function parseSource(source: string | undefined): { sourceType?: InvocationSource['type']; sourceId?: string } {
  if (!source) return {};
  const i = source.indexOf(':');
  const type = i < 0 ? source : source.slice(0, i);
  if (!(SOURCE_TYPES as readonly string[]).includes(type))
    throw new ApiError(
      400,
      'InvalidRequest',
      `source: "${type}" is not a source; give ${SOURCE_TYPES.join(', ')}, optionally with :ID (remediation:EXECUTION_ID)`,
    );
  return { sourceType: type as InvocationSource['type'], sourceId: i < 0 ? undefined : source.slice(i + 1) };
}

export function functionRoutes(app: OpenAPIHono, deps: AppDeps) {
  /**
   * The invocation once it has ended, or as it is after `ms`: told by this
   * process's worker, or read every second (another process may run it).
   */
  async function waitForEnd(id: string, ms: number): Promise<Invocation> {
    const now = await deps.invocations.get(id);
    if (FINAL.includes(now.status) || ms <= 0) return now;
    return new Promise<Invocation>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        deps.functionWorker.off('finished', onFinished);
        clearInterval(poll);
        clearTimeout(timer);
        fn();
      };
      const onFinished = (i: Invocation) => {
        if (i.invocationId === id) settle(() => resolve(i));
      };
      const read = (last: boolean) =>
        deps.invocations.get(id).then(
          (i) => {
            if (last || FINAL.includes(i.status)) settle(() => resolve(i));
          },
          (err: Error) => settle(() => reject(err)),
        );
      deps.functionWorker.on('finished', onFinished);
      const poll = setInterval(() => void read(false), 1000);
      const timer = setTimeout(() => void read(true), ms);
    });
  }

  app.openapi(
    createRoute({
      method: 'get',
      path: '/functions',
      tags: ['functions'],
      summary: "Deployed functions with their latest version's settings",
      responses: { 200: json(z.object({ items: z.array(FunctionSchema) }), 'Functions') },
    }),
    async (c) => c.json({ items: (await deps.functions.list()).map((f) => ({ ...f, latest: withoutSource(f.latest) })) }, 200),
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/functions/{name}',
      tags: ['functions'],
      summary: "Deploy a function: its code and settings become a new version, unless they are the latest version's",
      description:
        "The code is compiled and loaded as at a cold start before it is kept; a problem is named by field, the code's with file, line and column (`source: handler.ts:2:10: SyntaxError: …`). " +
        'Answers 201 when a version was made, 200 when the code and settings are those of the latest version (the description alone may change). ' +
        'Environment variables are stored and shown in clear: they are not for secrets (a function gets credentials from its role).',
      request: { params: nameParam, body: { required: true, content: { 'application/json': { schema: DeployInput } } } },
      responses: {
        201: json(z.object({ created: z.literal(true), function: FunctionSchema, version: FunctionVersionSchema }), 'A new version'),
        200: json(z.object({ created: z.literal(false), function: FunctionSchema, version: FunctionVersionSchema }), 'Unchanged: the latest version'),
        400: errorResponses[400],
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const body = c.req.valid('json');
      if (body.name !== undefined && body.name !== name)
        throw new ApiError(
          400,
          'InvalidRequest',
          `name: the body names "${String(body.name)}" but the path "${name}"; a function is renamed by deploying the new one and deleting the old`,
        );
      const { fn, version, created } = await deps.functions.deploy({ ...body, name });
      deps.log.info(created ? 'function deployed' : 'function unchanged', { function: name, version: version.version });
      const out = { function: { ...fn, latest: withoutSource(fn.latest) }, version: withoutSource(version) };
      return created ? c.json({ created: true as const, ...out }, 201) : c.json({ created: false as const, ...out }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/functions/{name}',
      tags: ['functions'],
      summary: 'One function: its latest settings, every version (without code) and what uses it',
      request: { params: nameParam },
      responses: { 200: json(FunctionDetailSchema, 'The function'), 404: errorResponses[404] },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const [fn, versions, usedBy] = await Promise.all([deps.functions.get(name), deps.functions.versions(name), deps.functions.usedBy(name)]);
      return c.json({ ...fn, latest: withoutSource(fn.latest), versions: versions.map(withoutSource), usedBy }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/functions/{name}/versions/{version}',
      tags: ['functions'],
      summary: 'One version of a function, with its code',
      request: { params: nameParam.extend({ version: z.coerce.number().int().min(1).openapi({ example: 2 }) }) },
      responses: { 200: json(FunctionVersionWithSourceSchema, 'The version'), 400: errorResponses[400], 404: errorResponses[404] },
    }),
    async (c) => {
      const { name, version } = c.req.valid('param');
      return c.json(await deps.functions.version(name, version), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/functions/{name}',
      tags: ['functions'],
      summary: 'Delete a function with its versions and invocations; refused while a rule or subscription names it',
      request: { params: nameParam },
      responses: { 200: json(z.object({ deleted: z.string() }), 'Deleted'), 404: errorResponses[404], 409: errorResponses[409] },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      await deps.functions.remove(name);
      deps.log.info('function deleted', { function: name });
      return c.json({ deleted: name }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/functions/{name}/invocations',
      tags: ['functions'],
      summary: 'Invoke a function: the invocation is queued and run by the function worker; with wait, answered once it has ended',
      description:
        'Answers 202 with the invocation while it is under way (QUEUED or RUNNING), 200 once it has ended (SUCCEEDED, FAILED, TIMED_OUT or CANCELLED). ' +
        'An idempotency key already used for the function answers that invocation (deduplicated: true) and queues nothing.',
      request: {
        params: nameParam,
        body: {
          required: false,
          content: {
            'application/json': {
              // The event is any JSON: bounded by the body's size and the JSON nesting, not by string lengths.
              schema: bounded(
                z.object({
                  event: z
                    .unknown()
                    .optional()
                    .openapi({ description: "The handler's first argument (any JSON)", example: { resourceId: 'sg-web-prod' } }),
                  version: z.number().int().min(1).optional().openapi({ description: 'The version to run; default the latest' }),
                  idempotencyKey: z.string().min(1).max(200).optional(),
                  wait: z.boolean().optional().openapi({ description: 'Answer once the invocation has ended (default false: answer at once, 202)' }),
                  timeoutSeconds: z.number().int().min(1).max(3600).optional().openapi({
                    description: "With wait: answer after at most this long, with the invocation as it is then (default: the function's timeout plus 30 s)",
                  }),
                }),
                undefined,
                { string: LIMITS.body.invocation, items: LIMITS.body.invocation, keys: LIMITS.body.invocation },
              ),
            },
          },
        },
      },
      responses: {
        202: json(InvokedSchema, 'Queued or running'),
        200: json(InvokedSchema, 'Ended'),
        400: errorResponses[400],
        404: errorResponses[404],
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const body = (c.req.valid('json') ?? {}) as { event?: unknown; version?: number; idempotencyKey?: string; wait?: boolean; timeoutSeconds?: number };
      const queued = await deps.invocations.enqueue({
        functionName: name,
        version: body.version,
        input: body.event,
        idempotencyKey: body.idempotencyKey,
        source: { type: 'manual' },
      });
      if (!queued.deduplicated) deps.functionWorker.wake();
      const { deduplicated } = queued;
      let inv: Invocation = queued;
      if (body.wait && !FINAL.includes(inv.status)) {
        const waitSeconds = body.timeoutSeconds ?? (await deps.functions.version(name, inv.version)).timeoutSeconds + 30;
        inv = await waitForEnd(inv.invocationId, waitSeconds * 1000);
      }
      const { deduplicated: _d, ...plain } = inv as Invocation & { deduplicated?: boolean };
      const out = { ...plain, deduplicated };
      return FINAL.includes(out.status) ? c.json(out, 200) : c.json(out, 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/invocations',
      tags: ['functions'],
      summary: 'Invocations, newest first, without their input, result and logs; filtered by function, status or source',
      request: {
        query: z.object({
          function: Name().optional(),
          status: z.enum(STATUSES).optional(),
          source: QueryText()
            .optional()
            .openapi({ description: `A source type (${SOURCE_TYPES.join(', ')}), optionally with :ID, e.g. remediation:EXECUTION_ID` }),
          limit: z.coerce.number().int().min(1).max(1000).optional().openapi({ description: 'Default 50' }),
        }),
      },
      responses: { 200: json(z.object({ items: z.array(InvocationSummarySchema) }), 'Invocations'), 400: errorResponses[400], 404: errorResponses[404] },
    }),
    async (c) => {
      const q = c.req.valid('query');
      if (q.function) await deps.functions.get(q.function); // 404 for a function that does not exist
      const items = await deps.invocations.list({ functionName: q.function, status: q.status, ...parseSource(q.source), limit: q.limit });
      return c.json({ items: items.map(summary) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/invocations/{id}',
      tags: ['functions'],
      summary: 'One invocation: input, status, result or error, logs, duration and what started it',
      request: { params: idParam },
      responses: { 200: json(InvocationSchema, 'The invocation'), 404: errorResponses[404] },
    }),
    async (c) => c.json(await deps.invocations.get(c.req.valid('param').id), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/invocations/{id}/cancel',
      tags: ['functions'],
      summary:
        'Stop an invocation: a queued one is cancelled at once, a running one is stopped by its worker (answered once it has, or after 5 s with cancelRequested)',
      request: { params: idParam },
      responses: { 200: json(InvocationSchema, 'The invocation'), 404: errorResponses[404], 409: errorResponses[409] },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      let inv = await deps.invocations.cancel(id);
      if (!FINAL.includes(inv.status)) {
        deps.functionWorker.wake();
        inv = await waitForEnd(id, CANCEL_WAIT_MS);
      }
      deps.log.info('invocation cancelled', { invocationId: id, status: inv.status });
      return c.json(inv, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/functions/{name}/logs',
      tags: ['functions'],
      summary: "A function's log lines across its invocations, oldest first, each with its invocation",
      description:
        'Lines are recorded when their invocation ends. `since` is a time or a duration back from now (10m); `limit` keeps the newest lines (default 200).',
      request: {
        params: nameParam,
        query: z.object({
          since: Time().optional().openapi({ example: '10m' }),
          limit: z.coerce.number().int().min(1).max(10_000).optional(),
        }),
      },
      responses: {
        200: json(z.object({ items: z.array(LogLineSchema.extend({ invocationId: z.string(), version: z.number().int() })) }), 'Log lines'),
        400: errorResponses[400],
        404: errorResponses[404],
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const q = c.req.valid('query');
      const since = q.since ? timeOrDuration('since', q.since, 'ago') : undefined;
      await deps.functions.get(name);
      return c.json({ items: await deps.invocations.logs(name, { since, limit: q.limit }) }, 200);
    },
  );
}
