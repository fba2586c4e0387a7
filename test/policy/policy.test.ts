import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshDb } from '../helpers/db.js';
import { readPolicyDocuments, type PolicyFileError } from '../../src/policy/files.js';
import { applyPolicy, planPolicy, PolicyValidationError } from '../../src/policy/plan.js';
import { createEngine } from '../../src/engine.js';
import { validateRule } from '../../src/rules/model.js';
import { EXAMPLE_POLICIES, DEMO_ESTATE } from '../../src/service.js';
import { parseEstateText } from '../../src/providers/sandbox/index.js';

const dir = mkdtempSync(join(tmpdir(), 'confix-policy-'));
const write = (name: string, text: string) => {
  const f = join(dir, name);
  mkdirSync(join(f, '..'), { recursive: true });
  writeFileSync(f, text);
  return f;
};

const TWO_RULES = `kind: Rule
name: no-ssh
source: { managed: sg-risky-ports-check }
parameters: { ports: "22" }
riskLevel: 1
---
kind: Rule
name: tagged-owner
description: Every instance names its owner.
source: { cel: "'owner' in resource.tags" }
scope: { resourceTypes: [ACS::ECS::Instance, AWS::EC2::Instance] }
triggers: [ConfigurationChange, { type: Periodic, frequency: Six_Hours }]
riskLevel: 3
`;

test('plan and apply create, change and (with prune) delete; only policy rules are deleted', async () => {
  const db = await freshDb();
  const engine = createEngine(db);
  const { rules } = engine;
  try {
    await rules.create(validateRule({ name: 'made-by-api', source: { managed: 'ecs-instance-monitor-enabled' } }));
    const docs = readPolicyDocuments([write('a/rules.yaml', TWO_RULES)]);
    assert.deepEqual(
      docs.map((d) => d.source),
      [`${join(dir, 'a/rules.yaml')}#1`, `${join(dir, 'a/rules.yaml')}#2`],
    );
    const plan = await planPolicy(engine, docs);
    assert.deepEqual(
      plan.create.map((s) => s.name),
      ['no-ssh', 'tagged-owner'],
    );
    assert.deepEqual([plan.update, plan.delete, plan.notDeclared], [[], [], []]);
    assert.equal((await rules.list()).length, 1, 'plan changes nothing');
    await applyPolicy(engine, docs);
    const applied = await rules.get('tagged-owner');
    assert.equal(applied.origin, 'policy');
    assert.deepEqual(applied.triggers, [{ type: 'ConfigurationChange' }, { type: 'Periodic', frequency: 'Six_Hours' }]);
    assert.deepEqual(await planPolicy(engine, docs), {
      create: [],
      update: [],
      delete: [],
      unchanged: ['no-ssh', 'tagged-owner'],
      notDeclared: [],
      exceptions: { create: [], update: [], delete: [], unchanged: 0, notDeclared: [] },
      accountGroups: { create: [], update: [], delete: [], unchanged: [], notDeclared: [] },
      organization: null,
      automaticRemediation: [],
    });

    // Change one parameter, drop the other rule.
    const changed = readPolicyDocuments([write('b.yaml', TWO_RULES.split('---')[0]!.replace('ports: "22"', 'ports: "22,3389"'))]);
    const kept = await planPolicy(engine, changed);
    assert.deepEqual([kept.delete, kept.notDeclared], [[], ['tagged-owner']], 'without prune nothing is deleted');
    const p2 = await planPolicy(engine, changed, { prune: true });
    assert.deepEqual(
      p2.update.map((u) => [u.name, u.changes.map((c) => [c.op, c.path, c.previousValue, c.value])]),
      [['no-ssh', [['replace', '/parameters/ports', '22', '22,3389']]]],
    );
    assert.deepEqual(p2.delete, ['tagged-owner']);
    await applyPolicy(engine, changed, { prune: true });
    assert.deepEqual(
      (await rules.list()).map((r) => r.name),
      ['made-by-api', 'no-ssh'],
    );
    assert.equal((await rules.get('no-ssh')).version, 2);
  } finally {
    await db.close();
  }
});

test('a bad policy is refused whole, with file, line and field, and nothing changes', async () => {
  const db = await freshDb();
  const engine = createEngine(db);
  const { rules } = engine;
  try {
    const f = write(
      'bad.yaml',
      `kind: Rule
name: ok-rule
source: { managed: ecs-instance-monitor-enabled }
---
kind: Rule
name: bad-ports
source: { managed: sg-risky-ports-check }
parameters:
  ports: "22,abc"
---
kind: Rule
name: ok-rule
source: { managed: ecs-instance-monitor-enabled }
`,
    );
    const docs = readPolicyDocuments([f]);
    const err = await applyPolicy(engine, docs).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof PolicyValidationError);
    const lines = err.issues.map((i) => `${docs[i.document]!.lineOf(i.path)}: ${i.path.join('.')}: ${i.message}`);
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /^9: parameters\.ports: .*22,abc/);
    assert.match(lines[1]!, /^12: name: rule "ok-rule" is also declared in .*bad\.yaml#1/);
    assert.equal((await rules.list()).length, 0, 'nothing was applied');
  } finally {
    await db.close();
  }
});

