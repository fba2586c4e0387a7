import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshDb } from '../helpers/db.js';
import { readPolicyDocuments, PolicyFileError } from '../../src/policy/files.js';
import { applyPolicy, planPolicy, PolicyValidationError } from '../../src/policy/plan.js';
import { RuleStore } from '../../src/rules/store.js';
import { validateRule } from '../../src/rules/model.js';
import { EXAMPLE_POLICIES } from '../../src/service.js';

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
  const rules = new RuleStore(db);
  try {
    await rules.create(validateRule({ name: 'made-by-api', source: { managed: 'ecs-instance-monitor-enabled' } }));
    const docs = readPolicyDocuments([write('a/rules.yaml', TWO_RULES)]);
    assert.deepEqual(docs.map((d) => d.source), [`${join(dir, 'a/rules.yaml')}#1`, `${join(dir, 'a/rules.yaml')}#2`]);
    const plan = await planPolicy(rules, docs);
    assert.deepEqual(plan.create.map((s) => s.name), ['no-ssh', 'tagged-owner']);
    assert.deepEqual([plan.update, plan.delete, plan.notDeclared], [[], [], []]);
    assert.equal((await rules.list()).length, 1, 'plan changes nothing');
    await applyPolicy(db, rules, docs);
    const applied = await rules.get('tagged-owner');
    assert.equal(applied.origin, 'policy');
    assert.deepEqual(applied.triggers, [{ type: 'ConfigurationChange' }, { type: 'Periodic', frequency: 'Six_Hours' }]);
    assert.deepEqual(await planPolicy(rules, docs), { create: [], update: [], delete: [], unchanged: ['no-ssh', 'tagged-owner'], notDeclared: [] });

    // Change one parameter, drop the other rule.
    const changed = readPolicyDocuments([write('b.yaml', TWO_RULES.split('---')[0]!.replace('ports: "22"', 'ports: "22,3389"'))]);
    const kept = await planPolicy(rules, changed);
    assert.deepEqual([kept.delete, kept.notDeclared], [[], ['tagged-owner']], 'without prune nothing is deleted');
    const p2 = await planPolicy(rules, changed, { prune: true });
    assert.deepEqual(p2.update.map((u) => [u.name, u.changes.map((c) => [c.op, c.path, c.previousValue, c.value])]), [['no-ssh', [['replace', '/parameters/ports', '22', '22,3389']]]]);
    assert.deepEqual(p2.delete, ['tagged-owner']);
    await applyPolicy(db, rules, changed, { prune: true });
    assert.deepEqual((await rules.list()).map((r) => r.name), ['made-by-api', 'no-ssh']);
    assert.equal((await rules.get('no-ssh')).version, 2);
  } finally {
    await db.close();
  }
});

test('a bad policy is refused whole, with file, line and field, and nothing changes', async () => {
  const db = await freshDb();
  const rules = new RuleStore(db);
  try {
    const f = write('bad.yaml', `kind: Rule
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
`);
    const docs = readPolicyDocuments([f]);
    const err = await applyPolicy(db, rules, docs).then(() => undefined, (e: unknown) => e);
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
  assert.throws(() => readPolicyDocuments([write('syntax.yaml', 'kind: Rule\nname: [unclosed\n')]), (e: PolicyFileError) => /syntax\.yaml:\d+:/.test(e.message));
  assert.throws(() => readPolicyDocuments([write('kind.yaml', 'kind: Widget\nname: w\n')]), /kind\.yaml:1: kind: expected one of Rule, got "Widget"/);
  assert.throws(() => readPolicyDocuments([join(dir, 'nope.yaml')]), /nope\.yaml: no such file or directory/);
});

test('the example policies are valid and cover the four seed rules', async () => {
  const db = await freshDb();
  try {
    const rules = new RuleStore(db);
    const plan = await planPolicy(rules, readPolicyDocuments([EXAMPLE_POLICIES]));
    const managed = plan.create.map((s) => ('managed' in s.source ? s.source.managed : 'cel')).sort();
    assert.deepEqual(managed, ['approved-amis-by-id', 'ecs-instance-monitor-enabled', 'oss-bucket-public-read-prohibited', 'sg-risky-ports-check']);
  } finally {
    await db.close();
  }
});
