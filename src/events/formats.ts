/**
 * Native events in the clouds' own shapes, so handlers written for AWS Config
 * + EventBridge (seed 002) or Alibaba Cloud Config + Message Service (seed
 * 001) run unchanged. Every function here is pure: the same event and
 * options give the same body (ids and times come from the event, never from
 * the clock), so a redelivery is byte for byte the first delivery.
 *
 * Formats:
 * - 'native': the CloudEvents 1.0 document itself (structured JSON).
 * - 'eventbridge': compliance changes as AWS Config's "Config Rules
 *   Compliance Change" event, field for field as seed 002 shows it;
 *   remediation events as "Config Remediation Execution Status Change", a
 *   shape of confix's own in the same style (AWS Config has no such event;
 *   see `eventBridgeRemediation`).
 * - 'mns': a Message Service topic notification whose Message is the
 *   base64-encoded Cloud Config non-compliance notification (what seed 001's
 *   function decodes), in MNS's JSON notification envelope, or with
 *   `mns.envelope: 'simplified'` the bare base64 message (MNS's SIMPLIFIED
 *   push format; Function Compute's MNS trigger with the STREAM event format
 *   hands this to the handler, which is what seed 001's code expects when it
 *   calls base64.b64decode(event)).
 */
import { createHash } from 'node:crypto';
import { isComplianceEvent, type ComplianceEvent, type ConfixEvent, type RemediationEvent, type EvaluationResultData } from './types.js';
import { cloudOf } from './build.js';

export type EventFormat = 'native' | 'eventbridge' | 'mns';
export const EVENT_FORMATS: EventFormat[] = ['native', 'eventbridge', 'mns'];

export interface MnsOptions {
  /** The topic owner's account id; default: the event's account. */
  topicOwner?: string;
  /** Default 'confix-default'. */
  topicName?: string;
  /** The subscriber's account id; default: the topic owner. */
  subscriber?: string;
  /** Default 'default'. */
  subscriptionName?: string;
  /** MessageTag, when the subscription's messages carry one. */
  messageTag?: string;
  /** 'json' (default): the JSON notification envelope; 'simplified': the bare base64 message. */
  envelope?: 'json' | 'simplified';
}

export interface FormatOptions {
  mns?: MnsOptions;
}

// ---------------------------------------------------------------- helpers

const ms = (t: string) => new Date(t).getTime();
/** EventBridge's top-level `time`: RFC 3339 to the second ("2019-04-08T08:48:05Z"). */
const toSecond = (t: string) => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');

function cloud(e: ConfixEvent): string {
  const m = /^confix:\/\/([^/]+)\//.exec(e.source);
  return m ? decodeURIComponent(m[1]!) : cloudOf(e.data.resource.resourceType);
}

/** The rule's ARN in the way the resource's cloud writes it. */
export function configRuleArn(e: ConfixEvent): string {
  const { accountId, regionId } = e.data.resource;
  return cloud(e) === 'aliyun' ? `acs:config::${accountId}:rule/${e.data.rule.id}` : `arn:aws:config:${regionId}:${accountId}:config-rule/${e.data.rule.id}`;
}

const RISK_NAMES = { 1: 'Critical', 2: 'Warning', 3: 'Info' } as const;

// ---------------------------------------------------------------- EventBridge

export interface EventBridgeEvaluationResult {
  evaluationResultIdentifier: {
    evaluationResultQualifier: { configRuleName: string; resourceType: string; resourceId: string };
    orderingTimestamp?: string;
  };
  complianceType: string;
  resultRecordedTime?: string;
  configRuleInvokedTime?: string;
  annotation?: string;
}

export interface EventBridgeEvent<D = Record<string, unknown>> {
  version: '0';
  id: string;
  'detail-type': string;
  source: 'aws.config';
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: D;
}

/** The rule and resource fields every confix EventBridge detail starts with, in AWS's order. */
interface DetailHead {
  resourceId: string;
  awsRegion: string;
  awsAccountId: string;
  configRuleName: string;
  recordVersion: '1.0';
  configRuleARN: string;
}

function detailHead(e: ConfixEvent): DetailHead {
  const { resource, rule } = e.data;
  return {
    resourceId: resource.resourceId,
    awsRegion: resource.regionId,
    awsAccountId: resource.accountId,
    configRuleName: rule.name,
    recordVersion: '1.0',
    configRuleARN: configRuleArn(e),
  };
}

export interface ComplianceChangeDetail extends DetailHead {
  messageType: 'ComplianceChangeNotification';
  newEvaluationResult: EventBridgeEvaluationResult;
  oldEvaluationResult?: EventBridgeEvaluationResult;
  notificationCreationTime: string;
  resourceType: string;
}