test('policy files: syntax errors, unknown kinds and missing paths are named', () => {
  assert.throws(
    () => readPolicyDocuments([write('syntax.yaml', 'kind: Rule\nname: [unclosed\n')]),
    (e: PolicyFileError) => /syntax\.yaml:\d+:/.test(e.message),
  );
  assert.throws(
    () => readPolicyDocuments([write('kind.yaml', 'kind: Widget\nname: w\n')]),
    /kind\.yaml:1: kind: expected one of Rule, AccountGroup, Organization, RemediationException, got "Widget"/,
  );
  assert.throws(() => readPolicyDocuments([join(dir, 'nope.yaml')]), /nope\.yaml: no such file or directory/);
});

test('the example policies are valid and cover the four seed rules', async () => {
  const db = await freshDb();
  try {
    const engine = createEngine(db);
    const plan = await planPolicy(engine, readPolicyDocuments([EXAMPLE_POLICIES]));
    const managed = plan.create.map((s) => ('managed' in s.source ? s.source.managed : 'cel')).sort();
    assert.deepEqual(managed, ['approved-amis-by-id', 'ecs-instance-monitor-enabled', 'oss-bucket-public-read-prohibited', 'sg-risky-ports-check']);
  } finally {
    await db.close();
  }
});

test('remediation exceptions declared in policy files: plan, apply, change, refuse what is wrong, prune only what files made', async () => {
  const db = await freshDb();
  try {
    const engine = createEngine(db);
    await engine.sandbox.loadEstate(parseEstateText(readFileSync(DEMO_ESTATE, 'utf8'), DEMO_ESTATE).raw);
    await engine.recorder.snapshot('sandbox');
    const rule = `kind: Rule
name: sg-open
source: { managed: sg-risky-ports-check }
scope: { resourceTypes: [ACS::ECS::SecurityGroup] }
remediation: { action: ACS-ECS-RevokeSecurityGroupRules, invokeType: AUTO_EXECUTION }
`;
    const exception = (reason: string, extra = '') => `---
kind: RemediationException
rule: sg-open
resourceId: sg-ack-managed
reason: ${reason}
expires: 2099-01-31T00:00:00Z
${extra}`;
    const docs = readPolicyDocuments([write('ex/policy.yaml', rule + exception('managed by the container service'))]);
    const plan = await planPolicy(engine, docs);
    assert.deepEqual(
      plan.exceptions.create.map((e) => [e.rule, e.accountId, e.resourceType, e.resourceId, e.expiresAt]),
      [['sg-open', '100931896542', 'ACS::ECS::SecurityGroup', 'sg-ack-managed', '2099-01-31T00:00:00.000Z']],
    );
    await applyPolicy(engine, docs);
    const ruleId = (await engine.rules.get('sg-open')).ruleId;
    const [stored] = await engine.exceptions.list(ruleId);
    assert.equal(stored!.origin, 'policy');
    assert.equal(stored!.reason, 'managed by the container service');
    assert.equal((await planPolicy(engine, docs)).exceptions.unchanged, 1);

    const changed = readPolicyDocuments([write('ex/policy.yaml', rule + exception('the ACK team owns it'))]);
    const p2 = await planPolicy(engine, changed);
    assert.deepEqual(
      p2.exceptions.update.map((e) => [e.before.reason, e.reason]),
      [['managed by the container service', 'the ACK team owns it']],
    );

    // Wrong documents are refused with file and line, and nothing changes.
    const bad = readPolicyDocuments([
      write(
        'ex/bad.yaml',
        rule +
          exception('x').replace('2099-01-31T00:00:00Z', '7d') +
          `---
kind: RemediationException
rule: no-such-rule
resourceId: sg-ack-managed
reason: x
---
kind: RemediationException
rule: sg-open
resourceId: sg-not-recorded
reason: x
`,
      ),
    ]);
    const err = await applyPolicy(engine, bad).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof PolicyValidationError);
    const lines = err.issues.map((i) => `${bad[i.document]!.lineOf(i.path)}: ${i.path.join('.')}: ${i.message}`);
    assert.deepEqual(lines.length, 3, lines.join('\n'));
    assert.match(lines[0]!, /^11: expires: "7d" is not a time; write an absolute time/);
    assert.match(lines[1]!, /^14: rule: no rule named "no-such-rule"/);
    assert.match(
      lines[2]!,
      /^20: resourceId: no recorded resource has the id "sg-not-recorded"; for a resource not recorded yet, give accountId, regionId and resourceType/,
    );
    assert.equal((await engine.exceptions.list(ruleId))[0]!.reason, 'managed by the container service', 'nothing was applied');

    // A resource not recorded yet, with its whole key; and one made through the API, which prune keeps.
    const later = readPolicyDocuments([
      write(
        'ex/later.yaml',
        rule +
          `---
kind: RemediationException
rule: sg-open
resourceId: sg-tomorrow
accountId: "100931896542"
regionId: cn-hangzhou
resourceType: ACS::ECS::SecurityGroup
reason: created tomorrow by the platform team
`,
      ),
    ]);
    await engine.exceptions.put(ruleId, await engine.inventory.resolve('sg-member-db'), 'by hand', null);
    const p3 = await planPolicy(engine, later, { prune: true });
    assert.deepEqual(
      p3.exceptions.create.map((e) => e.resourceId),
      ['sg-tomorrow'],
    );
    assert.deepEqual(
      p3.exceptions.delete.map((e) => e.resourceId),
      ['sg-ack-managed'],
    );
    await applyPolicy(engine, later, { prune: true });
    assert.deepEqual(
      (await engine.exceptions.list(ruleId)).map((e) => [e.resourceId, e.origin]),
      [
        ['sg-tomorrow', 'policy'],
        ['sg-member-db', 'api'],
      ],
    );
  } finally {
    await db.close();
  }
});
