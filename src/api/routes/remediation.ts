import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppDeps } from '../deps.js';
import { EXECUTION_STATUSES, EXECUTION_TRIGGERS } from '../../remediation/statuses.js';
import { principalOf } from '../access-control.js';
import { startRemediation, startRollback } from '../../remediation/start.js';
import { Id, Name, Reason, ResourceId, Time, errorResponses, json, list, LookupQuery } from '../schemas.js';
import { LIMITS } from '../limits.js';
import { ApiError } from '../errors.js';
import { timeOrDuration } from '../time.js';
import { allActions } from '../../remediation/registry.js';
import { ERROR_MIN_SAMPLE, ERROR_WINDOW } from '../../remediation/controls.js';

const StepSchema = z.object({
  name: z.string(),
  status: z.string(),
  startedAt: z.string(),
  finishedAt: z.string(),
  message: z.string(),
  detail: z.unknown().optional(),
});
const ExecutionSchema = z
  .object({
    executionId: z.string(),
    ruleId: z.string(),
    ruleName: z.string(),
    ruleRiskLevel: z.number().int(),
    provider: z.string().nullable().openapi({ description: 'The provider that governs the resource (sandbox, aws, …; its name in confix.yaml)' }),
    accountId: z.string(),
    regionId: z.string(),
    resourceType: z.string(),
    resourceId: z.string(),
    action: z.string().openapi({ description: 'The built-in action, or function:NAME for a remediation by function (its invoke step names the invocation)' }),
    status: z.enum(EXECUTION_STATUSES),
    trigger: z.enum(EXECUTION_TRIGGERS),
    dryRun: z.boolean(),
    attempt: z.number(),
    notBefore: z.string(),
    leaseOwner: z.string().nullable(),
    leaseExpiresAt: z.string().nullable(),
    parameters: z.record(z.string(), z.unknown()).nullable(),
    steps: z.array(StepSchema),
    errorCode: z.string().nullable(),
    errorMessage: z.string().nullable(),
    retryable: z.boolean().nullable().openapi({
      description:
        'For a FAILED execution: whether retrying can help (false: the provider refused, a validation error, a service-managed or missing resource; such failures are not retried automatically)',
    }),
    ciId: z.number().nullable().openapi({ description: 'The configuration item it was queued for (automatic attempts are counted per item)' }),
    priorState: z.unknown(),
    rollbackOf: z.string().nullable(),
    decidedBy: z.string().nullable(),
    decidedAt: z.string().nullable(),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
  })
  .openapi('RemediationExecution');

const PauseSchema = z
  .object({ paused: z.boolean(), pausedAt: z.string().nullable(), reason: z.string().nullable(), resumedAt: z.string().nullable() })
  .openapi('RemediationPauseState');
const Decider = z.string().min(1).max(200).optional().openapi({
  description:
    'A note of who is deciding, recorded after the token\'s name ("ops-cli (note: alice)"); the decider recorded is always the token that made the request',
});

/** Who decided, as recorded on the execution: the authenticated token's name, with the caller's `by` only as a note after it. */
function decidedBy(c: Context, by: string | undefined): string {
  const token = principalOf(c)?.name ?? 'api';
  return by && by !== token ? `${token} (note: ${by})` : token;
}