function ebResult(e: ComplianceEvent, r: EvaluationResultData): EventBridgeEvaluationResult {
  const { resource, rule } = e.data;
  const out: EventBridgeEvaluationResult = {
    evaluationResultIdentifier: {
      evaluationResultQualifier: { configRuleName: rule.name, resourceType: resource.resourceType, resourceId: resource.resourceId },
    },
    complianceType: r.complianceType,
  };
  // confix records one time per result: it is the ordering, recorded and invoked time alike.
  if (r.evaluatedAt) {
    out.evaluationResultIdentifier.orderingTimestamp = r.evaluatedAt;
    out.resultRecordedTime = r.evaluatedAt;
    out.configRuleInvokedTime = r.evaluatedAt;
  }
  if (r.annotation) out.annotation = r.annotation;
  return out;
}

/**
 * AWS Config's "Config Rules Compliance Change", as seed 002's event.json
 * (same keys, same order). `oldEvaluationResult` is left out when there was
 * no previous result, as in the seed; `resources` is empty, as AWS sends it.
 * The EventBridge id is the native id (a UUID already).
 */
export function eventBridgeCompliance(e: ComplianceEvent): EventBridgeEvent<ComplianceChangeDetail> {
  const old = e.data.oldEvaluationResult;
  const detail: ComplianceChangeDetail = {
    ...detailHead(e),
    messageType: 'ComplianceChangeNotification',
    newEvaluationResult: ebResult(e, e.data.newEvaluationResult),
    ...(old ? { oldEvaluationResult: ebResult(e, old) } : {}),
    notificationCreationTime: e.time,
    resourceType: e.data.resource.resourceType,
  };
  return envelope(e, 'Config Rules Compliance Change', detail);
}

/**
 * confix's remediation event in EventBridge style ("Config Remediation
 * Execution Status Change"; AWS Config itself emits none). The detail
 * shares the compliance event's resource and rule fields, so one pattern on
 * `detail.configRuleName` selects both, and names the execution's state as
 * AWS's RemediationExecutionStatus does (QUEUED, IN_PROGRESS, SUCCEEDED,
 * FAILED; confix adds CANCELLED and AWAITING_APPROVAL):
 *
 *   detail: { resourceId, awsRegion, awsAccountId, configRuleName,
 *     recordVersion: "1.0", configRuleARN,
 *     messageType: "RemediationExecutionStatusChangeNotification",
 *     remediationExecutionStatus: { executionId, state, trigger, attempt,
 *       targetId (the action), dryRun, invocationTime, lastUpdatedTime,
 *       errorCode?, errorMessage? },
 *     notificationCreationTime, resourceType }
 */
export interface RemediationStatusDetail extends DetailHead {
  messageType: 'RemediationExecutionStatusChangeNotification';
  remediationExecutionStatus: {
    executionId: string;
    state: string;
    trigger: string;
    attempt: number;
    targetId: string;
    dryRun: boolean;
    invocationTime: string;
    lastUpdatedTime: string;
    errorCode?: string;
    errorMessage?: string;
  };
  notificationCreationTime: string;
  resourceType: string;
}

export function eventBridgeRemediation(e: RemediationEvent): EventBridgeEvent<RemediationStatusDetail> {
  const { resource, execution: x } = e.data;
  const status: RemediationStatusDetail['remediationExecutionStatus'] = {
    executionId: x.id,
    state: x.status,
    trigger: x.trigger,
    attempt: x.attempt,
    targetId: x.action,
    dryRun: x.dryRun,
    invocationTime: x.startedAt ?? x.createdAt ?? e.time,
    lastUpdatedTime: e.time,
  };
  if (x.errorCode) status.errorCode = x.errorCode;
  if (x.errorMessage) status.errorMessage = x.errorMessage;
  return envelope(e, 'Config Remediation Execution Status Change', {
    ...detailHead(e),
    messageType: 'RemediationExecutionStatusChangeNotification',
    remediationExecutionStatus: status,
    notificationCreationTime: e.time,
    resourceType: resource.resourceType,
  });
}

function envelope<D>(e: ConfixEvent, detailType: string, detail: D): EventBridgeEvent<D> {
  return {
    version: '0',
    id: e.id,
    'detail-type': detailType,
    source: 'aws.config',
    account: e.data.resource.accountId,
    time: toSecond(e.time),
    region: e.data.resource.regionId,
    resources: [],
    detail,
  };
}

export function toEventBridge(e: ConfixEvent): EventBridgeEvent {
  return (isComplianceEvent(e) ? eventBridgeCompliance(e) : eventBridgeRemediation(e)) as unknown as EventBridgeEvent;
}

// ---------------------------------------------------------------- Message Service

