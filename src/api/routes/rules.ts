import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps } from '../deps.js';
import { validateRule, RuleValidationError } from '../../rules/model.js';
import { allManagedRules } from '../../rules/registry.js';
import { withCounts } from '../../evaluation/compliance.js';
import { COMPLIANCE_TYPES } from '../../rules/types.js';
import { AUTOMATIC_STATES, withAutomaticStatus } from '../../remediation/auto.js';
import { planPolicy, applyPolicy, PolicyValidationError, type PolicyInput, type PolicyIssue } from '../../policy/plan.js';
import { ruleFunctionIssues } from '../../rules/function-check.js';
import { ApiError } from '../errors.js';
import { Id, LookupQuery, Name, QueryText, ResourceId, bounded, errorResponses, json, list } from '../schemas.js';
import { LIMITS, boundIssues, type Bound } from '../limits.js';
import { RULE_STATES, riskLevelSchema, ruleSourceSchema, scopeSchema, storedTriggerSchema } from '../../rules/model.js';

const ids = (each: number): Bound => ({ items: LIMITS.list, each });

/** The sizes of a rule as written (API body or policy document); what it means is validateRule's to say. */
const RULE_BOUND: Bound = {
  fields: {
    name: LIMITS.text.name,
    description: LIMITS.text.description,
    source: { fields: { managed: LIMITS.text.name, cel: LIMITS.text.expression, function: LIMITS.text.name } },
    parameters: { keys: LIMITS.entries, key: LIMITS.text.name, values: { max: LIMITS.text.value, items: LIMITS.list, each: LIMITS.text.value } },
    scope: {
      fields: {
        resourceTypes: ids(LIMITS.text.id),
        regions: ids(LIMITS.text.id),
        tag: { fields: { key: LIMITS.tags.key, value: LIMITS.tags.value } },
        excludedResourceIds: ids(LIMITS.text.resourceId),
        accounts: ids(LIMITS.text.id),
        accountGroup: LIMITS.text.name,
      },
    },
    triggers: { items: 10, each: { max: LIMITS.text.time, fields: { type: LIMITS.text.time, frequency: LIMITS.text.time, Periodic: LIMITS.text.time } } },
    state: LIMITS.text.time,
  },
};

/** The sizes of each kind of policy document's body. */
const POLICY_BOUNDS: Record<string, Bound> = {
  Rule: RULE_BOUND,
  RemediationException: {
    fields: {
      rule: LIMITS.text.name,
      resourceId: LIMITS.text.resourceId,
      accountId: LIMITS.text.id,
      regionId: LIMITS.text.id,
      resourceType: LIMITS.text.id,
      reason: LIMITS.text.reason,
      expires: LIMITS.text.time,
    },
  },
  AccountGroup: {
    fields: {
      name: LIMITS.text.name,
      description: LIMITS.text.description,
      ownerAccountId: LIMITS.text.id,
      readRole: LIMITS.text.url,
      members: { fields: { accounts: ids(LIMITS.text.id), folder: LIMITS.text.query } },
    },
  },
  Organization: { fields: { delegatedAdministrators: ids(LIMITS.text.id) } },
};

/**
 * Refuses policy documents over their size limits as the policy's own
 * problems are refused (400 InvalidPolicy, each at its document and path, so
 * the CLI names file and line), before anything is planned.
 */
function checkPolicySizes(docs: PolicyInput[]): void {
  const issues: PolicyIssue[] = [];
  docs.forEach((d, document) => {
    if (issues.length >= 20) return;
    for (const i of boundIssues(d.body, POLICY_BOUNDS[d.kind])) issues.push({ document, source: d.source, path: i.path, message: i.message });
  });
  if (issues.length) throw new PolicyValidationError(issues.slice(0, 20));
}

const Counts = z
  .object({ compliant: z.number(), nonCompliant: z.number(), notApplicable: z.number(), insufficientData: z.number() })
  .openapi('ComplianceCounts');
const RuleSchema = z
  .object({
    ruleId: z.string(),
    name: z.string(),
    description: z.string(),
    // The domain's own schemas, as a stored rule has them.
    source: ruleSourceSchema,
    parameters: z.record(z.string(), z.string()).openapi({ description: 'As the clouds pass them: strings (lists comma-separated)' }),
    scope: scopeSchema.required({ resourceTypes: true }),
    triggers: z.array(storedTriggerSchema),
    riskLevel: riskLevelSchema,
    state: z.enum(RULE_STATES),
    origin: z.enum(['api', 'policy']),
    version: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
    lastEvaluatedAt: z.string().nullable(),
    remediation: z
      .record(z.string(), z.unknown())
      .optional()
      .openapi({ description: 'How non-compliant resources are fixed: action, parameters (static or bound), invoke type, attempts, controls, role' }),
    compliance: Counts,
  })
  .openapi('Rule');
