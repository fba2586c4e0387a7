/**
 * Builders of confix's native events (CloudEvents 1.0) from plain inputs: what
 * the evaluator emits as 'compliance-change' and what an execution row holds.
 * Pure: the same input always gives the same event, id included.
 *
 * Ids are UUIDs (version 5, SHA-1 over a confix namespace) of what happened:
 * - compliance: rule, resource key, previous and new compliance type (or
 *   closed), and the time the new result was recorded. The same change
 *   emitted or delivered twice has the same id; the same flip at another
 *   time is another event.
 * - remediation: kind (started/succeeded/failed), execution id and attempt.
 *   An execution taken up again after its worker's lease ran out "starts"
 *   again with the same id, so subscribers see one start.
 * Subscribers de-duplicate on (source, id) as CloudEvents says; the clouds'
 * formats carry ids derived from this one (see formats.ts).
 */
import { createHash } from 'node:crypto';
import {
  COMPLIANCE_CHANGED,
  COMPLIANCE_DATA_SCHEMA,
  REMEDIATION_DATA_SCHEMA,
  REMEDIATION_TYPES,
  type ComplianceEvent,
  type RemediationEvent,
  type RemediationEventKind,
  type ResourceRef,
  type RuleRef,
  type ExecutionRef,
} from './types.js';

type ComplianceTypeName = 'COMPLIANT' | 'NON_COMPLIANT' | 'NOT_APPLICABLE' | 'INSUFFICIENT_DATA';
type Time = Date | string;

interface ResourceKeyInput {
  accountId: string;
  regionId: string;
  resourceType: string;
  resourceId: string;
  resourceName?: string | null;
  /** The confix provider that governs it (sandbox, aws-prod, …): data.resource.provider. */
  provider?: string | null;
}

/**
 * A change of one result: structurally the evaluator's ComplianceChange, plus
 * what it may not know (the previous result's annotation and time, the
 * resource's name).
 */
export interface ComplianceChangeInput extends ResourceKeyInput {
  ruleId: string;
  ruleName: string;
  riskLevel: 1 | 2 | 3;
  previous: ComplianceTypeName | null;
  /** null: the result closed (resource deleted or out of the rule's scope). */
  current: ComplianceTypeName | null;
  annotation: string;
  ciId: number | null;
  recordedAt: Time;
  previousAnnotation?: string | null;
  previousRecordedAt?: Time | null;
}

/** What the events say of a rule; a Rule from the rule store fits. */
export interface EventRuleInput {
  ruleId: string;
  name: string;
  riskLevel: 1 | 2 | 3;
}

/** What the events say of an execution; an Execution from the execution store fits. */
export interface ExecutionInput extends ResourceKeyInput {
  executionId: string;
  ruleId: string;
  ruleName: string;
  action: string;
  status: ExecutionRef['status'];
  trigger: ExecutionRef['trigger'];
  dryRun: boolean;
  attempt: number;
  errorCode?: string | null;
  errorMessage?: string | null;
  createdAt: Time;
  startedAt?: Time | null;
  finishedAt?: Time | null;
}

/** The namespace of confix's event ids (a random v4 UUID fixed forever). */
const EVENT_NAMESPACE = '6f1c2b7e-4d0a-4b9e-9a55-3c8e0f7d2a61';

/** RFC 4122 version-5 UUID of `name` in `namespace`. */
export function uuidV5(name: string, namespace = EVENT_NAMESPACE): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const h = createHash('sha1').update(ns).update(name, 'utf8').digest().subarray(0, 16);
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

const iso = (t: Time): string => {
  const d = t instanceof Date ? t : new Date(t);
  if (Number.isNaN(d.getTime())) throw new Error(`not a time: ${String(t)}`);
  return d.toISOString();
};

/** The cloud whose conventions a resource type follows: aws, aliyun, or the type's prefix in lower case. */
export function cloudOf(resourceType: string): string {
  const prefix = resourceType.split('::')[0] ?? '';
  if (prefix === 'AWS') return 'aws';
  if (prefix === 'ACS' || prefix === 'ALIYUN') return 'aliyun';
  return prefix.toLowerCase() || 'unknown';
}