/**
 * The Cloud Config notification of a compliance change, as Alibaba Cloud
 * documents its "resource non-compliance event" delivered to MNS. Times are
 * epoch milliseconds, riskLevel a word, accountId and resourceOwnerId
 * strings (newer documents write them as strings; 16-digit ids need it).
 *
 * Inferred (not in Alibaba's documents): for a change to anything but
 * NON_COMPLIANT, eventName "ComplianceChange" and dataType
 * "ComplianceChangeNotification" (Cloud Config sends only non-compliance
 * to MNS; the subscription's filter decides whether others go out);
 * oldComplianceType and resultClosed are confix's additions;
 * invokingEventMessageType is left out (confix does not record what
 * triggered an evaluation).
 */
export interface MnsComplianceMessage {
  annotation: string;
  riskLevel: 'Critical' | 'Warning' | 'Info';
  dataType: 'NonCompliantNotification' | 'ComplianceChangeNotification';
  evaluationResultIdentifier: {
    orderingTimestamp: number;
    evaluationResultQualifier: {
      resourceId: string;
      configRuleName: string;
      configRuleId: string;
      captureTime: number;
      resourceName?: string;
      configRuleArn: string;
      regionId: string;
      resourceOwnerId: string;
      resourceType: string;
    };
  };
  eventType: 'ResourceCompliance';
  complianceType: string;
  oldComplianceType: string | null;
  resultClosed: boolean;
  accountId: string;
  requestId: string;
  eventName: 'NonCompliant' | 'ComplianceChange';
  resultRecordedTimestamp: number;
  configRuleInvokedTimestamp: number;
  notificationCreationTime: number;
}

export function mnsComplianceMessage(e: ComplianceEvent): MnsComplianceMessage {
  const { resource, rule, newEvaluationResult: nr, oldEvaluationResult: or } = e.data;
  const at = ms(nr.evaluatedAt ?? e.time);
  const nonCompliant = nr.complianceType === 'NON_COMPLIANT';
  const qualifier: MnsComplianceMessage['evaluationResultIdentifier']['evaluationResultQualifier'] = {
    resourceId: resource.resourceId,
    configRuleName: rule.name,
    configRuleId: rule.id,
    captureTime: at,
    configRuleArn: configRuleArn(e),
    regionId: resource.regionId,
    resourceOwnerId: resource.accountId,
    resourceType: resource.resourceType,
  };
  if (resource.resourceName) qualifier.resourceName = resource.resourceName;
  return {
    annotation: nr.annotation ?? '',
    riskLevel: RISK_NAMES[rule.riskLevel],
    dataType: nonCompliant ? 'NonCompliantNotification' : 'ComplianceChangeNotification',
    evaluationResultIdentifier: { orderingTimestamp: at, evaluationResultQualifier: qualifier },
    eventType: 'ResourceCompliance',
    complianceType: nr.complianceType,
    oldComplianceType: or?.complianceType ?? null,
    resultClosed: e.data.resultClosed,
    accountId: resource.accountId,
    requestId: e.id,
    eventName: nonCompliant ? 'NonCompliant' : 'ComplianceChange',
    resultRecordedTimestamp: at,
    configRuleInvokedTimestamp: at,
    notificationCreationTime: ms(e.time),
  };
}

/**
 * confix's remediation notification for MNS (Cloud Config has none): same
 * style, eventType "ResourceRemediation". It deliberately has no
 * evaluationResultIdentifier, so a handler written for non-compliance
 * notifications (seed 001's) ignores it instead of acting on it.
 */
export interface MnsRemediationMessage {
  dataType: 'RemediationNotification';
  eventType: 'ResourceRemediation';
  eventName: 'RemediationStarted' | 'RemediationSucceeded' | 'RemediationFailed';
  riskLevel: 'Critical' | 'Warning' | 'Info';
  accountId: string;
  regionId: string;
  resourceId: string;
  resourceType: string;
  resourceName?: string;
  configRuleId: string;
  configRuleName: string;
  configRuleArn: string;
  remediationExecution: {
    executionId: string;
    status: string;
    trigger: string;
    attempt: number;
    action: string;
    dryRun: boolean;
    errorCode?: string;
    errorMessage?: string;
  };
  requestId: string;
  notificationCreationTime: number;
}

const REMEDIATION_EVENT_NAMES = {
  'io.confix.remediation.started.v1': 'RemediationStarted',
  'io.confix.remediation.succeeded.v1': 'RemediationSucceeded',
  'io.confix.remediation.failed.v1': 'RemediationFailed',
} as const;

