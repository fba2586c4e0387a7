import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePattern, matches, validatePattern, PatternError } from '../../src/events/pattern.js';

const EVENT = {
  source: 'aws.config',
  'detail-type': 'Config Rules Compliance Change',
  account: '123456789012',
  region: 'eu-central-1',
  resources: [],
  detail: {
    resourceId: 'i-1234',
    resourceType: 'AWS::EC2::Instance',
    configRuleName: 'approved-amis-by-id',
    riskLevel: 2,
    dryRun: false,
    annotation: null,
    newEvaluationResult: { complianceType: 'NON_COMPLIANT', evaluationResultIdentifier: { evaluationResultQualifier: { resourceId: 'i-1234' } } },
    tags: ['prod', 'web'],
    ports: [22, 3389],
    rules: [
      { port: 22, cidr: '0.0.0.0/0' },
      { port: 443, cidr: '10.0.0.0/8' },
    ],
    nested: [[{ deep: 'x' }], [{ deep: 'y' }]],
  },
};

const m = (pattern: Record<string, unknown>, event: unknown = EVENT) => matches(pattern, event);

test('exact values: strings, numbers, booleans and null; a list matches any of its values', () => {
  assert.equal(m({ source: ['aws.config'] }), true);
  assert.equal(m({ source: ['aws.ec2'] }), false);
  assert.equal(m({ source: ['aws.ec2', 'aws.config'] }), true);
  assert.equal(m({ source: ['AWS.CONFIG'] }), false, 'exact is case-sensitive');
  assert.equal(m({ detail: { riskLevel: [2] } }), true);
  assert.equal(m({ detail: { riskLevel: [2.0] } }), true);
  assert.equal(m({ detail: { riskLevel: ['2'] } }), false, 'a string does not equal a number');
  assert.equal(m({ detail: { dryRun: [false] } }), true);
  assert.equal(m({ detail: { dryRun: [true] } }), false);
  assert.equal(m({ detail: { annotation: [null] } }), true);
  assert.equal(m({ detail: { resourceId: [null] } }), false);
  assert.equal(m({ 'detail-type': ['Config Rules Compliance Change'] }), true);
  assert.equal(m({}), true, 'the empty pattern matches every event');
});

test('every field must match; nested objects follow the event', () => {
  assert.equal(
    m({ source: ['aws.config'], detail: { configRuleName: ['approved-amis-by-id'], newEvaluationResult: { complianceType: ['NON_COMPLIANT'] } } }),
    true,
  );
  assert.equal(
    m({ source: ['aws.config'], detail: { configRuleName: ['approved-amis-by-id'], newEvaluationResult: { complianceType: ['COMPLIANT'] } } }),
    false,
  );
  assert.equal(m({ detail: { newEvaluationResult: { evaluationResultIdentifier: { evaluationResultQualifier: { resourceId: ['i-1234'] } } } } }), true);
  assert.equal(m({ detail: { missing: { deeper: ['x'] } } }), false);
  // A pattern object against a leaf value, and a list against an object, match nothing.
  assert.equal(m({ source: { sub: ['x'] } }), false);
  assert.equal(m({ detail: { newEvaluationResult: ['NON_COMPLIANT'] } }), false);
  // Non-object events.
  assert.equal(m({ a: ['x'] }, null), false);
  assert.equal(m({ a: ['x'] }, 'x'), false);
  assert.equal(m({ a: [{ exists: false }] }, 42), true);
});