const SummarySchema = z
  .object({ rules: z.number(), resources: z.number(), evaluations: z.number(), changed: z.number(), closed: z.number(), durationMs: z.number() })
  .openapi('EvaluationSummary');
const RuleBody = bounded(z.record(z.string(), z.unknown()), RULE_BOUND).openapi('RuleInput', {
  description: 'A rule as written in policy files: name, description, source ({managed} or {cel}), parameters, scope, triggers, riskLevel, state',
  example: { name: 'sg-open-ssh', source: { managed: 'sg-risky-ports-check' }, parameters: { ports: '22,3389' }, riskLevel: 1 },
});
const ResultSchema = z
  .object({
    ruleId: z.string(),
    ruleName: z.string(),
    riskLevel: z.number(),
    accountId: z.string(),
    regionId: z.string(),
    resourceType: z.string(),
    resourceId: z.string(),
    complianceType: z.enum(COMPLIANCE_TYPES),
    annotation: z.string(),
    ciId: z.number().nullable(),
    orderingAt: z.string(),
    invokedAt: z.string(),
    recordedAt: z.string(),
  })
  .openapi('EvaluationResult');
const AutomaticStatusSchema = z
  .object({
    state: z.enum(AUTOMATIC_STATES).openapi({
      description:
        'DUE (an execution is owed and about to be queued), QUEUED, AWAITING_APPROVAL, IN_PROGRESS, ATTEMPTS_EXHAUSTED (left alone until the resource changes or someone remediates it by hand), REFUSED (its last attempt failed in a way retrying cannot fix: left alone likewise), REJECTED (its last automatic execution was rejected), EXEMPT (a remediation exception)',
    }),
    attempts: z.number().int().openapi({ description: 'Automatic attempts made for the configuration now judged' }),
    maximumAttempts: z.number().int(),
    executionId: z.string().optional(),
    attempt: z.number().int().optional(),
    notBefore: z.string().optional(),
  })
  .openapi('AutomaticRemediationStatus', {
    description: "Where a NON_COMPLIANT result stands with its rule's automatic remediation (AUTO_EXECUTION rules only)",
  });
const ResultWithAutoSchema = ResultSchema.extend({ automaticRemediation: AutomaticStatusSchema.optional() }).openapi('EvaluationResultWithRemediation');
const TimelineSchema = ResultSchema.extend({ id: z.number(), previousComplianceType: z.string().nullable(), closed: z.boolean() }).openapi('TimelineEntry');
const PolicyDocs = z.object({
  prune: z
    .boolean()
    .optional()
    .openapi({ description: 'Delete rules, account groups and exceptions that came from policy files but are not in these documents' }),
  documents: list(z.object({ source: QueryText(), kind: Name(), body: z.record(z.string(), z.unknown()) }), LIMITS.policyDocuments).openapi({
    description: 'Policy documents, each with its kind and where it came from',
  }),
});
const PlanSchema = z
  .object({
    create: z.array(z.record(z.string(), z.unknown())),
    update: z.array(z.object({ name: z.string(), changes: z.array(z.unknown()), after: z.record(z.string(), z.unknown()) })),
    delete: z.array(z.string()),
    unchanged: z.array(z.string()),
    notDeclared: z.array(z.string()),
    exceptions: z
      .object({
        create: z.array(z.record(z.string(), z.unknown())),
        update: z.array(z.record(z.string(), z.unknown())),
        delete: z.array(z.record(z.string(), z.unknown())),
        unchanged: z.number(),
        notDeclared: z.array(z.record(z.string(), z.unknown())),
      })
      .openapi({ description: 'Remediation exceptions (kind: RemediationException)' }),
    accountGroups: z
      .object({
        create: z.array(z.record(z.string(), z.unknown())),
        update: z.array(z.object({ name: z.string(), changes: z.array(z.unknown()), after: z.record(z.string(), z.unknown()) })),
        delete: z.array(z.string()),
        unchanged: z.array(z.string()),
        notDeclared: z.array(z.string()),
      })
      .openapi({ description: 'Account groups (kind: AccountGroup), applied before the rules' }),
    organization: z
      .object({ changes: z.array(z.unknown()) })
      .nullable()
      .openapi({
        description: 'The organization (kind: Organization): changes to its delegated administrators and folders, applied first; null when not declared',
      }),
    automaticRemediation: z
      .array(
        z.object({
          rule: z.string(),
          queue: z.number().int().nullable().openapi({
            description:
              'Executions it would queue for what is NON_COMPLIANT now; null for a new rule or a changed scope, source or parameters (its evaluation after the apply decides)',
          }),
          exhausted: z.number().int().openapi({ description: 'Non-compliant resources whose automatic attempts are spent' }),
          exempt: z.number().int().openapi({ description: 'Non-compliant resources with a remediation exception' }),
          controls: z.object({ concurrency: z.number().int(), perMinute: z.number().int() }),
        }),
      )
      .openapi({ description: 'Rules whose automatic remediation (AUTO_EXECUTION) this turns on or changes' }),
  })
  .openapi('PolicyPlan');