export function mnsRemediationMessage(e: RemediationEvent): MnsRemediationMessage {
  const { resource, rule, execution: x } = e.data;
  const execution: MnsRemediationMessage['remediationExecution'] = {
    executionId: x.id,
    status: x.status,
    trigger: x.trigger,
    attempt: x.attempt,
    action: x.action,
    dryRun: x.dryRun,
  };
  if (x.errorCode) execution.errorCode = x.errorCode;
  if (x.errorMessage) execution.errorMessage = x.errorMessage;
  const out: MnsRemediationMessage = {
    dataType: 'RemediationNotification',
    eventType: 'ResourceRemediation',
    eventName: REMEDIATION_EVENT_NAMES[e.type],
    riskLevel: RISK_NAMES[rule.riskLevel],
    accountId: resource.accountId,
    regionId: resource.regionId,
    resourceId: resource.resourceId,
    resourceType: resource.resourceType,
    configRuleId: rule.id,
    configRuleName: rule.name,
    configRuleArn: configRuleArn(e),
    remediationExecution: execution,
    requestId: e.id,
    notificationCreationTime: ms(e.time),
  };
  if (resource.resourceName) out.resourceName = resource.resourceName;
  return out;
}

/** The Cloud Config notification an MNS delivery carries (before base64). */
export function mnsMessage(e: ConfixEvent): MnsComplianceMessage | MnsRemediationMessage {
  return isComplianceEvent(e) ? mnsComplianceMessage(e) : mnsRemediationMessage(e);
}

/**
 * MNS's JSON notification body (NotifyContentFormat=JSON): the message
 * attributes and the message. PublishTime is a string of epoch
 * milliseconds, MessageMD5 the upper-case hex MD5 of Message, as MNS's
 * documented examples show. Inferred: MessageId's form (MNS's are like
 * "6CC4D900CA59A2CD-1-15180534A8F-20000****"; confix derives one of that
 * form from the event id, so a redelivery keeps it).
 */
export interface MnsNotification {
  TopicOwner: string;
  TopicName: string;
  Subscriber: string;
  SubscriptionName: string;
  MessageId: string;
  Message: string;
  MessageMD5: string;
  MessageTag?: string;
  PublishTime: string;
}

/** The base64 message body: what seed 001's handler passes to base64.b64decode. */
export function mnsMessageBody(e: ConfixEvent): string {
  return Buffer.from(JSON.stringify(mnsMessage(e)), 'utf8').toString('base64');
}

export function mnsMessageId(e: ConfixEvent): string {
  const h = createHash('sha256').update(e.id).digest('hex').toUpperCase();
  return `${h.slice(0, 16)}-1-${ms(e.time).toString(16).toUpperCase()}-${h.slice(16, 21)}`;
}

export function toMns(e: ConfixEvent, opts: MnsOptions = {}): MnsNotification | string {
  const body = mnsMessageBody(e);
  if (opts.envelope === 'simplified') return body;
  const owner = opts.topicOwner ?? e.data.resource.accountId;
  const n: MnsNotification = {
    TopicOwner: owner,
    TopicName: opts.topicName ?? 'confix-default',
    Subscriber: opts.subscriber ?? owner,
    SubscriptionName: opts.subscriptionName ?? 'default',
    MessageId: mnsMessageId(e),
    Message: body,
    MessageMD5: createHash('md5').update(body, 'utf8').digest('hex').toUpperCase(),
    ...(opts.messageTag !== undefined ? { MessageTag: opts.messageTag } : {}),
    PublishTime: String(ms(e.time)),
  };
  return n;
}

// ---------------------------------------------------------------- dispatch

/** The JSON body delivered to a subscription of the given format. */
export function formatEvent(event: ConfixEvent, format: EventFormat, opts: FormatOptions = {}): unknown {
  switch (format) {
    case 'native':
      return event;
    case 'eventbridge':
      return toEventBridge(event);
    case 'mns':
      return toMns(event, opts.mns);
    default:
      throw new Error(`unknown event format: ${String(format)} (one of ${EVENT_FORMATS.join(', ')})`);
  }
}

/**
 * What a subscription's event pattern is matched against: the event in the
 * subscription's format, so a pattern written for that cloud works as it
 * does there ({"source":["aws.config"],"detail-type":[…],"detail":{…}} for
 * EventBridge). For 'mns' it is the Cloud Config notification inside the
 * message (decoded), since the envelope holds nothing but base64 and
 * delivery attributes: {"complianceType":["NON_COMPLIANT"],
 * "evaluationResultIdentifier":{"evaluationResultQualifier":{"configRuleName":[…]}}}.
 */
export function patternTarget(event: ConfixEvent, format: EventFormat): unknown {
  switch (format) {
    case 'native':
      return event;
    case 'eventbridge':
      return toEventBridge(event);
    case 'mns':
      return mnsMessage(event);
    default:
      throw new Error(`unknown event format: ${String(format)} (one of ${EVENT_FORMATS.join(', ')})`);
  }
}