export function remediationRoutes(app: OpenAPIHono, deps: AppDeps) {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/remediation/actions',
      tags: ['remediation'],
      summary: 'The built-in remediation actions: what each fixes, its parameters, the provider permissions it needs, and whether it can be rolled back',
      responses: {
        200: json(
          z.object({
            items: z.array(
              z.object({
                name: z.string(),
                description: z.string(),
                resourceTypes: z.array(z.string()),
                resourceParameter: z.string(),
                defaultBindings: z.record(z.string(), z.string()),
                permissions: z.array(z.string()),
                rollback: z.boolean(),
                parameters: z.unknown(),
              }),
            ),
          }),
          'Actions',
        ),
      },
    }),
    async (c) =>
      c.json(
        {
          items: allActions().map((a) => ({
            name: a.name,
            description: a.description,
            resourceTypes: a.resourceTypes,
            resourceParameter: a.resourceParameter,
            defaultBindings: a.defaultBindings ?? {},
            permissions: a.permissions,
            rollback: typeof a.rollback === 'function',
            parameters: z.toJSONSchema(a.parameters, { io: 'input', unrepresentable: 'any' }),
          })),
        },
        200,
      ),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/rules/{name}/remediation',
      tags: ['remediation'],
      summary: "A rule's remediation detail: the configuration, whether automatic remediation is paused, counts by status, and the execution result list",
      request: { params: z.object({ name: Name() }), query: z.object({ limit: z.coerce.number().int().min(1).max(10000).optional() }) },
      responses: {
        200: json(
          z.object({
            ruleId: z.string(),
            ruleName: z.string(),
            remediation: z.record(z.string(), z.unknown()),
            state: PauseSchema,
            errorControl: z.object({ window: z.number(), minimumSample: z.number() }),
            counts: z.record(z.string(), z.number()),
            executions: z.array(ExecutionSchema),
          }),
          'The remediation detail',
        ),
        404: errorResponses[404],
      },
    }),
    async (c) => {
      const rule = await withRemediation(c.req.valid('param').name);
      const [state, counts, executions] = await Promise.all([
        deps.controls.state(rule.ruleId),
        deps.executions.counts(rule.ruleId),
        deps.executions.list({ ruleId: rule.ruleId, limit: c.req.valid('query').limit ?? 50 }),
      ]);
      return c.json(
        {
          ruleId: rule.ruleId,
          ruleName: rule.name,
          remediation: rule.remediation as unknown as Record<string, unknown>,
          state,
          errorControl: { window: ERROR_WINDOW, minimumSample: ERROR_MIN_SAMPLE },
          counts,
          executions,
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/rules/{name}/remediation/pause',
      tags: ['remediation'],
      summary: "Pause the rule's automatic remediation: its automatic executions wait until it is resumed (manual ones still run)",
      request: {
        params: z.object({ name: Name() }),
        body: { required: false, content: { 'application/json': { schema: z.object({ reason: Reason().min(1).optional() }) } } },
      },
      responses: { 200: json(PauseSchema, 'The pause state'), 404: errorResponses[404], 409: errorResponses[409] },
    }),
    async (c) => {
      const rule = await withRemediation(c.req.valid('param').name);
      const reason = (c.req.valid('json') as { reason?: string } | undefined)?.reason ?? 'paused by an operator';
      if (!(await deps.controls.pause(rule.ruleId, reason)))
        throw new ApiError(409, 'AlreadyPaused', `automatic remediation of ${rule.name} is already paused`);
      return c.json(await deps.controls.state(rule.ruleId), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/rules/{name}/remediation/resume',
      tags: ['remediation'],
      summary: "Resume the rule's automatic remediation after a pause; failures before now no longer count towards the error limit",
      request: { params: z.object({ name: Name() }) },
      responses: { 200: json(PauseSchema, 'The pause state'), 404: errorResponses[404], 409: errorResponses[409] },
    }),
    async (c) => {
      const rule = await withRemediation(c.req.valid('param').name);
      if (!(await deps.controls.resume(rule.ruleId))) throw new ApiError(409, 'NotPaused', `automatic remediation of ${rule.name} is not paused`);
      // What is non-compliant now and has attempts left is due again (queued ones run now).
      deps.auto.request(rule.ruleId);
      deps.worker.wake();
      return c.json(await deps.controls.state(rule.ruleId), 200);
    },
  );

  for (const decision of ['approve', 'reject'] as const) {
    app.openapi(
      createRoute({
        method: 'post',
        path: `/executions/{id}/${decision}`,
        tags: ['remediation'],
        summary:
          decision === 'approve'
            ? 'Approve an execution waiting for approval: it is queued to run now'
            : 'Reject an execution waiting for approval: it ends CANCELLED with the reason, touching nothing',
        request: {
          params: z.object({ id: Id() }),
          body: {
            required: decision === 'reject',
            content: {
              'application/json': {
                schema: decision === 'reject' ? z.object({ reason: Reason().min(1), by: Decider }) : z.object({ by: Decider }),
              },
            },
          },
        },
        responses: { 200: json(ExecutionSchema, 'The execution'), 404: errorResponses[404], 409: errorResponses[409] },
      }),
      async (c) => {
        const { id } = c.req.valid('param');
        const body = (c.req.valid('json') ?? {}) as { by?: string; reason?: string };
        const by = decidedBy(c, body.by);
        const [done] = decision === 'approve' ? await deps.executions.approve([id], by) : await deps.executions.reject([id], by, body.reason!);
        if (!done) {
          const x = await deps.executions.get(id); // 404 when there is no such execution
          throw new ApiError(409, 'NotAwaitingApproval', `${id} is ${x.status}, not AWAITING_APPROVAL`);
        }
        if (decision === 'approve') deps.worker.wake();
        return c.json(done, 200);
      },
    );
  }

  async function withRemediation(name: string) {
    const rule = await deps.rules.get(name);
    if (!rule.remediation) throw new ApiError(404, 'NoRemediation', `rule ${rule.name} has no remediation; declare one under remediation: in the rule`);
    return rule;
  }

  app.openapi(
    createRoute({
      method: 'post',
      path: '/rules/{name}/remediation/executions',
      tags: ['remediation'],
      summary: "Start the rule's remediation on resources (StartRemediationExecution); answers with what was queued and what was not, and why",
      request: {
        params: z.object({ name: Name() }),
        body: {
          required: true,
          content: {
            'application/json': {
              schema: z.object({
                resourceIds: list(ResourceId(), LIMITS.bulkIds).optional(),
                resources: list(
                  z.object({ resourceId: ResourceId(), accountId: Id().optional(), regionId: Id().optional(), resourceType: Id().optional() }),
                  LIMITS.bulkIds,
                )
                  .optional()
                  .openapi({ description: 'Resources by id with their account, region or type, where an id alone is ambiguous (the same id in two accounts)' }),
                allNonCompliant: z.boolean().optional(),
                dryRun: z.boolean().optional().openapi({ description: 'Record the preview as the execution, change nothing' }),
                trigger: z
                  .enum(['MANUAL', 'API'])
                  .optional()
                  .openapi({ description: 'MANUAL when a person pressed the button (CLI, console); API (the default) for scripts' }),
              }),
            },
          },
        },
      },
      responses: {
        200: json(
          z.object({ queued: z.array(ExecutionSchema), failed: z.array(z.object({ resourceId: z.string(), reason: z.string() })) }),
          'Queued and failed items',
        ),
        400: errorResponses[400],
        404: errorResponses[404],
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const body = c.req.valid('json');
      const res = await startRemediation(deps, { rule: name, ...body, trigger: body.trigger ?? 'API' });
      if (res.queued.length) deps.worker.wake();
      return c.json(res, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/executions',
      tags: ['remediation'],
      summary: 'Remediation executions, newest first, filtered by rule, status, provider or resource',
      request: {
        query: LookupQuery.extend({
          rule: Name().optional(),
          provider: Id().optional().openapi({ description: 'Only executions on resources of this provider (its name in confix.yaml: sandbox, aws, …)' }),
          status: z.enum(EXECUTION_STATUSES).optional(),
          resourceId: ResourceId().optional(),
          limit: z.coerce.number().int().min(1).max(10000).optional(),
        }),
      },
      responses: { 200: json(z.object({ items: z.array(ExecutionSchema) }), 'Executions'), 404: errorResponses[404] },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const rule = q.rule ? await deps.rules.get(q.rule) : undefined;
      const resource = q.resourceId ? await deps.inventory.resolve(q.resourceId, q) : undefined;
      return c.json({ items: await deps.executions.list({ ruleId: rule?.ruleId, status: q.status, resource, provider: q.provider, limit: q.limit }) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/executions/{id}',
      tags: ['remediation'],
      summary: 'One execution with its steps, error and prior state',
      request: { params: z.object({ id: Id() }) },
      responses: { 200: json(ExecutionSchema, 'The execution'), 404: errorResponses[404] },
    }),
    async (c) => c.json(await deps.executions.get(c.req.valid('param').id), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/executions/{id}/rollback',
      tags: ['remediation'],
      summary: 'Restore the prior state a successful execution recorded, as a new execution that links back to it',
      request: { params: z.object({ id: Id() }) },
      responses: { 200: json(ExecutionSchema, 'The rollback execution, queued'), 400: errorResponses[400], 404: errorResponses[404] },
    }),
    async (c) => {
      const x = await startRollback(deps, c.req.valid('param').id, 'API');
      deps.worker.wake();
      return c.json(x, 200);
    },
  );

  const ExceptionSchema = z
    .object({
      ruleId: z.string(),
      ruleName: z.string(),
      accountId: z.string(),
      regionId: z.string(),
      resourceType: z.string(),
      resourceId: z.string(),
      reason: z.string(),
      expiresAt: z.string().nullable(),
      createdAt: z.string(),
      expired: z.boolean(),
      origin: z.enum(['policy', 'api']),
    })
    .openapi('RemediationException');

  app.openapi(
    createRoute({
      method: 'get',
      path: '/rules/{name}/remediation/exceptions',
      tags: ['remediation'],
      summary: "Resources exempted from the rule's remediation",
      request: { params: z.object({ name: Name() }) },
      responses: { 200: json(z.object({ items: z.array(ExceptionSchema) }), 'Exceptions'), 404: errorResponses[404] },
    }),
    async (c) => c.json({ items: await deps.exceptions.list((await deps.rules.get(c.req.valid('param').name)).ruleId) }, 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/rules/{name}/remediation/exceptions',
      tags: ['remediation'],
      summary: "Exempt a resource from the rule's remediation, with a reason and an optional expiry",
      request: {
        params: z.object({ name: Name() }),
        body: {
          required: true,
          content: {
            'application/json': {
              schema: LookupQuery.extend({
                resourceId: ResourceId().min(1),
                reason: Reason().min(1),
                expires: Time().optional().openapi({ description: 'An ISO time, or a duration from now like "7d" or "12h"' }),
              }),
            },
          },
        },
      },
      responses: { 200: json(ExceptionSchema, 'The exception'), 400: errorResponses[400], 404: errorResponses[404] },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const rule = await deps.rules.get(c.req.valid('param').name);
      const key = await deps.inventory.resolve(body.resourceId, body);
      let expiresAt: Date | null = null;
      if (body.expires) {
        expiresAt = timeOrDuration('expires', body.expires, 'ahead');
        if (expiresAt <= new Date()) throw new ApiError(400, 'InvalidRequest', `expires: ${expiresAt.toISOString()} is already past`);
      }
      return c.json(await deps.exceptions.put(rule.ruleId, key, body.reason, expiresAt), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/rules/{name}/remediation/exceptions/{resourceId}',
      tags: ['remediation'],
      summary: 'Remove an exception',
      request: { params: z.object({ name: Name(), resourceId: ResourceId() }), query: LookupQuery },
      responses: { 200: json(z.object({ removed: z.boolean() }), 'Removed'), 404: errorResponses[404] },
    }),
    async (c) => {
      const { name, resourceId } = c.req.valid('param');
      const rule = await deps.rules.get(name);
      const key = await deps.inventory.resolve(resourceId, c.req.valid('query'));
      if (!(await deps.exceptions.remove(rule.ruleId, key))) throw new ApiError(404, 'ExceptionNotFound', `${resourceId} has no exception under ${rule.name}`);
      return c.json({ removed: true }, 200);
    },
  );
}