/**
 * confix://<cloud>/<accountId>/<regionId>: the cloud of the resource type
 * (the sandbox's AWS types are aws), whose conventions the clouds' formats
 * follow; which confix provider governs it is data.resource.provider.
 */
export function eventSource(k: ResourceKeyInput): string {
  return `confix://${encodeURIComponent(cloudOf(k.resourceType))}/${encodeURIComponent(k.accountId)}/${encodeURIComponent(k.regionId)}`;
}

function resourceRef(k: ResourceKeyInput): ResourceRef {
  const r: ResourceRef = { accountId: k.accountId, regionId: k.regionId, resourceType: k.resourceType, resourceId: k.resourceId };
  if (k.resourceName) r.resourceName = k.resourceName;
  if (k.provider) r.provider = k.provider;
  return r;
}

const keyParts = (k: ResourceKeyInput) => [k.accountId, k.regionId, k.resourceType, k.resourceId];

/** The native event of a changed result. `rule`, when given, supplies the rule's current name and risk level. */
export function complianceEvent(change: ComplianceChangeInput, rule?: EventRuleInput): ComplianceEvent {
  const recordedAt = iso(change.recordedAt);
  const ruleRef: RuleRef = { id: change.ruleId, name: rule?.name ?? change.ruleName, riskLevel: rule?.riskLevel ?? change.riskLevel };
  const closed = change.current === null;
  const id = uuidV5(['compliance', change.ruleId, ...keyParts(change), change.previous ?? '-', change.current ?? 'CLOSED', recordedAt].join('\u0000'));
  return {
    specversion: '1.0',
    id,
    source: eventSource(change),
    type: COMPLIANCE_CHANGED,
    subject: change.resourceId,
    time: recordedAt,
    datacontenttype: 'application/json',
    dataschema: COMPLIANCE_DATA_SCHEMA,
    data: {
      rule: ruleRef,
      resource: resourceRef(change),
      oldEvaluationResult:
        change.previous === null
          ? null
          : {
              complianceType: change.previous,
              annotation: change.previousAnnotation ?? null,
              evaluatedAt: change.previousRecordedAt ? iso(change.previousRecordedAt) : null,
            },
      newEvaluationResult: { complianceType: change.current ?? 'NOT_APPLICABLE', annotation: change.annotation, evaluatedAt: recordedAt },
      resultClosed: closed,
      configurationItemId: change.ciId,
    },
  };
}

/**
 * The native event of an execution that started (IN_PROGRESS), succeeded or
 * failed. Its time: when it started, or finished (falling back to earlier times).
 */
export function remediationEvent(kind: RemediationEventKind, execution: ExecutionInput, rule: EventRuleInput): RemediationEvent {
  if (rule.ruleId !== execution.ruleId) throw new Error(`execution ${execution.executionId} is of rule ${execution.ruleId}, not ${rule.ruleId}`);
  const type = REMEDIATION_TYPES[kind];
  if (!type) throw new Error(`unknown remediation event kind: ${String(kind)}`);
  const e = execution;
  const time = iso((kind === 'started' ? e.startedAt : (e.finishedAt ?? e.startedAt)) ?? e.createdAt);
  const ex: ExecutionRef = {
    id: e.executionId,
    status: e.status,
    trigger: e.trigger,
    attempt: e.attempt,
    action: e.action,
    dryRun: e.dryRun,
    createdAt: iso(e.createdAt),
  };
  if (e.errorCode) ex.errorCode = e.errorCode;
  if (e.errorMessage) ex.errorMessage = e.errorMessage;
  if (e.startedAt) ex.startedAt = iso(e.startedAt);
  if (e.finishedAt) ex.finishedAt = iso(e.finishedAt);
  return {
    specversion: '1.0',
    id: uuidV5(['remediation', kind, e.executionId, String(e.attempt)].join('\u0000')),
    source: eventSource(e),
    type,
    subject: e.resourceId,
    time,
    datacontenttype: 'application/json',
    dataschema: REMEDIATION_DATA_SCHEMA,
    data: {
      execution: ex,
      rule: { id: e.ruleId, name: rule.name, riskLevel: rule.riskLevel },
      resource: resourceRef(e),
    },
  };
}
