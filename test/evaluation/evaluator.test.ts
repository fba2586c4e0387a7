import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backends, freshDb } from '../helpers/db.js';
import { MGMT, MEMBER, sgEstate } from '../helpers/estate.js';
import { SandboxCloud } from '../../src/providers/sandbox/index.js';
import { Recorder } from '../../src/inventory/index.js';
import { RuleStore } from '../../src/rules/store.js';
import { validateRule, type RuleValidationError } from '../../src/rules/model.js';
import { Evaluator, type ComplianceChange } from '../../src/evaluation/evaluator.js';
import { ComplianceViews } from '../../src/evaluation/compliance.js';

async function setup(backend: (typeof backends)[number] = 'pglite') {
  const db = await freshDb(backend);
  const sandbox = new SandboxCloud(db);
  const recorder = new Recorder(db, [sandbox]);
  const rules = new RuleStore(db);
  const evaluator = new Evaluator(db, rules);
  const views = new ComplianceViews(db);
  await sandbox.loadEstate(sgEstate());
  await recorder.snapshot('sandbox');
  const changes: ComplianceChange[] = [];
  evaluator.on('compliance-change', (c: ComplianceChange) => changes.push(c));
  const settle = async () => {
    await recorder.drain('sandbox');
    await evaluator.idle();
  };
  return { db, sandbox, recorder, rules, evaluator, views, changes, settle };
}

const sgRule = (extra: Record<string, unknown> = {}) =>
  validateRule({ name: 'no-ssh', source: { managed: 'sg-risky-ports-check' }, parameters: { ports: '22' }, ...extra });

const result = async (views: ComplianceViews, resourceId: string, accountId = MGMT) =>
  (await views.results({ resource: { accountId, regionId: 'cn-hangzhou', resourceType: 'ACS::ECS::SecurityGroup', resourceId } })).items[0];

for (const backend of backends) {
  test(`${backend}: a change is judged at once; only a changed result writes the timeline and emits`, async () => {
    const { db, sandbox, recorder, rules, evaluator, views, changes, settle } = await setup(backend);
    try {
      const rule = await rules.create(sgRule());
      const first = await evaluator.evaluateRules();
      assert.equal(first.evaluations, 3);
      assert.equal((await result(views, 'sg-web'))!.complianceType, 'COMPLIANT');
      assert.equal((await result(views, 'sg-managed'))!.complianceType, 'NON_COMPLIANT');
      assert.equal(changes.length, 3, 'first results are changes from nothing');
      changes.length = 0;

      evaluator.attach(recorder, { schedulerMs: 0 });
      recorder.start(60_000);
      await sandbox.call('ecs:AuthorizeSecurityGroup', {}, { SecurityGroupId: 'sg-web', IpProtocol: 'TCP', PortRange: '22/22', SourceCidrIp: '0.0.0.0/0' });
      await settle();
      const r = await result(views, 'sg-web');
      assert.equal(r!.complianceType, 'NON_COMPLIANT');
      assert.match(r!.annotation, /port 22/);
      assert.equal(changes.length, 1);
      assert.deepEqual([changes[0]!.previous, changes[0]!.current, changes[0]!.ruleName, changes[0]!.riskLevel], ['COMPLIANT', 'NON_COMPLIANT', 'no-ssh', 1]);

      // A change that leaves the verdict alone writes no timeline entry and emits nothing.
      await sandbox.call(
        'ecs:AuthorizeSecurityGroup',
        {},
        { SecurityGroupId: 'sg-web', IpProtocol: 'TCP', PortRange: '8080/8080', SourceCidrIp: '10.0.0.0/8' },
      );
      await settle();
      assert.equal(changes.length, 1);

      // Closing it makes it compliant again.
      await sandbox.call('ecs:RevokeSecurityGroup', {}, { SecurityGroupId: 'sg-web', IpProtocol: 'TCP', PortRange: '22/22', SourceCidrIp: '0.0.0.0/0' });
      await settle();
      assert.equal((await result(views, 'sg-web'))!.complianceType, 'COMPLIANT');
      const tl = await views.timeline({
        ruleId: rule.ruleId,
        resource: { accountId: MGMT, regionId: 'cn-hangzhou', resourceType: 'ACS::ECS::SecurityGroup', resourceId: 'sg-web' },
      });
      assert.deepEqual(
        tl.map((t) => [t.previousComplianceType, t.complianceType]),
        [
          ['NON_COMPLIANT', 'COMPLIANT'],
          ['COMPLIANT', 'NON_COMPLIANT'],
          [null, 'COMPLIANT'],
        ],
      );
      assert.ok(tl[0]!.ciId! > tl[1]!.ciId!, 'each entry names the configuration item it judged');

      // A deleted resource's results close.
      await sandbox.call('ecs:DeleteSecurityGroup', {}, { SecurityGroupId: 'sg-web' });
      await settle();
      assert.equal(await result(views, 'sg-web'), undefined);
      const closed = (await views.timeline({ ruleId: rule.ruleId, limit: 1 }))[0]!;
      assert.equal(closed.closed, true);
      assert.equal(changes[changes.length - 1]!.current, null);
      evaluator.detach(recorder);
      await recorder.stop();
    } finally {
      await db.close();
    }
  });
}

