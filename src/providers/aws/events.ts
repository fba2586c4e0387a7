/**
 * CloudTrail management events, as an EventBridge rule delivers them to an
 * SQS queue ("AWS API Call via CloudTrail"), mapped to the resources they
 * touched. One table says, for every API call confix follows, which resource
 * type it changes and where in the event the ids are. The recorder describes
 * those resources; the event's own content is never trusted as their state.
 */
import type { ChangeType, ResourceChange } from '../types.js';
import { BUCKET, INSTANCE, SECURITY_GROUP, regionOfLocation } from './discovery.js';

/** The `detail` of an EventBridge CloudTrail event (a CloudTrail record). */
export interface CloudTrailDetail {
  eventSource?: string;
  eventName?: string;
  eventTime?: string;
  awsRegion?: string;
  recipientAccountId?: string;
  errorCode?: string;
  requestParameters?: Record<string, unknown> | null;
  responseElements?: Record<string, unknown> | null;
}

type Ids = (d: CloudTrailDetail) => unknown;

interface EventMapping {
  eventSource: 'ec2.amazonaws.com' | 's3.amazonaws.com';
  resourceType: string;
  changeType: ChangeType;
  /** The resource ids, from the request or the response. */
  ids: Ids;
  /** The region of the resource when it is not the event's awsRegion. */
  region?: (d: CloudTrailDetail) => string | undefined;
}

const at = (v: unknown, ...path: string[]): unknown => {
  let cur = v;
  for (const p of path) cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[p] : undefined;
  return cur;
};
/** The ids of a CloudTrail item set: {items: [{instanceId}, …]}. */
const items = (set: unknown, field: string): unknown[] => {
  const list = at(set, 'items');
  return Array.isArray(list) ? list.map((i) => at(i, field)) : [];
};

const request =
  (...path: string[]): Ids =>
  (d) =>
    at(d.requestParameters, ...path);
const response =
  (...path: string[]): Ids =>
  (d) =>
    at(d.responseElements, ...path);
// A rule change names the group by id (VPC groups); the response's rule set says it too.
const groupOfRule: Ids = (d) => at(d.requestParameters, 'groupId') ?? items(at(d.responseElements, 'securityGroupRuleSet'), 'groupId');
const requestedInstances: Ids = (d) => items(at(d.requestParameters, 'instancesSet'), 'instanceId');
const launchedInstances: Ids = (d) => items(at(d.responseElements, 'instancesSet'), 'instanceId');
const bucket = request('bucketName');

const ec2 = (resourceType: string, changeType: ChangeType, ids: Ids): EventMapping => ({ eventSource: 'ec2.amazonaws.com', resourceType, changeType, ids });
const s3 = (changeType: ChangeType, extra: Partial<EventMapping> = {}): EventMapping => ({
  eventSource: 's3.amazonaws.com',
  resourceType: BUCKET,
  changeType,
  ids: bucket,
  ...extra,
});

/** CloudTrail eventName → what it changed. */
export const CLOUDTRAIL_EVENTS: Record<string, EventMapping> = {
  AuthorizeSecurityGroupIngress: ec2(SECURITY_GROUP, 'update', groupOfRule),
  AuthorizeSecurityGroupEgress: ec2(SECURITY_GROUP, 'update', groupOfRule),
  RevokeSecurityGroupIngress: ec2(SECURITY_GROUP, 'update', groupOfRule),
  RevokeSecurityGroupEgress: ec2(SECURITY_GROUP, 'update', groupOfRule),
  UpdateSecurityGroupRuleDescriptionsIngress: ec2(SECURITY_GROUP, 'update', groupOfRule),
  UpdateSecurityGroupRuleDescriptionsEgress: ec2(SECURITY_GROUP, 'update', groupOfRule),
  ModifySecurityGroupRules: ec2(SECURITY_GROUP, 'update', request('ModifySecurityGroupRulesRequest', 'GroupId')),
  CreateSecurityGroup: ec2(SECURITY_GROUP, 'create', response('groupId')),
  DeleteSecurityGroup: ec2(SECURITY_GROUP, 'delete', request('groupId')),
  RunInstances: ec2(INSTANCE, 'create', launchedInstances),
  StartInstances: ec2(INSTANCE, 'update', requestedInstances),
  StopInstances: ec2(INSTANCE, 'update', requestedInstances),
  TerminateInstances: ec2(INSTANCE, 'delete', requestedInstances),
  MonitorInstances: ec2(INSTANCE, 'update', requestedInstances),
  UnmonitorInstances: ec2(INSTANCE, 'update', requestedInstances),
  ModifyInstanceAttribute: ec2(INSTANCE, 'update', request('instanceId')),
  ModifyInstanceMetadataOptions: ec2(INSTANCE, 'update', request('ModifyInstanceMetadataOptionsRequest', 'InstanceId')),
  AssociateIamInstanceProfile: ec2(INSTANCE, 'update', request('AssociateIamInstanceProfileRequest', 'InstanceId')),
  // Tags of either type: the id's prefix tells which (see mapDetail).
  CreateTags: ec2('', 'update', (d) => items(at(d.requestParameters, 'resourcesSet'), 'resourceId')),
  DeleteTags: ec2('', 'update', (d) => items(at(d.requestParameters, 'resourcesSet'), 'resourceId')),
  CreateBucket: s3('create', {
    region: (d) => {
      const c = at(d.requestParameters, 'CreateBucketConfiguration', 'LocationConstraint');
      return typeof c === 'string' && c ? regionOfLocation(c) : undefined;
    },
  }),
  DeleteBucket: s3('delete'),
  PutBucketAcl: s3('update'),
  // CloudTrail names PutPublicAccessBlock and DeletePublicAccessBlock by their IAM actions.
  PutBucketPublicAccessBlock: s3('update'),
  DeleteBucketPublicAccessBlock: s3('update'),
  PutBucketPolicy: s3('update'),
  DeleteBucketPolicy: s3('update'),
  PutBucketTagging: s3('update'),
  DeleteBucketTagging: s3('update'),
  PutBucketVersioning: s3('update'),
  PutBucketEncryption: s3('update'),
  DeleteBucketEncryption: s3('update'),
};

