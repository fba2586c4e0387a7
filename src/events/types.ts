/**
 * confix's native events: CloudEvents 1.0 JSON documents (structured mode)
 * whose `data` follows a documented, versioned schema. The zod schemas here
 * are that documentation; `EVENT_DATA_JSON_SCHEMAS` is the same as JSON Schema
 * (draft 2020-12), keyed by the URI each event names in `dataschema`.
 *
 * A data schema only grows compatibly within a version (new optional fields);
 * anything else is a new type and schema (`….v2`).
 */
import { z } from 'zod';
import { COMPLIANCE_TYPES } from '../rules/types.js';
import { EXECUTION_STATUSES, EXECUTION_TRIGGERS } from '../remediation/statuses.js';

export const COMPLIANCE_CHANGED = 'io.confix.compliance.changed.v1';
export const REMEDIATION_STARTED = 'io.confix.remediation.started.v1';
export const REMEDIATION_SUCCEEDED = 'io.confix.remediation.succeeded.v1';
export const REMEDIATION_FAILED = 'io.confix.remediation.failed.v1';

export type RemediationEventKind = 'started' | 'succeeded' | 'failed';
export const REMEDIATION_TYPES: Record<RemediationEventKind, RemediationEventType> = {
  started: REMEDIATION_STARTED,
  succeeded: REMEDIATION_SUCCEEDED,
  failed: REMEDIATION_FAILED,
};

export type ComplianceEventType = typeof COMPLIANCE_CHANGED;
export type RemediationEventType = typeof REMEDIATION_STARTED | typeof REMEDIATION_SUCCEEDED | typeof REMEDIATION_FAILED;
export type EventType = ComplianceEventType | RemediationEventType;
export const EVENT_TYPES: EventType[] = [COMPLIANCE_CHANGED, REMEDIATION_STARTED, REMEDIATION_SUCCEEDED, REMEDIATION_FAILED];

/** `dataschema` of each event: versioned URNs (absolute URIs, no network needed to name them). */
export const COMPLIANCE_DATA_SCHEMA = 'urn:confix:schema:events:compliance.changed:v1';
export const REMEDIATION_DATA_SCHEMA = 'urn:confix:schema:events:remediation:v1';

const complianceType = z.enum(COMPLIANCE_TYPES);

export const ruleRefSchema = z
  .object({
    id: z.string().min(1).describe("The rule's id (cr-…)."),
    name: z.string().min(1).describe("The rule's name."),
    riskLevel: z.union([z.literal(1), z.literal(2), z.literal(3)]).describe('1 critical, 2 warning, 3 info.'),
  })
  .describe('The rule that judged the resource.');

export const resourceRefSchema = z
  .object({
    accountId: z.string().min(1),
    regionId: z.string().min(1),
    resourceType: z.string().min(1).describe('Spelled like the clouds do: ACS::OSS::Bucket, AWS::EC2::Instance, …'),
    resourceId: z.string().min(1),
    resourceName: z.string().optional(),
    provider: z.string().optional().describe('The confix provider that governs it (sandbox, or an AWS entry of the configuration such as aws-prod).'),
  })
  .describe('The resource, keyed by (accountId, regionId, resourceType, resourceId).');

export const evaluationResultSchema = z.object({
  complianceType,
  /** Why, for people. May be null on an old result when the previous annotation was not kept. */
  annotation: z.string().nullable(),
  /** ISO 8601; null on an old result when its time was not kept. */
  evaluatedAt: z.string().nullable(),
});

export const complianceChangedDataSchema = z
  .object({
    rule: ruleRefSchema,
    resource: resourceRefSchema,
    oldEvaluationResult: evaluationResultSchema.nullable().describe('null on the first result of a rule for a resource.'),
    newEvaluationResult: evaluationResultSchema,
    /**
     * true when the result closed (the resource was deleted or left the
     * rule's scope); newEvaluationResult is then NOT_APPLICABLE, as the
     * timeline records it.
     */
    resultClosed: z.boolean(),
    configurationItemId: z.number().int().nullable().describe('The configuration item judged, if any.'),
  })
  .meta({ $id: COMPLIANCE_DATA_SCHEMA, title: `data of ${COMPLIANCE_CHANGED}` });

export const executionRefSchema = z.object({
  id: z.string().min(1).describe('The execution id (rx-…).'),
  status: z.enum(EXECUTION_STATUSES),
  trigger: z.enum(EXECUTION_TRIGGERS),
  attempt: z.number().int().min(1),
  action: z.string().describe('The remediation action template or function.'),
  dryRun: z.boolean(),
  errorCode: z.string().optional(),
  errorMessage: z.string().optional(),
  createdAt: z.string().optional(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
});

export const remediationDataSchema = z
  .object({
    execution: executionRefSchema,
    rule: ruleRefSchema,
    resource: resourceRefSchema,
  })
  .meta({ $id: REMEDIATION_DATA_SCHEMA, title: `data of ${REMEDIATION_STARTED}, ${REMEDIATION_SUCCEEDED} and ${REMEDIATION_FAILED}` });

export type RuleRef = z.infer<typeof ruleRefSchema>;
export type ResourceRef = z.infer<typeof resourceRefSchema>;
export type EvaluationResultData = z.infer<typeof evaluationResultSchema>;
export type ComplianceChangedData = z.infer<typeof complianceChangedDataSchema>;
export type ExecutionRef = z.infer<typeof executionRefSchema>;
export type RemediationData = z.infer<typeof remediationDataSchema>;

/** The CloudEvents 1.0 context attributes confix sets on every event. */
interface CloudEventBase {
  specversion: '1.0';
  /** Stable for one occurrence: a redelivery carries the same id (de-duplicate on source + id). */
  id: string;
  /** confix://<cloud>/<accountId>/<regionId>, the cloud being aws or aliyun (see build.ts eventSource). */
  source: string;
  subject: string;
  /** RFC 3339 */
  time: string;
  datacontenttype: 'application/json';
  dataschema: string;
}

export interface ComplianceEvent extends CloudEventBase {
  type: ComplianceEventType;
  data: ComplianceChangedData;
}

export interface RemediationEvent extends CloudEventBase {
  type: RemediationEventType;
  data: RemediationData;
}

export type ConfixEvent = ComplianceEvent | RemediationEvent;

export const isComplianceEvent = (e: ConfixEvent): e is ComplianceEvent => e.type === COMPLIANCE_CHANGED;

/** The CloudEvents envelope itself, for validating events read back from storage or the wire. */
export const cloudEventSchema = z.object({
  specversion: z.literal('1.0'),
  id: z.string().min(1),
  source: z.string().min(1),
  type: z.enum(EVENT_TYPES as [EventType, ...EventType[]]),
  subject: z.string().min(1),
  time: z.iso.datetime({ offset: true }),
  datacontenttype: z.literal('application/json'),
  dataschema: z.string().min(1),
  data: z.union([complianceChangedDataSchema, remediationDataSchema]),
});

/** JSON Schemas of the `data` of each event, keyed by the `dataschema` URI the events carry. */
export const EVENT_DATA_JSON_SCHEMAS: Record<string, Record<string, unknown>> = {
  [COMPLIANCE_DATA_SCHEMA]: z.toJSONSchema(complianceChangedDataSchema, { io: 'input' }) as Record<string, unknown>,
  [REMEDIATION_DATA_SCHEMA]: z.toJSONSchema(remediationDataSchema, { io: 'input' }) as Record<string, unknown>,
};