test('scope: regions, tags, excluded ids and accounts narrow what a rule judges', async () => {
  const { db, rules, evaluator, views } = await setup();
  try {
    await rules.create(sgRule({ name: 'tagged', scope: { tag: { key: 'env', value: 'prod' } } }));
    await rules.create(sgRule({ name: 'excluded', scope: { excludedResourceIds: ['sg-managed'] } }));
    await rules.create(sgRule({ name: 'member-only', scope: { accounts: [MEMBER] } }));
    await rules.create(sgRule({ name: 'elsewhere', scope: { regions: ['us-east-1'] } }));
    await evaluator.evaluateRules();
    const judged = async (name: string) => (await views.results({ ruleId: (await rules.get(name)).ruleId })).items.map((r) => r.resourceId).sort();
    assert.deepEqual(await judged('tagged'), ['sg-db', 'sg-web']);
    assert.deepEqual(await judged('excluded'), ['sg-db', 'sg-web']);
    assert.deepEqual(await judged('member-only'), ['sg-db']);
    assert.deepEqual(await judged('elsewhere'), []);
    // Narrowing a rule's scope closes the results that left it.
    await rules.update('tagged', sgRule({ name: 'tagged', scope: { tag: { key: 'tier', value: 'db' } } }));
    const s = await evaluator.evaluateRules(['tagged']);
    assert.equal(s.closed, 1);
    assert.deepEqual(await judged('tagged'), ['sg-db']);
  } finally {
    await db.close();
  }
});

test('a rule that throws on one resource gives INSUFFICIENT_DATA there and goes on', async () => {
  const { db, rules, evaluator, views } = await setup();
  try {
    await rules.create(
      validateRule({
        name: 'needs-name',
        source: { cel: "resource.configuration.SecurityGroupName.startsWith('w') || resource.configuration.Missing.Field == 1" },
        scope: { resourceTypes: ['ACS::ECS::SecurityGroup'] },
      }),
    );
    const s = await evaluator.evaluateRules();
    assert.equal(s.evaluations, 3);
    const items = (await views.results({})).items;
    const by = Object.fromEntries(items.map((r) => [r.resourceId, r]));
    assert.equal(by['sg-web']!.complianceType, 'COMPLIANT');
    assert.equal(by['sg-db']!.complianceType, 'INSUFFICIENT_DATA');
    assert.match(by['sg-db']!.annotation, /the rule failed on this resource/);
    assert.equal(by['sg-managed']!.complianceType, 'INSUFFICIENT_DATA');
  } finally {
    await db.close();
  }
});

test('inactive rules are not evaluated; periodic rules run when due and not before', async () => {
  const { db, rules, evaluator, views } = await setup();
  try {
    await rules.create(sgRule({ name: 'off', state: 'INACTIVE' }));
    await rules.create(sgRule({ name: 'hourly', triggers: [{ type: 'Periodic', frequency: 'One_Hour' }] }));
    assert.deepEqual(await evaluator.runDuePeriodic(), ['hourly']);
    assert.equal((await views.results({ ruleId: (await rules.get('off')).ruleId })).total, 0);
    assert.equal((await views.results({ ruleId: (await rules.get('hourly')).ruleId })).total, 3);
    assert.deepEqual(await evaluator.runDuePeriodic(), [], 'not due again for an hour');
    assert.deepEqual(await evaluator.runDuePeriodic(new Date(Date.now() + 3601_000)), ['hourly']);
  } finally {
    await db.close();
  }
});

test('a resource re-evaluated by hand under every rule that covers it', async () => {
  const { db, rules, evaluator } = await setup();
  try {
    await rules.create(sgRule());
    await rules.create(validateRule({ name: 'buckets', source: { managed: 'oss-bucket-public-read-prohibited' } }));
    const s = await evaluator.evaluateResource({ accountId: MGMT, regionId: 'cn-hangzhou', resourceType: 'ACS::ECS::SecurityGroup', resourceId: 'sg-web' });
    assert.deepEqual([s.rules, s.resources, s.evaluations, s.changed], [1, 1, 1, 1]);
  } finally {
    await db.close();
  }
});

test('rule validation names the parameter and what was expected', () => {
  const bad = (raw: unknown) => {
    try {
      validateRule(raw);
    } catch (e) {
      return (e as RuleValidationError).issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    }
    assert.fail('expected a validation error');
  };
  const ports = bad({ name: 'x', source: { managed: 'sg-risky-ports-check' }, parameters: { ports: '22,abc' } });
  assert.match(ports.join(), /^parameters\.ports: .*22,abc/);
  assert.match(bad({ name: 'x', source: { managed: 'approved-amis-by-id' } }).join(), /parameters\.amiIds/);
  assert.match(bad({ name: 'x', source: { managed: 'nope' } }).join(), /unknown managed rule "nope"/);
  assert.match(
    bad({ name: 'x', source: { managed: 'ecs-instance-monitor-enabled' }, scope: { resourceTypes: ['AWS::S3::Bucket'] } }).join(),
    /evaluates ACS::ECS::Instance, not AWS::S3::Bucket/,
  );
  assert.match(bad({ name: 'x', source: { cel: 'resource.type ==' } }).join(), /source\.cel: CEL expression does not compile at line 1, column \d+/);
  assert.match(bad({ name: 'x', source: { managed: 'sg-risky-ports-check' }, triggers: [{ type: 'Periodic', frequency: 'Often' }] }).join(), /triggers\.0/);
  const ok = validateRule({ name: 'x', source: { managed: 's3-bucket-public-read-prohibited' } });
  assert.deepEqual(ok.scope.resourceTypes.sort(), ['ACS::OSS::Bucket', 'AWS::S3::Bucket']);
  assert.equal(ok.riskLevel, 1, 'the managed rule default risk level');
  assert.deepEqual(validateRule({ name: 'y', source: { managed: 'sg-risky-ports-check' } }).parameters, { ports: '22,3389' }, 'defaults are filled in');
});