const nameParam = z.object({ name: Name().openapi({ example: 'sg-disallow-risky-ports-for-all-ips' }) });

export function ruleRoutes(app: OpenAPIHono, deps: AppDeps) {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/rules',
      tags: ['rules'],
      summary: 'Rules with their compliance counts',
      responses: { 200: json(z.object({ items: z.array(RuleSchema) }), 'Rules') },
    }),
    async (c) => c.json({ items: withCounts(await deps.rules.list(), await deps.compliance.byRule()) }, 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/rules/{name}',
      tags: ['rules'],
      summary: 'One rule',
      request: { params: nameParam },
      responses: { 200: json(RuleSchema, 'The rule'), 404: errorResponses[404] },
    }),
    async (c) => {
      const rule = await deps.rules.get(c.req.valid('param').name);
      return c.json(withCounts([rule], await deps.compliance.byRule())[0]!, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/rules',
      tags: ['rules'],
      summary: 'Create a rule and evaluate it over its scope',
      request: { body: { required: true, content: { 'application/json': { schema: RuleBody } } } },
      responses: { 201: json(z.object({ rule: RuleSchema, evaluation: SummarySchema }), 'Created'), 400: errorResponses[400], 409: errorResponses[409] },
    }),
    async (c) => {
      const spec = validateRule(c.req.valid('json'));
      await deps.groups.checkRuleScope(spec);
      const missing = await ruleFunctionIssues(spec, deps.functions);
      if (missing.length) throw new RuleValidationError(spec.name, missing);
      const rule = await deps.rules.create(spec);
      const evaluation = await deps.evaluator.evaluateRules([rule.name]);
      return c.json({ rule: withCounts([rule], await deps.compliance.byRule())[0]!, evaluation }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/rules/{name}',
      tags: ['rules'],
      summary: 'Replace a rule (parameters are checked again) and re-evaluate it',
      request: { params: nameParam, body: { required: true, content: { 'application/json': { schema: RuleBody } } } },
      responses: { 200: json(z.object({ rule: RuleSchema, evaluation: SummarySchema }), 'Updated'), 400: errorResponses[400], 404: errorResponses[404] },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const body = c.req.valid('json');
      const spec = validateRule({ name, ...body });
      await deps.groups.checkRuleScope(spec);
      const missing = await ruleFunctionIssues(spec, deps.functions);
      if (missing.length) throw new RuleValidationError(spec.name, missing);
      const rule = await deps.rules.update(name, spec);
      const evaluation = await deps.evaluator.evaluateRules([rule.name]);
      return c.json({ rule: withCounts([rule], await deps.compliance.byRule())[0]!, evaluation }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/rules/{name}',
      tags: ['rules'],
      summary: 'Delete a rule and its results',
      request: { params: nameParam },
      responses: { 200: json(z.object({ deleted: z.string() }), 'Deleted'), 404: errorResponses[404] },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      await deps.rules.delete(name);
      return c.json({ deleted: name }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/managed-rules',
      tags: ['rules'],
      summary: 'The managed rule library, with parameter documentation',
      responses: {
        200: json(
          z.object({
            items: z.array(
              z.object({
                identifier: z.string(),
                aliases: z.array(z.string()),
                description: z.string(),
                resourceTypes: z.array(z.string()),
                defaultRiskLevel: z.number(),
                parameters: z.record(z.string(), z.unknown()),
              }),
            ),
          }),
          'Managed rules',
        ),
      },
    }),
    (c) =>
      c.json(
        {
          items: allManagedRules().map((m) => ({
            identifier: m.identifier,
            aliases: m.aliases ?? [],
            description: m.description,
            resourceTypes: m.resourceTypes,
            defaultRiskLevel: m.defaultRiskLevel,
            parameters: m.parameterDocs,
          })),
        },
        200,
      ),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/evaluations',
      tags: ['compliance'],
      summary: 'Re-evaluate now: one rule (or every rule), or one resource under every rule that covers it',
      request: {
        body: {
          required: false,
          content: {
            'application/json': {
              schema: z.object({
                rule: Name().optional(),
                resourceId: ResourceId().optional(),
                accountId: Id().optional(),
                regionId: Id().optional(),
                resourceType: Id().optional(),
              }),
            },
          },
        },
      },
      responses: { 200: json(SummarySchema, 'What the evaluation did'), 400: errorResponses[400], 404: errorResponses[404] },
    }),
    async (c) => {
      const body = (c.req.header('content-type') ?? '').includes('json') ? c.req.valid('json') : {};
      if (body.rule && body.resourceId) throw new ApiError(400, 'InvalidRequest', 'give a rule or a resource, not both');
      if (body.resourceId) {
        const r = await deps.inventory.resolve(body.resourceId, body);
        return c.json(await deps.evaluator.evaluateResource(r), 200);
      }
      if (body.rule) await deps.rules.get(body.rule); // 404 for an unknown rule
      return c.json(await deps.evaluator.evaluateRules(body.rule ? [body.rule] : undefined), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/compliance',
      tags: ['compliance'],
      summary: 'Current evaluation results, filtered by rule, resource, provider and compliance type',
      request: {
        query: LookupQuery.extend({
          rule: Name().optional(),
          provider: Id().optional().openapi({ description: 'Only results on resources of this provider (its name in confix.yaml: sandbox, aws, …)' }),
          resourceId: ResourceId().optional(),
          complianceType: z.enum(COMPLIANCE_TYPES).optional(),
          limit: z.coerce.number().int().min(1).max(10000).optional(),
        }),
      },
      responses: {
        200: json(z.object({ items: z.array(ResultWithAutoSchema), total: z.number() }), 'Results'),
        404: errorResponses[404],
        409: errorResponses[409],
      },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const rule = q.rule ? await deps.rules.get(q.rule) : undefined;
      const resource = q.resourceId ? await deps.inventory.resolve(q.resourceId, q) : undefined;
      const found = await deps.compliance.results({ ruleId: rule?.ruleId, resource, provider: q.provider, complianceType: q.complianceType, limit: q.limit });
      return c.json({ ...found, items: await withAutomaticStatus(deps, found.items) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/compliance/timeline',
      tags: ['compliance'],
      summary: 'Changes of results over time, newest first',
      request: {
        query: LookupQuery.extend({ rule: Name().optional(), resourceId: ResourceId().optional(), limit: z.coerce.number().int().min(1).max(1000).optional() }),
      },
      responses: { 200: json(z.object({ items: z.array(TimelineSchema) }), 'Timeline'), 404: errorResponses[404] },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const rule = q.rule ? await deps.rules.get(q.rule) : undefined;
      const resource = q.resourceId ? await deps.inventory.resolve(q.resourceId, q) : undefined;
      return c.json({ items: await deps.compliance.timeline({ ruleId: rule?.ruleId, resource, limit: q.limit }) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/compliance/summary',
      tags: ['compliance'],
      summary: 'Results of active rules by risk level, account and resource type',
      responses: { 200: json(z.record(z.string(), z.unknown()), 'Summary') },
    }),
    async (c) => c.json(await deps.compliance.summary(), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/policy/plan',
      tags: ['policy'],
      summary: 'What applying these policy documents would create, change and delete',
      request: { body: { required: true, content: { 'application/json': { schema: PolicyDocs } } } },
      responses: { 200: json(PlanSchema, 'The plan'), 400: errorResponses[400] },
    }),
    async (c) => {
      const body = c.req.valid('json');
      checkPolicySizes(body.documents);
      return c.json(await planPolicy({ ...deps, automatic: deps }, body.documents, { prune: body.prune }), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/policy/apply',
      tags: ['policy'],
      summary: 'Make the store match these policy documents, then evaluate the rules created or changed',
      request: { body: { required: true, content: { 'application/json': { schema: PolicyDocs } } } },
      responses: { 200: json(z.object({ plan: PlanSchema, evaluation: SummarySchema }), 'Applied'), 400: errorResponses[400] },
    }),
    async (c) => {
      const body = c.req.valid('json');
      checkPolicySizes(body.documents);
      const plan = await applyPolicy({ ...deps, automatic: deps }, body.documents, { prune: body.prune });
      await deps.evaluator.idle(); // changed groups' rules are evaluated again first
      const names = [...plan.create.map((s) => s.name), ...plan.update.map((u) => u.name)];
      const evaluation = names.length
        ? await deps.evaluator.evaluateRules(names)
        : { rules: 0, resources: 0, evaluations: 0, changed: 0, closed: 0, durationMs: 0 };
      return c.json({ plan, evaluation }, 200);
    },
  );
}