test('arrays in the event match when any element matches, flattened at every level', () => {
  assert.equal(m({ detail: { tags: ['web'] } }), true);
  assert.equal(m({ detail: { tags: ['dev', 'prod'] } }), true);
  assert.equal(m({ detail: { tags: ['dev'] } }), false);
  assert.equal(m({ detail: { ports: [{ numeric: ['>', 1024] }] } }), true);
  assert.equal(m({ detail: { ports: [{ numeric: ['>', 5000] }] } }), false);
  assert.equal(m({ detail: { rules: { cidr: ['0.0.0.0/0'] } } }), true);
  assert.equal(m({ detail: { rules: { port: [443], cidr: [{ prefix: '10.' }] } } }), true);
  assert.equal(m({ detail: { nested: { deep: ['y'] } } }), true);
  assert.equal(m({ detail: { nested: { deep: ['z'] } } }), false);
  assert.equal(m({ resources: [{ exists: false }] }), true, 'an empty array has no values');
  // As in EventBridge, each field is checked on its own across the elements.
  assert.equal(m({ detail: { rules: { port: [443], cidr: ['0.0.0.0/0'] } } }), true);
});

test('prefix and suffix (case-sensitive, or with equals-ignore-case), strings only', () => {
  assert.equal(m({ detail: { resourceType: [{ prefix: 'AWS::EC2::' }] } }), true);
  assert.equal(m({ detail: { resourceType: [{ prefix: 'aws::ec2::' }] } }), false);
  assert.equal(m({ detail: { resourceType: [{ prefix: { 'equals-ignore-case': 'aws::ec2::' } }] } }), true);
  assert.equal(m({ detail: { resourceType: [{ suffix: '::Instance' }] } }), true);
  assert.equal(m({ detail: { resourceType: [{ suffix: '::Bucket' }] } }), false);
  assert.equal(m({ detail: { resourceType: [{ suffix: { 'equals-ignore-case': '::INSTANCE' } }] } }), true);
  assert.equal(m({ detail: { riskLevel: [{ prefix: '2' }] } }), false, 'a number has no prefix');
  assert.equal(m({ detail: { configRuleName: [{ prefix: 'ecs-' }, { prefix: 'approved-' }] } }), true);
});

test('equals-ignore-case', () => {
  assert.equal(m({ source: [{ 'equals-ignore-case': 'AWS.Config' }] }), true);
  assert.equal(m({ source: [{ 'equals-ignore-case': 'aws.conf' }] }), false);
  assert.equal(m({ detail: { riskLevel: [{ 'equals-ignore-case': '2' }] } }), false);
});

test('anything-but: a value, a list, a prefix, a suffix, equals-ignore-case', () => {
  assert.equal(m({ detail: { newEvaluationResult: { complianceType: [{ 'anything-but': 'COMPLIANT' }] } } }), true);
  assert.equal(m({ detail: { newEvaluationResult: { complianceType: [{ 'anything-but': 'NON_COMPLIANT' }] } } }), false);
  assert.equal(m({ detail: { newEvaluationResult: { complianceType: [{ 'anything-but': ['COMPLIANT', 'NOT_APPLICABLE'] }] } } }), true);
  assert.equal(m({ detail: { newEvaluationResult: { complianceType: [{ 'anything-but': ['COMPLIANT', 'NON_COMPLIANT'] }] } } }), false);
  assert.equal(m({ detail: { riskLevel: [{ 'anything-but': [1, 3] }] } }), true);
  assert.equal(m({ detail: { riskLevel: [{ 'anything-but': 2 }] } }), false);
  assert.equal(m({ region: [{ 'anything-but': { prefix: 'cn-' } }] }), true);
  assert.equal(m({ region: [{ 'anything-but': { prefix: 'eu-' } }] }), false);
  assert.equal(m({ region: [{ 'anything-but': { suffix: '-1' } }] }), false);
  assert.equal(m({ region: [{ 'anything-but': { suffix: '-2' } }] }), true);
  assert.equal(m({ source: [{ 'anything-but': { 'equals-ignore-case': ['AWS.CONFIG', 'aws.ec2'] } }] }), false);
  assert.equal(m({ source: [{ 'anything-but': { 'equals-ignore-case': 'AWS.EC2' } }] }), true);
  assert.equal(m({ missing: [{ 'anything-but': 'x' }] }), false, 'an absent field is not "anything but"');
  // Arrays: any element other than the excluded values.
  assert.equal(m({ detail: { tags: [{ 'anything-but': 'prod' }] } }), true);
  assert.equal(m({ detail: { tags: [{ 'anything-but': ['prod', 'web'] }] } }), false);
});