const TAGGED_TYPES: [prefix: string, type: string][] = [
  ['sg-', SECURITY_GROUP],
  ['i-', INSTANCE],
];

/** The EventBridge rule's event pattern that sends confix exactly the events it maps. */
export function eventBridgePattern(): Record<string, unknown> {
  const names = (source: string) =>
    Object.keys(CLOUDTRAIL_EVENTS)
      .filter((n) => CLOUDTRAIL_EVENTS[n]!.eventSource === source)
      .sort();
  return {
    source: ['aws.ec2', 'aws.s3'],
    'detail-type': ['AWS API Call via CloudTrail'],
    detail: { eventSource: ['ec2.amazonaws.com', 's3.amazonaws.com'], eventName: [...names('ec2.amazonaws.com'), ...names('s3.amazonaws.com')] },
  };
}

export type EventOutcome =
  | { outcome: 'mapped'; changes: ResourceChange[] }
  /** A call that failed (errorCode): it changed nothing. */
  | { outcome: 'ignored'; reason: string }
  | { outcome: 'unmapped'; reason: string };

const service = (eventSource: string | undefined) => (eventSource ?? '').replace(/\.amazonaws\.com$/, '') || 'unknown';

/** One CloudTrail record → the resources it touched. */
export function mapDetail(d: CloudTrailDetail, fallback: { accountId?: string; regionId?: string; time?: Date }): EventOutcome {
  const name = d.eventName;
  if (typeof name !== 'string' || !name) return { outcome: 'unmapped', reason: 'the event has no detail.eventName' };
  if (d.errorCode) return { outcome: 'ignored', reason: `${name} failed (${d.errorCode}): nothing changed` };
  const m = CLOUDTRAIL_EVENTS[name];
  if (!m || (d.eventSource && d.eventSource !== m.eventSource))
    return { outcome: 'unmapped', reason: `confix does not follow ${d.eventSource ?? 'an unknown source'} ${name}` };
  const accountId = d.recipientAccountId ?? fallback.accountId;
  const regionId = m.region?.(d) ?? d.awsRegion ?? fallback.regionId;
  if (!accountId || !regionId) return { outcome: 'unmapped', reason: `${name} names no account (detail.recipientAccountId) or region (detail.awsRegion)` };
  const raw = m.ids(d);
  const ids = [...new Set((Array.isArray(raw) ? raw : [raw]).filter((x): x is string => typeof x === 'string' && x !== ''))];
  const parsedTime = d.eventTime ? new Date(d.eventTime) : undefined;
  const changedAt = parsedTime && !Number.isNaN(parsedTime.getTime()) ? parsedTime : (fallback.time ?? new Date());
  const action = `${service(m.eventSource)}:${name}`;
  const changes: ResourceChange[] = [];
  for (const resourceId of ids) {
    const resourceType = m.resourceType || TAGGED_TYPES.find(([p]) => resourceId.startsWith(p))?.[1];
    if (!resourceType) continue;
    changes.push({ accountId, regionId, resourceType, resourceId, changeType: m.changeType, action, changedAt });
  }
  if (!changes.length) return { outcome: 'unmapped', reason: `${name} names no resource confix follows where the mapping looks for it` };
  return { outcome: 'mapped', changes };
}

/**
 * One SQS message body → the resources it touched: an EventBridge event (its
 * `detail` is the CloudTrail record), the same wrapped in an SNS
 * notification, a bare CloudTrail record, or CloudTrail's {Records: […]}.
 */
export function mapMessage(body: string, receivedAt: Date = new Date()): EventOutcome {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    return { outcome: 'unmapped', reason: 'the message is not JSON' };
  }
  if (at(v, 'Type') === 'Notification' && typeof at(v, 'Message') === 'string') return mapMessage(at(v, 'Message') as string, receivedAt);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { outcome: 'unmapped', reason: 'the message is not a JSON object' };
  const o = v as Record<string, unknown>;
  const eventTime = typeof o.time === 'string' ? new Date(o.time) : undefined;
  const fallback = {
    accountId: typeof o.account === 'string' ? o.account : undefined,
    regionId: typeof o.region === 'string' ? o.region : undefined,
    time: eventTime && !Number.isNaN(eventTime.getTime()) ? eventTime : receivedAt,
  };
  const details: CloudTrailDetail[] =
    o.detail && typeof o.detail === 'object'
      ? [o.detail as CloudTrailDetail]
      : Array.isArray(o.Records)
        ? (o.Records as CloudTrailDetail[])
        : typeof o.eventName === 'string'
          ? [o as CloudTrailDetail]
          : [];
  if (!details.length) return { outcome: 'unmapped', reason: 'the message is neither an EventBridge event with a detail nor a CloudTrail record' };
  const changes: ResourceChange[] = [];
  let last: EventOutcome | undefined;
  for (const d of details) {
    last = mapDetail(d && typeof d === 'object' ? d : {}, fallback);
    if (last.outcome === 'mapped') changes.push(...last.changes);
  }
  if (changes.length) return { outcome: 'mapped', changes };
  return last!;
}
