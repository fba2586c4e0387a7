import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { ComplianceChange } from '../../src/evaluation/evaluator.js';
import type { Execution } from '../../src/remediation/executions.js';
import type { Rule } from '../../src/rules/model.js';
import { complianceEvent, remediationEvent, uuidV5, type EventRuleInput } from '../../src/events/build.js';
import {
  cloudEventSchema,
  complianceChangedDataSchema,
  remediationDataSchema,
  EVENT_DATA_JSON_SCHEMAS,
  COMPLIANCE_CHANGED,
  REMEDIATION_FAILED,
  type ConfixEvent,
} from '../../src/events/types.js';
import { formatEvent, patternTarget, toMns, type MnsNotification, type EventBridgeEvent } from '../../src/events/formats.js';
import { matches } from '../../src/events/pattern.js';

// The plain inputs accept what the evaluator, the execution store and the rule store hold.
type Assignable<A, B> = A extends B ? true : false;
const ruleFits: Assignable<Rule, EventRuleInput> = true;
void ruleFits;

/** Seed 002's event.json, verbatim. */
const SEED_002 = {
  version: '0',
  id: '...',
  'detail-type': 'Config Rules Compliance Change',
  source: 'aws.config',
  account: '123456789012',
  time: '2019-04-08T08:48:05Z',
  region: 'eu-central-1',
  resources: [],
  detail: {
    resourceId: 'i-1234',
    awsRegion: 'eu-central-1',
    awsAccountId: '123456789012',
    configRuleName: 'approved-amis-by-id',
    recordVersion: '1.0',
    configRuleARN: 'arn:aws:config:eu-central-1:123456789012:config-rule/config-rule-ojehlw',
    messageType: 'ComplianceChangeNotification',
    newEvaluationResult: {
      evaluationResultIdentifier: {
        evaluationResultQualifier: { configRuleName: 'approved-amis-by-id', resourceType: 'AWS::EC2::Instance', resourceId: 'i-1234' },
        orderingTimestamp: '2019-04-08T08:47:45.767Z',
      },
      complianceType: 'NON_COMPLIANT',
      resultRecordedTime: '2019-04-08T08:48:05.184Z',
      configRuleInvokedTime: '2019-04-08T08:48:04.608Z',
    },
    notificationCreationTime: '2019-04-08T08:48:05.952Z',
    resourceType: 'AWS::EC2::Instance',
  },
};

const AMI_RULE: EventRuleInput = { ruleId: 'config-rule-ojehlw', name: 'approved-amis-by-id', riskLevel: 2 };

function amiChange(over: Partial<ComplianceChange> = {}): ComplianceChange {
  return {
    accountId: '123456789012',
    regionId: 'eu-central-1',
    resourceType: 'AWS::EC2::Instance',
    resourceId: 'i-1234',
    ruleId: 'config-rule-ojehlw',
    ruleName: 'approved-amis-by-id',
    riskLevel: 2,
    previous: null,
    current: 'NON_COMPLIANT',
    annotation: 'ami-0bad is not one of the approved AMIs',
    ciId: 17,
    recordedAt: new Date('2019-04-08T08:48:05.184Z'),
    ...over,
  };
}

const OSS_RULE: EventRuleInput = { ruleId: 'cr-5f0e1d2c3b4a5968', name: 'test-oss-bucket-public-read-prohibited', riskLevel: 1 };

function ossChange(over: Partial<ComplianceChange> = {}): ComplianceChange {
  return {
    accountId: '1208863178610001',
    regionId: 'ap-southeast-1',
    resourceType: 'ACS::OSS::Bucket',
    resourceId: 'config-snapshot',
    ruleId: OSS_RULE.ruleId,
    ruleName: OSS_RULE.name,
    riskLevel: 1,
    previous: 'COMPLIANT',
    current: 'NON_COMPLIANT',
    annotation: 'the bucket ACL is public-read',
    ciId: 3,
    recordedAt: new Date('2024-05-01T10:00:00.123Z'),
    ...over,
  };
}