test('exists true and false', () => {
  assert.equal(m({ detail: { resourceId: [{ exists: true }] } }), true);
  assert.equal(m({ detail: { resourceName: [{ exists: true }] } }), false);
  assert.equal(m({ detail: { resourceName: [{ exists: false }] } }), true);
  assert.equal(m({ detail: { resourceId: [{ exists: false }] } }), false);
  assert.equal(m({ detail: { annotation: [{ exists: true }] } }), true, 'a null value exists');
  assert.equal(m({ detail: { newEvaluationResult: [{ exists: true }] } }), false, 'exists looks at leaf values, not objects');
  assert.equal(m({ nowhere: { deeper: [{ exists: false }] } }), true);
  assert.equal(m({ detail: { resourceName: [{ exists: false }, 'x'] } }), true, 'absent, or x');
  assert.equal(m({ detail: { oldEvaluationResult: { complianceType: [{ exists: false }] } } }), true);
});

test('numeric comparisons and ranges', () => {
  const risk = (n: unknown[]) => m({ detail: { riskLevel: [{ numeric: n }] } });
  assert.equal(risk(['=', 2]), true);
  assert.equal(risk(['=', 3]), false);
  assert.equal(risk(['>', 0, '<=', 5]), true);
  assert.equal(risk(['>', 2, '<=', 5]), false);
  assert.equal(risk(['>=', 2, '<', 3]), true);
  assert.equal(risk(['>=', 0, '<', 2]), false);
  assert.equal(risk(['<', 3]), true);
  assert.equal(risk(['<=', 1]), false);
  assert.equal(risk(['>', 1.5]), true);
  assert.equal(risk(['>=', -10]), true);
  assert.equal(m({ detail: { resourceId: [{ numeric: ['>', 0] }] } }), false, 'a string is not a number');
  assert.equal(m({ n: [{ numeric: ['>', 0] }] }, { n: '5' }), false);
});

test('compilePattern returns a reusable test', () => {
  const nonCompliant = compilePattern({ detail: { newEvaluationResult: { complianceType: ['NON_COMPLIANT'] } } });
  assert.equal(nonCompliant(EVENT), true);
  assert.equal(nonCompliant({ ...EVENT, detail: { ...EVENT.detail, newEvaluationResult: { complianceType: 'COMPLIANT' } } }), false);
  assert.equal(nonCompliant({}), false);
});

function rejects(pattern: unknown, path: string, message: RegExp) {
  assert.throws(
    () => validatePattern(pattern),
    (e: unknown) => {
      assert.ok(e instanceof PatternError, `a PatternError, not ${String(e)}`);
      assert.equal(e.path, path);
      assert.match(e.detail, message);
      assert.equal(e.message, `${path || 'pattern'}: ${e.detail}`);
      return true;
    },
  );
}

