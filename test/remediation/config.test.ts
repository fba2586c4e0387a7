import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateRule, type RuleValidationError } from '../../src/rules/model.js';
import { freshDb } from '../helpers/db.js';
import { createEngine } from '../../src/engine.js';
import { planPolicy } from '../../src/policy/plan.js';

const seed003 = {
  name: 'sg-risky',
  source: { managed: 'sg-risky-ports-check' },
  scope: { resourceTypes: ['ACS::ECS::SecurityGroup'] },
  remediation: {
    action: 'ACS-ECS-RevokeSecurityGroupRules',
    parameters: {
      securityGroupId: { resourceValue: 'RESOURCE_ID' },
      securityGroupRuleIds: { jmespath: "Permissions.Permission[?SourceCidrIp=='0.0.0.0/0'].SecurityGroupRuleId" },
    },
    invokeType: 'AUTO_EXECUTION',
    maximumAutomaticAttempts: 5,
    retryAttemptSeconds: 60,
    executionControls: { concurrency: 10, perMinute: 600, errorPercentage: 50 },
    executionRole: 'ConfigCustomRemediationRole',
  },
};

const issues = (raw: unknown) => {
  try {
    validateRule(raw);
  } catch (e) {
    return (e as RuleValidationError).issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  }
  assert.fail('expected the rule to be refused');
};

test('the seed 003 remediation validates, with defaults filled and the region bound to the resource', () => {
  const r = validateRule(seed003);
  assert.equal(r.remediation?.action, 'ACS-ECS-RevokeSecurityGroupRules');
  assert.equal(r.remediation?.invokeType, 'AUTO_EXECUTION');
  assert.equal(r.remediation?.delaySeconds, 0);
  assert.equal(r.remediation?.approval, 'none');
  assert.deepEqual(r.remediation?.parameters.regionId, { resourceValue: 'REGION_ID' });
  const minimal = validateRule({
    name: 'b',
    source: { managed: 'oss-bucket-public-read-prohibited' },
    scope: { resourceTypes: ['ACS::OSS::Bucket'] },
    remediation: { action: 'ACS-OSS-PutBucketAcl' },
  });
  assert.deepEqual(minimal.remediation?.parameters.bucketName, { resourceValue: 'RESOURCE_ID' }, 'the resource parameter is bound by default');
  assert.equal(minimal.remediation?.invokeType, 'MANUAL_EXECUTION');
  assert.equal(minimal.remediation?.maximumAutomaticAttempts, 5);
});

test('a bad remediation is refused naming the field', () => {
  assert.match(issues({ ...seed003, remediation: { action: 'ACS-Teleport' } }).join(), /remediation\.action: unknown action "ACS-Teleport"/);
  assert.match(issues({ ...seed003, remediation: { ...seed003.remediation, maximumAutomaticAttempts: 30 } }).join(), /remediation\.maximumAutomaticAttempts/);
  assert.match(
    issues({ ...seed003, remediation: { action: 'ACS-ECS-RevokeSecurityGroupRules', parameters: { nope: 1 } } }).join(),
    /remediation\.parameters\.nope: .*has no parameter "nope"/,
  );
  assert.match(
    issues({
      ...seed003,
      remediation: { action: 'ACS-ECS-RevokeSecurityGroupRules', parameters: { securityGroupRuleIds: { jmespath: 'Permissions[?' } } },
    }).join(),
    /remediation\.parameters\.securityGroupRuleIds\.jmespath: JMESPath expression does not compile/,
  );
  assert.match(issues({ ...seed003, remediation: { action: 'ACS-OSS-PutBucketAcl' } }).join(), /fixes ACS::OSS::Bucket, and the rule covers none of those/);
  assert.match(issues({ ...seed003, remediation: { action: 'ACS-ECS-RevokeSecurityGroupRules', invokeType: 'SOMETIMES' } }).join(), /remediation\.invokeType/);
});

test('plan shows a remediation change as part of the rule', async () => {
  const db = await freshDb();
  try {
    const engine = createEngine(db);
    const { rules } = engine;
    const created = await rules.create(validateRule(seed003), 'policy');
    assert.equal((await rules.get(created.name)).remediation?.action, 'ACS-ECS-RevokeSecurityGroupRules');
    const changed = { ...seed003, remediation: { ...seed003.remediation, invokeType: 'MANUAL_EXECUTION' } };
    const plan = await planPolicy(engine, [{ source: 'x.yaml', kind: 'Rule', body: changed }]);
    assert.deepEqual(
      plan.update.map((u) => u.changes.map((c) => [c.path, c.previousValue, c.value])),
      [[['/remediation/invokeType', 'AUTO_EXECUTION', 'MANUAL_EXECUTION']]],
    );
    const removed = await planPolicy(engine, [{ source: 'x.yaml', kind: 'Rule', body: { ...seed003, remediation: undefined } }]);
    assert.equal(removed.update[0]!.changes[0]!.op, 'remove');
    await rules.update(created.name, validateRule({ ...seed003, remediation: undefined }));
    assert.equal((await rules.get(created.name)).remediation, undefined);
  } finally {
    await db.close();
  }
});