function execution(over: Partial<Execution> = {}): Execution {
  return {
    executionId: 'rx-00aa11bb22cc33dd',
    ruleId: AMI_RULE.ruleId,
    ruleRiskLevel: 2,
    provider: null,
    ruleName: AMI_RULE.name,
    accountId: '123456789012',
    regionId: 'eu-central-1',
    resourceType: 'AWS::EC2::Instance',
    resourceId: 'i-1234',
    action: 'AWS-StopEC2Instance',
    status: 'IN_PROGRESS',
    trigger: 'AUTOMATIC',
    dryRun: false,
    attempt: 1,
    notBefore: '2019-04-08T08:48:06.000Z',
    leaseOwner: 'w1',
    leaseExpiresAt: '2019-04-08T08:49:06.000Z',
    parameters: { InstanceId: 'i-1234' },
    steps: [],
    errorCode: null,
    errorMessage: null,
    retryable: null,
    priorState: null,
    rollbackOf: null,
    ciId: null,
    decidedBy: null,
    decidedAt: null,
    createdAt: '2019-04-08T08:48:06.000Z',
    startedAt: '2019-04-08T08:48:06.500Z',
    finishedAt: null,
    ...over,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Every key path of a JSON value, in document order (to compare shapes and key order). */
function keyPaths(v: unknown, base = ''): string[] {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return [];
  return Object.entries(v).flatMap(([k, x]) => [`${base}${k}`, ...keyPaths(x, `${base}${k}.`)]);
}

test('EventBridge: a compliance change has seed 002 event.json shape, field by field and in order', () => {
  const ev = complianceEvent(amiChange(), AMI_RULE);
  const eb = formatEvent(ev, 'eventbridge') as EventBridgeEvent & { detail: typeof SEED_002.detail & { newEvaluationResult: { annotation?: string } } };

  // The same keys in the same order; the only addition is the annotation AWS sends when a rule gives one.
  const ours = keyPaths(eb);
  const seed = keyPaths(SEED_002);
  assert.deepEqual(
    ours.filter((p) => p !== 'detail.newEvaluationResult.annotation'),
    seed,
  );
  assert.ok(ours.includes('detail.newEvaluationResult.annotation'));

  assert.equal(eb.version, '0');
  assert.match(eb.id, UUID);
  assert.equal(eb.id, ev.id);
  assert.equal(eb['detail-type'], 'Config Rules Compliance Change');
  assert.equal(eb.source, 'aws.config');
  assert.equal(eb.account, SEED_002.account);
  assert.equal(eb.time, SEED_002.time, 'top-level time to the second, as EventBridge writes it');
  assert.equal(eb.region, SEED_002.region);
  assert.deepEqual(eb.resources, []);

  const d = eb.detail;
  const s = SEED_002.detail;
  assert.equal(d.resourceId, s.resourceId);
  assert.equal(d.awsRegion, s.awsRegion);
  assert.equal(d.awsAccountId, s.awsAccountId);
  assert.equal(d.configRuleName, s.configRuleName);
  assert.equal(d.recordVersion, s.recordVersion);
  assert.equal(d.configRuleARN, s.configRuleARN);
  assert.equal(d.messageType, s.messageType);
  assert.equal(d.resourceType, s.resourceType);
  assert.deepEqual(
    d.newEvaluationResult.evaluationResultIdentifier.evaluationResultQualifier,
    s.newEvaluationResult.evaluationResultIdentifier.evaluationResultQualifier,
  );
  assert.equal(d.newEvaluationResult.complianceType, 'NON_COMPLIANT');
  assert.equal(d.newEvaluationResult.resultRecordedTime, s.newEvaluationResult.resultRecordedTime);
  assert.match(d.newEvaluationResult.evaluationResultIdentifier.orderingTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.match(d.newEvaluationResult.configRuleInvokedTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.match(d.notificationCreationTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(d.newEvaluationResult.annotation, 'ami-0bad is not one of the approved AMIs');
  assert.equal('oldEvaluationResult' in d, false, 'no previous result: left out, as in the seed');
});

test("EventBridge: seed 002's Lambda, ported line by line, starts the remediation it should", () => {
  // lambda_function.py
  const lambdaHandler = (event: any) => {
    const newEvaluationResult = event.detail.newEvaluationResult;
    if (newEvaluationResult.complianceType === 'NON_COMPLIANT') {
      const qualifier = newEvaluationResult.evaluationResultIdentifier.evaluationResultQualifier;
      return { ConfigRuleName: qualifier.configRuleName, ResourceKeys: [{ resourceType: qualifier.resourceType, resourceId: qualifier.resourceId }] };
    }
    return null;
  };
  // The seed's own event gives what our event gives.
  const expected = { ConfigRuleName: 'approved-amis-by-id', ResourceKeys: [{ resourceType: 'AWS::EC2::Instance', resourceId: 'i-1234' }] };
  assert.deepEqual(lambdaHandler(SEED_002), expected);
  assert.deepEqual(lambdaHandler(formatEvent(complianceEvent(amiChange(), AMI_RULE), 'eventbridge')), expected);
  // Back to COMPLIANT: nothing to do.
  assert.equal(lambdaHandler(formatEvent(complianceEvent(amiChange({ previous: 'NON_COMPLIANT', current: 'COMPLIANT' }), AMI_RULE), 'eventbridge')), null);
});

test('EventBridge: a previous result is carried as oldEvaluationResult, in the same structure, after the new one', () => {
  const ev = complianceEvent(amiChange({ previous: 'COMPLIANT', current: 'NON_COMPLIANT' }));
  const eb = formatEvent(ev, 'eventbridge') as EventBridgeEvent;
  const d = eb.detail as any;
  assert.deepEqual(Object.keys(d).slice(7), ['newEvaluationResult', 'oldEvaluationResult', 'notificationCreationTime', 'resourceType']);
  assert.equal(d.oldEvaluationResult.complianceType, 'COMPLIANT');
  assert.deepEqual(
    d.oldEvaluationResult.evaluationResultIdentifier.evaluationResultQualifier,
    d.newEvaluationResult.evaluationResultIdentifier.evaluationResultQualifier,
  );
  // Times unknown for the old result are left out rather than invented.
  assert.equal('resultRecordedTime' in d.oldEvaluationResult, false);

  const withTimes = complianceEvent({
    ...amiChange({ previous: 'COMPLIANT' }),
    previousAnnotation: 'approved',
    previousRecordedAt: '2019-04-01T00:00:00.000Z',
  });
  const old = (formatEvent(withTimes, 'eventbridge') as any).detail.oldEvaluationResult;
  assert.equal(old.resultRecordedTime, '2019-04-01T00:00:00.000Z');
  assert.equal(old.annotation, 'approved');
});

test('EventBridge: the AWS documentation pattern selects non-compliance, on the EventBridge shape', () => {
  const pattern = {
    source: ['aws.config'],
    'detail-type': ['Config Rules Compliance Change'],
    detail: { messageType: ['ComplianceChangeNotification'], newEvaluationResult: { complianceType: ['NON_COMPLIANT'] } },
  };
  const bad = complianceEvent(amiChange(), AMI_RULE);
  const good = complianceEvent(amiChange({ previous: 'NON_COMPLIANT', current: 'COMPLIANT' }), AMI_RULE);
  const fixed = remediationEvent('succeeded', execution({ status: 'SUCCEEDED', finishedAt: '2019-04-08T08:48:09.000Z' }), AMI_RULE);
  assert.equal(matches(pattern, patternTarget(bad, 'eventbridge')), true);
  assert.equal(matches(pattern, patternTarget(good, 'eventbridge')), false);
  assert.equal(matches(pattern, patternTarget(fixed, 'eventbridge')), false);
  assert.equal(matches(pattern, patternTarget(bad, 'native')), false, 'the native shape has no detail-type');
  assert.equal(
    matches({ type: [COMPLIANCE_CHANGED], data: { newEvaluationResult: { complianceType: ['NON_COMPLIANT'] } } }, patternTarget(bad, 'native')),
    true,
  );
});

test('EventBridge: remediation events say the execution state under the same resource and rule fields', () => {
  const failed = remediationEvent(
    'failed',
    execution({
      status: 'FAILED',
      attempt: 2,
      errorCode: 'InvalidInstanceState',
      errorMessage: 'instance is terminated',
      finishedAt: '2019-04-08T08:48:09.000Z',
    }),
    AMI_RULE,
  );
  const eb = formatEvent(failed, 'eventbridge') as any;
  assert.equal(eb['detail-type'], 'Config Remediation Execution Status Change');
  assert.equal(eb.source, 'aws.config');
  assert.equal(eb.time, '2019-04-08T08:48:09Z');
  assert.equal(eb.detail.configRuleName, 'approved-amis-by-id');
  assert.equal(eb.detail.resourceId, 'i-1234');
  assert.equal(eb.detail.messageType, 'RemediationExecutionStatusChangeNotification');
  assert.deepEqual(eb.detail.remediationExecutionStatus, {
    executionId: 'rx-00aa11bb22cc33dd',
    state: 'FAILED',
    trigger: 'AUTOMATIC',
    attempt: 2,
    targetId: 'AWS-StopEC2Instance',
    dryRun: false,
    invocationTime: '2019-04-08T08:48:06.500Z',
    lastUpdatedTime: '2019-04-08T08:48:09.000Z',
    errorCode: 'InvalidInstanceState',
    errorMessage: 'instance is terminated',
  });
  assert.equal(matches({ detail: { remediationExecutionStatus: { state: ['FAILED'] } } }, eb), true);
});

/**
 * Seed 001's oss_repair_acl_trigger handler, ported: decode base64, parse,
 * read the qualifier, compare the rule name with prepareRuleName, take the
 * bucket and region. Returns what it would remedy, or 'fail'.
 */
function seed001Handler(event: string, env: Record<string, string | undefined>): { region: string; bucket: string } | 'fail' {
  const IDENTIFIER = 'evaluationResultIdentifier';
  const QUALIFIER = 'evaluationResultQualifier';
  const RULE_NAME = 'configRuleName';
  const ENV_RULE_NAME = 'prepareRuleName';
  const RESOURCE_ID = 'resourceId';
  const REGION_ID = 'regionId';
  let decoded: string | null = null;
  if (event) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(event)) return 'fail'; // binascii.Error
    decoded = Buffer.from(event, 'base64').toString('utf8');
  }
  if (!decoded) return 'fail';
  const notify = JSON.parse(decoded);
  if (notify && IDENTIFIER in notify) {
    const identifier = notify[IDENTIFIER];
    if (QUALIFIER in identifier && RULE_NAME in identifier[QUALIFIER]) {
      const qualifier = identifier[QUALIFIER];
      const configRuleName = qualifier[RULE_NAME];
      if (configRuleName === env[ENV_RULE_NAME]) {
        if (RESOURCE_ID in qualifier && REGION_ID in qualifier) {
          const bucket = qualifier[RESOURCE_ID];
          const region = qualifier[REGION_ID];
          if (region && bucket) return { region, bucket };
        }
      }
    }
  }
  return 'fail';
}

const ENV = { prepareRuleName: 'test-oss-bucket-public-read-prohibited' };

test("MNS: the notification's base64 Message decodes to what seed 001's function reads", () => {
  const ev = complianceEvent({ ...ossChange(), resourceName: 'config-snapshot' }, OSS_RULE);
  const body = formatEvent(ev, 'mns', { mns: { topicName: 'MNSTestConfig', subscriptionName: 'ConfigRuleNonComplianceMNSTrigger' } }) as MnsNotification;

  assert.deepEqual(Object.keys(body), ['TopicOwner', 'TopicName', 'Subscriber', 'SubscriptionName', 'MessageId', 'Message', 'MessageMD5', 'PublishTime']);
  assert.equal(body.TopicName, 'MNSTestConfig');
  assert.equal(body.SubscriptionName, 'ConfigRuleNonComplianceMNSTrigger');
  assert.equal(body.TopicOwner, '1208863178610001');
  assert.equal(body.Subscriber, '1208863178610001');
  assert.equal(body.PublishTime, String(Date.parse('2024-05-01T10:00:00.123Z')));
  assert.equal(body.MessageMD5, createHash('md5').update(body.Message).digest('hex').toUpperCase());
  assert.match(body.MessageId, /^[0-9A-F]{16}-1-[0-9A-F]+-[0-9A-F]{5}$/);
  assert.match(body.Message, /^[A-Za-z0-9+/]+={0,2}$/);

  // The seed's function, on the message it is handed.
  assert.deepEqual(seed001Handler(body.Message, ENV), { region: 'ap-southeast-1', bucket: 'config-snapshot' });
  // Another rule's events are left alone, as the seed's environment check intends.
  assert.equal(seed001Handler(body.Message, { prepareRuleName: 'some-other-rule' }), 'fail');

  // The rest of Cloud Config's documented notification.
  const n = JSON.parse(Buffer.from(body.Message, 'base64').toString('utf8'));
  assert.equal(n.complianceType, 'NON_COMPLIANT');
  assert.equal(n.oldComplianceType, 'COMPLIANT');
  assert.equal(n.accountId, '1208863178610001');
  assert.equal(n.riskLevel, 'Critical');
  assert.equal(n.eventType, 'ResourceCompliance');
  assert.equal(n.eventName, 'NonCompliant');
  assert.equal(n.dataType, 'NonCompliantNotification');
  assert.equal(n.annotation, 'the bucket ACL is public-read');
  assert.equal(n.requestId, ev.id);
  assert.equal(n.evaluationResultIdentifier.orderingTimestamp, Date.parse('2024-05-01T10:00:00.123Z'));
  assert.deepEqual(n.evaluationResultIdentifier.evaluationResultQualifier, {
    resourceId: 'config-snapshot',
    configRuleName: 'test-oss-bucket-public-read-prohibited',
    configRuleId: 'cr-5f0e1d2c3b4a5968',
    captureTime: Date.parse('2024-05-01T10:00:00.123Z'),
    resourceName: 'config-snapshot',
    configRuleArn: 'acs:config::1208863178610001:rule/cr-5f0e1d2c3b4a5968',
    regionId: 'ap-southeast-1',
    resourceOwnerId: '1208863178610001',
    resourceType: 'ACS::OSS::Bucket',
  });
});

test('MNS: the simplified form is the bare base64 message, which the seed decodes as its event', () => {
  const ev = complianceEvent(ossChange(), OSS_RULE);
  const simplified = formatEvent(ev, 'mns', { mns: { envelope: 'simplified' } });
  assert.equal(typeof simplified, 'string');
  assert.equal(simplified, (toMns(ev) as MnsNotification).Message);
  assert.deepEqual(seed001Handler(simplified as string, ENV), { region: 'ap-southeast-1', bucket: 'config-snapshot' });
  // A message tag, when the subscription has one, sits before PublishTime as MNS writes it.
  const tagged = toMns(ev, { messageTag: 'config' }) as MnsNotification;
  assert.deepEqual(Object.keys(tagged).slice(-2), ['MessageTag', 'PublishTime']);
});

test('MNS: remediation notifications carry no evaluation result, so a non-compliance handler ignores them', () => {
  const started = remediationEvent(
    'started',
    execution({
      ruleId: OSS_RULE.ruleId,
      ruleName: OSS_RULE.name,
      accountId: '1208863178610001',
      regionId: 'ap-southeast-1',
      resourceType: 'ACS::OSS::Bucket',
      resourceId: 'config-snapshot',
      action: 'oss-bucket-acl-private',
    }),
    OSS_RULE,
  );
  const body = formatEvent(started, 'mns') as MnsNotification;
  assert.equal(seed001Handler(body.Message, ENV), 'fail');
  const n = JSON.parse(Buffer.from(body.Message, 'base64').toString('utf8'));
  assert.equal(n.eventType, 'ResourceRemediation');
  assert.equal(n.eventName, 'RemediationStarted');
  assert.equal(n.configRuleName, OSS_RULE.name);
  assert.equal(n.configRuleArn, 'acs:config::1208863178610001:rule/cr-5f0e1d2c3b4a5968');
  assert.equal(n.remediationExecution.executionId, 'rx-00aa11bb22cc33dd');
  assert.equal(n.remediationExecution.status, 'IN_PROGRESS');
});

test('MNS: a filter applies to the decoded notification, so seed 001 subscribes to its rule and non-compliance only', () => {
  const pattern = { complianceType: ['NON_COMPLIANT'], evaluationResultIdentifier: { evaluationResultQualifier: { configRuleName: [ENV.prepareRuleName] } } };
  assert.equal(matches(pattern, patternTarget(complianceEvent(ossChange(), OSS_RULE), 'mns')), true);
  assert.equal(matches(pattern, patternTarget(complianceEvent(ossChange({ previous: 'NON_COMPLIANT', current: 'COMPLIANT' }), OSS_RULE), 'mns')), false);
  assert.equal(matches(pattern, patternTarget(complianceEvent(ossChange({ ruleName: 'other' }), { ...OSS_RULE, name: 'other' }), 'mns')), false);
});

function checkCloudEvent(ev: ConfixEvent) {
  // Required context attributes (CloudEvents 1.0): non-empty strings.
  for (const attr of ['specversion', 'id', 'source', 'type'] as const) assert.ok(typeof ev[attr] === 'string' && ev[attr].length > 0, attr);
  assert.equal(ev.specversion, '1.0');
  assert.match(ev.id, UUID);
  assert.match(ev.source, /^confix:\/\/[a-z]+\/[^/]+\/[^/]+$/);
  assert.match(ev.type, /^io\.confix\.[a-z]+\.[a-z]+\.v1$/);
  // Optional ones confix always sets.
  assert.equal(ev.datacontenttype, 'application/json');
  assert.ok(ev.time.endsWith('Z') && !Number.isNaN(Date.parse(ev.time)));
  assert.equal(ev.subject, ev.data.resource.resourceId);
  assert.ok(EVENT_DATA_JSON_SCHEMAS[ev.dataschema], `dataschema ${ev.dataschema} is published`);
  assert.equal(EVENT_DATA_JSON_SCHEMAS[ev.dataschema]!.$id, ev.dataschema);
  // Extension attribute names would have to be lower-case alphanumerics: ours are all standard.
  for (const k of Object.keys(ev)) assert.match(k, /^[a-z0-9]+$/);
  cloudEventSchema.parse(ev);
  // The JSON round trip is the event (nothing that JSON loses).
  assert.deepEqual(JSON.parse(JSON.stringify(ev)), ev);
  assert.equal(formatEvent(ev, 'native'), ev);
}

test('native: compliance and remediation events are CloudEvents 1.0 with a documented data schema', () => {
  const c = complianceEvent(ossChange(), OSS_RULE);
  checkCloudEvent(c);
  assert.equal(c.type, 'io.confix.compliance.changed.v1');
  assert.equal(c.source, 'confix://aliyun/1208863178610001/ap-southeast-1');
  assert.equal(c.time, '2024-05-01T10:00:00.123Z');
  assert.deepEqual(complianceChangedDataSchema.parse(c.data), c.data);
  assert.deepEqual(c.data, {
    rule: { id: 'cr-5f0e1d2c3b4a5968', name: 'test-oss-bucket-public-read-prohibited', riskLevel: 1 },
    resource: { accountId: '1208863178610001', regionId: 'ap-southeast-1', resourceType: 'ACS::OSS::Bucket', resourceId: 'config-snapshot' },
    oldEvaluationResult: { complianceType: 'COMPLIANT', annotation: null, evaluatedAt: null },
    newEvaluationResult: { complianceType: 'NON_COMPLIANT', annotation: 'the bucket ACL is public-read', evaluatedAt: '2024-05-01T10:00:00.123Z' },
    resultClosed: false,
    configurationItemId: 3,
  });

  const kinds = ['started', 'succeeded', 'failed'] as const;
  for (const kind of kinds) {
    const r = remediationEvent(
      kind,
      execution({
        status: kind === 'started' ? 'IN_PROGRESS' : kind === 'succeeded' ? 'SUCCEEDED' : 'FAILED',
        finishedAt: kind === 'started' ? null : '2019-04-08T08:48:09.000Z',
      }),
      AMI_RULE,
    );
    checkCloudEvent(r);
    assert.equal(r.type, `io.confix.remediation.${kind}.v1`);
    assert.equal(r.source, 'confix://aws/123456789012/eu-central-1');
    assert.equal(r.time, kind === 'started' ? '2019-04-08T08:48:06.500Z' : '2019-04-08T08:48:09.000Z');
    assert.deepEqual(remediationDataSchema.parse(r.data), r.data);
  }
  const failed = remediationEvent('failed', execution({ status: 'FAILED', errorCode: 'Boom', errorMessage: 'it broke' }), AMI_RULE);
  assert.equal(failed.type, REMEDIATION_FAILED);
  assert.deepEqual(failed.data.execution, {
    id: 'rx-00aa11bb22cc33dd',
    status: 'FAILED',
    trigger: 'AUTOMATIC',
    attempt: 1,
    action: 'AWS-StopEC2Instance',
    dryRun: false,
    createdAt: '2019-04-08T08:48:06.000Z',
    startedAt: '2019-04-08T08:48:06.500Z',
    errorCode: 'Boom',
    errorMessage: 'it broke',
  });
  assert.deepEqual(failed.data.rule, { id: 'config-rule-ojehlw', name: 'approved-amis-by-id', riskLevel: 2 });
  assert.throws(() => remediationEvent('started', execution(), OSS_RULE), /not cr-5f0e1d2c3b4a5968/);
});

test('native: a closed result is NOT_APPLICABLE with resultClosed, as the timeline records it', () => {
  const c = complianceEvent(ossChange({ previous: 'NON_COMPLIANT', current: null, annotation: 'result closed' }), OSS_RULE);
  assert.equal(c.data.newEvaluationResult.complianceType, 'NOT_APPLICABLE');
  assert.equal(c.data.resultClosed, true);
  assert.equal((formatEvent(c, 'eventbridge') as any).detail.newEvaluationResult.complianceType, 'NOT_APPLICABLE');
  const n = JSON.parse(Buffer.from((formatEvent(c, 'mns') as MnsNotification).Message, 'base64').toString('utf8'));
  assert.equal(n.resultClosed, true);
  assert.equal(n.eventName, 'ComplianceChange');
});

test('the JSON Schemas describe the data and are what the events name', () => {
  const s = EVENT_DATA_JSON_SCHEMAS['urn:confix:schema:events:compliance.changed:v1'] as any;
  assert.equal(s.$schema, 'https://json-schema.org/draft/2020-12/schema');
  assert.deepEqual(s.required, ['rule', 'resource', 'oldEvaluationResult', 'newEvaluationResult', 'resultClosed', 'configurationItemId']);
  assert.deepEqual(s.properties.resource.required, ['accountId', 'regionId', 'resourceType', 'resourceId']);
  assert.deepEqual(s.properties.newEvaluationResult.properties.complianceType.enum, ['COMPLIANT', 'NON_COMPLIANT', 'NOT_APPLICABLE', 'INSUFFICIENT_DATA']);
  assert.equal(s.additionalProperties, undefined, 'consumers must accept fields added within a version');
  const r = EVENT_DATA_JSON_SCHEMAS['urn:confix:schema:events:remediation:v1'] as any;
  assert.deepEqual(r.required, ['execution', 'rule', 'resource']);
  assert.deepEqual(r.properties.execution.required, ['id', 'status', 'trigger', 'attempt', 'action', 'dryRun']);
});

test('ids are stable for one occurrence and differ between occurrences, in every format', () => {
  const a = complianceEvent(ossChange(), OSS_RULE);
  const again = complianceEvent(ossChange({ recordedAt: new Date('2024-05-01T10:00:00.123Z') }), OSS_RULE);
  assert.equal(again.id, a.id, 'the same change built twice (a redelivery) keeps its id');
  assert.deepEqual(again, a);
  for (const f of ['native', 'eventbridge', 'mns'] as const)
    assert.equal(JSON.stringify(formatEvent(again, f)), JSON.stringify(formatEvent(a, f)), `${f} byte for byte`);

  const others = [
    complianceEvent(ossChange({ recordedAt: new Date('2024-05-01T10:05:00.000Z') }), OSS_RULE), // the same flip later
    complianceEvent(ossChange({ current: 'COMPLIANT', previous: 'NON_COMPLIANT' }), OSS_RULE),
    complianceEvent(ossChange({ current: null, previous: 'NON_COMPLIANT' }), OSS_RULE),
    complianceEvent(ossChange({ resourceId: 'other-bucket' }), OSS_RULE),
    complianceEvent(ossChange({ ruleId: 'cr-other' }), OSS_RULE),
  ];
  const ids = new Set([a.id, ...others.map((e) => e.id)]);
  assert.equal(ids.size, others.length + 1);

  const x = execution();
  const started = remediationEvent('started', x, AMI_RULE);
  assert.equal(
    remediationEvent('started', execution({ leaseOwner: 'w2', startedAt: '2019-04-08T08:50:00.000Z' }), AMI_RULE).id,
    started.id,
    'taken up again after a lease ran out: the same start',
  );
  const rIds = new Set([
    started.id,
    remediationEvent('succeeded', { ...x, status: 'SUCCEEDED' }, AMI_RULE).id,
    remediationEvent('failed', { ...x, status: 'FAILED' }, AMI_RULE).id,
    remediationEvent('started', { ...x, executionId: 'rx-ffffffffffffffff', attempt: 2 }, AMI_RULE).id,
  ]);
  assert.equal(rIds.size, 4);

  // The clouds' ids follow the native one.
  assert.equal((formatEvent(a, 'eventbridge') as EventBridgeEvent).id, a.id);
  assert.equal((formatEvent(a, 'mns') as MnsNotification).MessageId, (formatEvent(again, 'mns') as MnsNotification).MessageId);
  assert.notEqual((formatEvent(a, 'mns') as MnsNotification).MessageId, (formatEvent(others[0]!, 'mns') as MnsNotification).MessageId);
});

test('uuidV5 is RFC 4122 version 5 (known vector) and formats refuse unknown names', () => {
  // uuid v5 of "www.example.com" in the DNS namespace.
  assert.equal(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8'), '2ed6657d-e927-568b-95e1-2665a8aea6a2');
  const ev = complianceEvent(ossChange(), OSS_RULE);
  assert.throws(() => formatEvent(ev, 'xml' as never), /unknown event format: xml/);
  assert.throws(() => remediationEvent('paused' as never, execution(), AMI_RULE), /unknown remediation event kind/);
  assert.throws(() => complianceEvent(ossChange({ recordedAt: 'yesterday' as never }), OSS_RULE), /not a time/);
});