test('invalid patterns are refused with the path of the problem', () => {
  rejects(['aws.config'], '', /must be an object of fields, not a list/);
  rejects('source', '', /must be an object of fields/);
  rejects(null, '', /must be an object of fields, not null/);
  rejects({ source: 'aws.config' }, 'source', /must be a list of values or matchers \(e\.g\. \["aws\.config"\]\)/);
  rejects({ detail: { riskLevel: 2 } }, 'detail.riskLevel', /must be a list/);
  rejects({ source: [] }, 'source', /empty list matches nothing/);
  rejects({ detail: {} }, 'detail', /empty object/);
  rejects({ 'detail-type': [['a']] }, 'detail-type[0]', /a list inside a list/);
  rejects({ 'a b': { c: 1 } }, '["a b"].c', /must be a list/);
  rejects({ detail: { x: [{ prefix: 1 }] } }, 'detail.x[0].prefix', /prefix takes a string/);
  rejects({ detail: { x: [{ suffix: { 'equals-ignore-case': 1 } }] } }, 'detail.x[0].suffix', /suffix takes a string/);
  rejects({ detail: { x: [{ 'equals-ignore-case': ['a'] }] } }, 'detail.x[0].equals-ignore-case', /takes a string, not a list/);
  rejects({ detail: { x: [{ wildcard: 'a*' }] } }, 'detail.x[0].wildcard', /unknown operator "wildcard"/);
  rejects({ detail: { x: [{}] } }, 'detail.x[0]', /an empty matcher/);
  rejects({ detail: { x: [{ prefix: 'a', suffix: 'b' }] } }, 'detail.x[0]', /one operator, not 2 \(prefix, suffix\)/);
  rejects({ detail: { x: [{ exists: 'yes' }] } }, 'detail.x[0].exists', /true or false/);
  rejects({ detail: { x: [{ 'anything-but': [] }] } }, 'detail.x[0].anything-but', /at least one value/);
  rejects({ detail: { x: [{ 'anything-but': ['a', { b: 1 }] }] } }, 'detail.x[0].anything-but[1]', /not an object/);
  rejects({ detail: { x: [{ 'anything-but': { wildcard: 'a' } }] } }, 'detail.x[0].anything-but.wildcard', /does not take "wildcard"/);
  rejects({ detail: { x: [{ 'anything-but': { prefix: 'a', suffix: 'b' } }] } }, 'detail.x[0].anything-but', /one of prefix, suffix/);
  rejects({ detail: { x: [{ 'anything-but': { prefix: 3 } }] } }, 'detail.x[0].anything-but.prefix', /takes a string/);
  rejects({ detail: { x: [{ numeric: 5 }] } }, 'detail.x[0].numeric', /numeric takes \[OP, NUMBER\]/);
  rejects({ detail: { x: [{ numeric: ['>', 0, '<'] }] } }, 'detail.x[0].numeric', /numeric takes/);
  rejects({ detail: { x: [{ numeric: ['~', 0] }] } }, 'detail.x[0].numeric[0]', /not a comparison: string "~"/);
  rejects({ detail: { x: [{ numeric: ['>', '5'] }] } }, 'detail.x[0].numeric[1]', /">" needs a number, not string "5"/);
  rejects({ detail: { x: [{ numeric: ['<', 5, '>', 0] }] } }, 'detail.x[0].numeric[0]', /starts with a lower bound/);
  rejects({ detail: { x: [{ numeric: ['>', 0, '=', 5] }] } }, 'detail.x[0].numeric[2]', /ends with an upper bound/);
  rejects({ detail: { x: [{ numeric: ['>', 9, '<', 5] }] } }, 'detail.x[0].numeric', /range is empty: 9 is above 5/);
  rejects({ detail: { x: [{ numeric: ['>', Number.NaN] }] } }, 'detail.x[0].numeric[1]', /needs a number/);
  rejects(
    { ok: ['a'], detail: { newEvaluationResult: { complianceType: ['NON_COMPLIANT', { prefix: null }] } } },
    'detail.newEvaluationResult.complianceType[1].prefix',
    /prefix takes a string/,
  );
  assert.throws(() => matches({ source: 'x' }, EVENT), PatternError);
});

test('the AWS documentation pattern, as JSON text from a subscription', () => {
  const pattern = JSON.parse(
    '{"source":["aws.config"],"detail-type":["Config Rules Compliance Change"],"detail":{"messageType":["ComplianceChangeNotification"],"newEvaluationResult":{"complianceType":["NON_COMPLIANT"]}}}',
  );
  assert.equal(m(pattern, { ...EVENT, detail: { ...EVENT.detail, messageType: 'ComplianceChangeNotification' } }), true);
  assert.equal(m(pattern, EVENT), false, 'no messageType');
});
