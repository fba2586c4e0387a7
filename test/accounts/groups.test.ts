// Account groups: validated against the organization, resolved to member
// accounts, and the scope of the rules that name them — a member account
// outside the group is left alone.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backends, freshDb } from '../helpers/db.js';
import { createEngine, type Engine } from '../../src/engine.js';
import { parseEstateText } from '../../src/providers/sandbox/index.js';
import { validateRule } from '../../src/rules/model.js';
import { AccountGroupInUseError, AccountGroupNotFoundError, AccountGroupValidationError, checkAccountGroup } from '../../src/accounts/groups.js';
import type { ComplianceChange } from '../../src/evaluation/evaluator.js';
import { readPolicyDocuments } from '../../src/policy/files.js';
import { applyPolicy, planPolicy, PolicyValidationError } from '../../src/policy/plan.js';

const SEED = 'examples/estates/seed-000.yaml';
const A = '100931896542'; // management
const B = '178366182654'; // member, folder production
const C = '139876543210'; // member, folder sandbox
const REGION = 'cn-hangzhou';
const TYPE = 'ACS::ECS::Instance';
const B_INSTANCE = 'i-bp1seed000memberb001';
const C_INSTANCE = 'i-bp1seed000outsidec01';

/** The seed 000 estate, with a nested folder to test sub-folders. */
async function seedEstate(extra?: (raw: any) => void) {
  const { raw } = parseEstateText(await readFile(SEED, 'utf8'), SEED);
  extra?.(raw);
  return raw;
}

async function engineWithSeed(backend: (typeof backends)[number], extra?: (raw: any) => void): Promise<Engine> {
  const db = await freshDb(backend);
  const engine = createEngine(db);
  await engine.sandbox.loadEstate(await seedEstate(extra), { source: SEED });
  await engine.recorder.snapshot('sandbox');
  return engine;
}

const issuesOf = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof AccountGroupValidationError, `refused: ${String(err)}`);
  return err.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

const result = async (engine: Engine, accountId: string, resourceId: string) =>
  (await engine.compliance.results({ resource: { accountId, regionId: REGION, resourceType: TYPE, resourceId } })).items[0]?.complianceType;

for (const backend of backends) {
  describe(`account groups (${backend})`, () => {
    let engine: Engine;
    before(async () => {
      engine = await engineWithSeed(backend, (raw) => {
        // production/web under production, holding no account yet; D in it later.
        raw.organization.folders[0].folders = [{ name: 'web', accounts: [] }];
      });
    });
    after(async () => {
      await engine.db.close();
    });

    test('the owner must be the management account or a delegated administrator', async () => {
      const g = engine.groups;
      const byDefault = await g.put({ name: 'ab', members: { accounts: [A, B] } });
      assert.equal(byDefault.ownerAccountId, A, 'the management account by default');
      assert.equal(byDefault.created, true);
      assert.equal(byDefault.origin, 'api');

      const refused = await issuesOf(g.put({ name: 'by-b', ownerAccountId: B, members: { organization: true } }));
      assert.deepEqual(refused, [
        `ownerAccountId: account ${B} is neither the management account nor a delegated administrator: only the management account or a delegated administrator may own an account group (the management account is ${A}; delegated administrators: none); register it with \`confix organization delegate ${B}\``,
      ]);
      assert.match(
        (await issuesOf(g.put({ name: 'x', ownerAccountId: '999999999999', members: { organization: true } })))[0]!,
        /account 999999999999 is not in the organization/,
      );

      await engine.sandbox.registerDelegatedAdministrator(B);
      const owned = await g.put({ name: 'by-b', ownerAccountId: B, members: { organization: true }, readRole: 'ConfigReadRole' });
      assert.equal(owned.ownerAccountId, B);
      assert.equal((await g.get('by-b'))!.readRole, 'ConfigReadRole');
      await g.remove('by-b');
      await engine.sandbox.deregisterDelegatedAdministrator(B);
      assert.equal(await g.get('by-b'), undefined);
    });

    test('delegated administrators: only member accounts, not the management account, once', async () => {
      const s = engine.sandbox;
      await assert.rejects(s.registerDelegatedAdministrator(A), { code: 'InvalidParameter.AccountId', message: /is the management account/ });
      await assert.rejects(s.registerDelegatedAdministrator('111122223333'), { code: 'EntityNotExists.Account' });
      const org = await s.registerDelegatedAdministrator(C);
      assert.deepEqual(org.delegatedAdministrators, [C]);
      await assert.rejects(s.registerDelegatedAdministrator(C), { code: 'EntityAlreadyExists.DelegatedAdministrator' });
      assert.deepEqual((await s.deregisterDelegatedAdministrator(C)).delegatedAdministrators, []);
      await assert.rejects(s.deregisterDelegatedAdministrator(C), { code: 'EntityNotExists.DelegatedAdministrator' });
    });

    test('members must be in the organization; a folder must exist; the form is checked field by field', async () => {
      const g = engine.groups;
      assert.deepEqual(await issuesOf(g.put({ name: 'x', members: { accounts: [B, '222233334444'] } })), [
        'members.accounts.1: account 222233334444 is not in the organization',
      ]);
      assert.deepEqual(await issuesOf(g.put({ name: 'x', members: { folder: 'staging' } })), [
        'members.folder: no folder "staging" in the organization; its folders are production, production/web, sandbox',
      ]);
      assert.deepEqual(await issuesOf(g.put({ name: 'x', members: { accounts: ['12'] } })), [
        'members.accounts.0: "12" is not a 12-digit account id (quote it in YAML: "100931896542")',
      ]);
      assert.match(
        (await issuesOf(g.put({ name: 'x', members: { accounts: [B], folder: 'sandbox' } })))[0]!,
        /^members: accounts and folder: give only one of/,
      );
      assert.match((await issuesOf(g.put({ name: 'x', members: { organization: 'yes' } })))[0]!, /^members\.organization: true/);
      assert.match((await issuesOf(g.put({ name: 'x' })))[0]!, /^members: required/);
      assert.match((await issuesOf(g.put({ name: 'bad name', members: { organization: true } })))[0]!, /^name: a name of letters/);
      assert.match((await issuesOf(g.put({ name: 'x', members: { organization: true }, readRole: 'no spaces allowed' })))[0]!, /^readRole: a role name/);
      assert.match((await issuesOf(g.put({ name: 'x', members: { organization: true }, owner: A })))[0]!, /Unrecognized key.*owner/);
      // No organization at all.
      assert.deepEqual(
        checkAccountGroup({ name: 'x', members: { organization: true } }, null).issues.map((i) => i.message),
        [
          'there is no organization (resource directory) to group accounts of; declare one in the estate file (organization: { managementAccount: …, folders: … })',
        ],
      );
      assert.equal(await g.get('x'), undefined, 'nothing refused was stored');
    });

    test('membership by accounts, by folder (with sub-folders, by path or name) and the whole organization', async () => {
      const g = engine.groups;
      await g.put({ name: 'prod', members: { folder: 'production' } });
      await g.put({ name: 'web', members: { folder: 'web' } }); // by name: stored as its path
      await g.put({ name: 'all', members: { organization: true }, description: 'every account' });
      assert.deepEqual((await g.get('web'))!.members, { folder: 'production/web' });
      assert.deepEqual(await g.members('ab'), [A, B]);
      assert.deepEqual(await g.members('prod'), [B]);
      assert.deepEqual(await g.members('web'), []);
      assert.deepEqual(await g.members('all'), [A, C, B].sort());
      await assert.rejects(g.members('nope'), AccountGroupNotFoundError);

      // C moves into production/web: it joins both folder groups, nothing to change here.
      await engine.sandbox.loadEstate(
        await seedEstate((raw) => {
          raw.organization.folders = [
            { name: 'production', accounts: [B], folders: [{ name: 'web', accounts: [C] }] },
            { name: 'sandbox', accounts: [] },
          ];
        }),
      );
      assert.deepEqual(await g.members('prod'), [B, C].sort());
      assert.deepEqual(await g.members('web'), [C]);
      const all = await g.resolveAll();
      assert.deepEqual([...all.keys()].sort(), ['ab', 'all', 'prod', 'web']);
      assert.deepEqual([...(await g.groupsByAccount()).get(C)!].sort(), ['all', 'prod', 'web']);
      assert.deepEqual(
        (await g.list()).map((x) => x.name),
        ['ab', 'all', 'prod', 'web'],
      );
      for (const n of ['prod', 'web', 'all']) await g.remove(n);
    });
  });

  test(`${backend}: a rule scoped to a group judges its member accounts only; a group change re-evaluates it; delete refused while used`, async () => {
    const engine = await engineWithSeed(backend);
    const { groups, rules, evaluator } = engine;
    try {
      const changes: ComplianceChange[] = [];
      evaluator.on('compliance-change', (c: ComplianceChange) => changes.push(c));
      await groups.put({ name: 'seed-000', members: { accounts: [A, B] } });
      const rule = await rules.create(
        validateRule({ name: 'ecs-instance-monitor-enabled', source: { managed: 'ecs-instance-monitor-enabled' }, scope: { accountGroup: 'seed-000' } }),
      );
      assert.equal(rule.scope.accountGroup, 'seed-000');
      const first = await evaluator.evaluateRules([rule.name]);
      assert.equal(first.evaluations, 2, 'A and B, not C');
      assert.equal(await result(engine, B, B_INSTANCE), 'NON_COMPLIANT');
      assert.equal(await result(engine, C, C_INSTANCE), undefined, "C's instance, without the agent, gets no result");
      assert.equal(await result(engine, A, 'i-bp1seed000mgmt00001'), 'COMPLIANT');
      assert.ok(!changes.some((c) => c.accountId === C), 'and no compliance event, so no remediation');

      // A change in C is not judged either; one in B is.
      evaluator.attach(engine.recorder, { schedulerMs: 0 });
      engine.recorder.start(60_000);
      await engine.sandbox.call('ecs:ModifyInstanceAttribute', { accountId: C }, { InstanceId: C_INSTANCE, InstanceName: 'c-lab-2' });
      await engine.recorder.drain('sandbox');
      await evaluator.idle();
      assert.equal(await result(engine, C, C_INSTANCE), undefined);

      // B leaves the group: its result closes, with an event.
      changes.length = 0;
      await groups.put({ name: 'seed-000', members: { accounts: [A] } });
      await evaluator.idle();
      assert.equal(await result(engine, B, B_INSTANCE), undefined, "B's result closed");
      assert.deepEqual(
        changes.map((c) => [c.accountId, c.previous, c.current]),
        [[B, 'NON_COMPLIANT', null]],
      );
      const closed = (await engine.compliance.timeline({ ruleId: rule.ruleId, limit: 1 }))[0]!;
      assert.equal(closed.closed, true);
      assert.equal(closed.resourceId, B_INSTANCE);

      // The whole organization: C joins and is judged.
      await groups.put({ name: 'seed-000', members: { organization: true } });
      await evaluator.idle();
      assert.equal(await result(engine, B, B_INSTANCE), 'NON_COMPLIANT');
      assert.equal(await result(engine, C, C_INSTANCE), 'NON_COMPLIANT');

      // scope.accounts and the group together: only accounts in both.
      await rules.update(rule.name, validateRule({ name: rule.name, source: rule.source, scope: { accountGroup: 'seed-000', accounts: [B, '123456789012'] } }));
      await evaluator.evaluateRules([rule.name]);
      const items = (await engine.compliance.results({ ruleId: rule.ruleId })).items;
      assert.deepEqual(
        items.map((r) => r.accountId),
        [B],
      );

      // Deleting the group is refused while the rule uses it, naming the rule.
      await assert.rejects(groups.remove('seed-000'), (err: Error) => {
        assert.ok(err instanceof AccountGroupInUseError);
        assert.equal(
          err.message,
          'account group "seed-000" is used by rule ecs-instance-monitor-enabled; scope that rule to other accounts or delete it first',
        );
        return true;
      });
      await rules.delete(rule.name);
      await groups.remove('seed-000');
      await assert.rejects(groups.remove('seed-000'), AccountGroupNotFoundError);
      evaluator.detach(engine.recorder);
      await engine.recorder.stop();
    } finally {
      await engine.db.close();
    }
  });
}

const dir = mkdtempSync(join(tmpdir(), 'confix-groups-'));
const write = (name: string, text: string) => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};

const GROUP_AND_RULE = `kind: AccountGroup
name: seed-000
description: the management account and B
members:
  accounts: ["${A}", "${B}"]
readRole: ConfigReadRole
---
kind: Rule
name: ecs-instance-monitor-enabled
source: { managed: ecs-instance-monitor-enabled }
scope: { accountGroup: seed-000 }
`;

test('policy files: kind AccountGroup is applied before the rules naming it; refusals name file and line; prune only policy groups no rule uses', async () => {
  const engine = await engineWithSeed('pglite');
  const { groups, rules, evaluator } = engine;
  try {
    const docs = readPolicyDocuments([write('seed.yaml', GROUP_AND_RULE)]);
    const plan = await planPolicy(engine, docs);
    assert.deepEqual(plan.accountGroups.create, [
      { name: 'seed-000', description: 'the management account and B', ownerAccountId: A, members: { accounts: [A, B] }, readRole: 'ConfigReadRole' },
    ]);
    assert.deepEqual(
      plan.create.map((r) => r.name),
      ['ecs-instance-monitor-enabled'],
    );
    assert.equal(await groups.get('seed-000'), undefined, 'plan changes nothing');
    await applyPolicy(engine, docs);
    assert.equal((await groups.get('seed-000'))!.origin, 'policy');
    await evaluator.evaluateRules();
    assert.equal(await result(engine, B, B_INSTANCE), 'NON_COMPLIANT');
    assert.equal(await result(engine, C, C_INSTANCE), undefined);
    const again = await planPolicy(engine, docs);
    assert.deepEqual([again.accountGroups.unchanged, again.accountGroups.create, again.accountGroups.update], [['seed-000'], [], []]);

    // B leaves the group through the file: its result closes once applied.
    const onlyA = readPolicyDocuments([write('seed.yaml', GROUP_AND_RULE.replace(`["${A}", "${B}"]`, `["${A}"]`))]);
    const p2 = await planPolicy(engine, onlyA);
    assert.deepEqual(
      p2.accountGroups.update.map((u) => [u.name, u.changes.map((c) => [c.op, c.path])]),
      [['seed-000', [['remove', '/members/accounts/1']]]],
    );
    await applyPolicy(engine, onlyA);
    await evaluator.idle();
    assert.equal(await result(engine, B, B_INSTANCE), undefined);

    // Refusals: each at its file and line, nothing applied.
    const bad = write(
      'bad.yaml',
      `kind: AccountGroup
name: by-c
ownerAccountId: "${C}"
members: { folder: staging }
---
kind: Rule
name: other
source: { managed: ecs-instance-monitor-enabled }
scope:
  accountGroup: nope
---
kind: AccountGroup
name: broken
members: { accounts: [] }
`,
    );
    const badDocs = readPolicyDocuments([bad]);
    const err = await applyPolicy(engine, badDocs).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof PolicyValidationError);
    assert.deepEqual(
      err.issues.map((i) => `${badDocs[i.document]!.lineOf(i.path)}: ${i.path.join('.')}: ${i.message}`),
      [
        `3: ownerAccountId: account ${C} is neither the management account nor a delegated administrator: only the management account or a delegated administrator may own an account group (the management account is ${A}; delegated administrators: none); register it with \`confix organization delegate ${C}\``,
        '4: members.folder: no folder "staging" in the organization; its folders are production, sandbox',
        '10: scope.accountGroup: no account group named "nope" in the store or in these documents; the groups are broken, by-c, seed-000 (create it with `confix account-group put nope …`, or a kind: AccountGroup document)',
        '14: members.accounts: a list of at least one account id',
      ],
    );
    assert.equal(await rules.get('other').catch(() => undefined), undefined);
    assert.equal(await groups.get('by-c'), undefined);

    // Prune: a policy group a rule still uses is kept; one made through the API is never pruned.
    await groups.put({ name: 'made-by-api', members: { organization: true } });
    await applyPolicy(engine, readPolicyDocuments([write('g2.yaml', `kind: AccountGroup\nname: spare\nmembers: { folder: sandbox }\n`)]));
    const ruleOnly = readPolicyDocuments([write('rule.yaml', GROUP_AND_RULE.split('---')[1]!)]);
    const pruned = await planPolicy(engine, ruleOnly, { prune: true });
    assert.deepEqual([pruned.accountGroups.delete, pruned.accountGroups.notDeclared], [['spare'], ['seed-000']]);
    await applyPolicy(engine, ruleOnly, { prune: true });
    assert.deepEqual(
      (await groups.list()).map((g) => g.name),
      ['made-by-api', 'seed-000'],
    );
    await applyPolicy(engine, [], { prune: true });
    assert.deepEqual(
      (await groups.list()).map((g) => g.name),
      ['made-by-api'],
      'with its rule gone, the policy group goes too',
    );
  } finally {
    await engine.db.close();
  }
});

test('policy files: kind Organization delegates administrators and moves accounts between folders; groups are checked against it; bad input is refused at its line', async () => {
  const engine = await engineWithSeed('pglite');
  const { groups, rules, evaluator, sandbox } = engine;
  try {
    // B administers and owns a group of the production folder, both declared in one apply.
    const ORG = `kind: Organization
managementAccount: "${A}"
delegatedAdministrators: ["${B}"]
folders:
  - name: production
    accounts: ["${B}"]
    folders:
      - name: web
        accounts: []
  - name: sandbox
    accounts: ["${C}"]
---
kind: AccountGroup
name: prod
ownerAccountId: "${B}"
members: { folder: production }
---
kind: Rule
name: ecs-instance-monitor-enabled
source: { managed: ecs-instance-monitor-enabled }
scope: { accountGroup: prod }
`;
    const docs = readPolicyDocuments([write('org.yaml', ORG)]);
    const plan = await planPolicy(engine, docs);
    assert.deepEqual(
      plan.organization!.changes.map((c) => [c.op, c.path, c.value]),
      [
        ['add', '/delegatedAdministrators/0', B],
        ['add', '/folders/production~1web', []],
      ],
    );
    assert.deepEqual((await sandbox.organization())!.delegatedAdministrators, [], 'plan changes nothing');
    await applyPolicy(engine, docs);
    const org = (await sandbox.organization())!;
    assert.deepEqual(org.delegatedAdministrators, [B]);
    assert.deepEqual(
      org.folders.map((f) => f.path),
      ['production', 'production/web', 'sandbox'],
    );
    assert.equal((await groups.get('prod'))!.ownerAccountId, B);
    assert.deepEqual((await planPolicy(engine, docs)).organization!.changes, [], 'applied: nothing left to change');
    await evaluator.evaluateRules();
    assert.equal(await result(engine, B, B_INSTANCE), 'NON_COMPLIANT');
    assert.equal(await result(engine, C, C_INSTANCE), undefined, 'C is in sandbox, not production');

    // C moves to production/web: the folder group now holds it, and its instance is judged.
    const moved = readPolicyDocuments([
      write(
        'org.yaml',
        ORG.replace(`accounts: []`, `accounts: ["${C}"]`).replace(`- name: sandbox\n    accounts: ["${C}"]`, '- name: sandbox\n    accounts: []'),
      ),
    ]);
    const p2 = await planPolicy(engine, moved);
    assert.deepEqual(p2.organization!.changes.map((c) => [c.op, c.path]).sort(), [
      ['add', '/folders/production~1web/0'],
      ['remove', '/folders/sandbox/0'],
    ]);
    await applyPolicy(engine, moved);
    await evaluator.idle();
    assert.deepEqual(await groups.members('prod'), [B, C].sort());
    assert.equal(await result(engine, C, C_INSTANCE), 'NON_COMPLIANT');

    // Refused, each at its line: an unknown account, the management account as administrator,
    // a different management account, an account in two folders, and B's group left without an owner.
    const bad = readPolicyDocuments([
      write(
        'bad-org.yaml',
        `kind: Organization
managementAccount: "${B}"
delegatedAdministrators: ["${A}", "999999999999"]
folders:
  - name: production
    accounts: ["${B}", "${B}"]
`,
      ),
    ]);
    const err = await applyPolicy(engine, bad).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof PolicyValidationError);
    assert.deepEqual(
      err.issues.map((i) => `${bad[i.document]!.lineOf(i.path)}: ${i.path.join('.')}: ${i.message}`),
      [
        `2: managementAccount: the organization's management account is ${A}, not ${B}; it cannot be changed by a policy`,
        `3: delegatedAdministrators.0: ${A} is the management account; it administers already`,
        `3: delegatedAdministrators.1: account 999999999999 is not in the organization (its accounts are ${[A, B, C].sort().join(', ')}); accounts come from the cloud, a policy only places them`,
        `6: folders.0.accounts.1: account ${B} is already in folder production; an account sits in one folder`,
      ],
    );
    const orphan = readPolicyDocuments([write('orphan.yaml', `kind: Organization\ndelegatedAdministrators: []\n`)]);
    const err2 = await planPolicy(engine, orphan).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err2 instanceof PolicyValidationError);
    assert.match(
      err2.issues[0]!.message,
      /^account group prod would break: owner 178366182654 is no longer the management account or a delegated administrator/,
    );
    assert.deepEqual((await sandbox.organization())!.delegatedAdministrators, [B], 'nothing was changed');
    // Declared twice is refused too.
    const twice = readPolicyDocuments([write('twice.yaml', `kind: Organization\n---\nkind: Organization\n`)]);
    await assert.rejects(planPolicy(engine, twice), /twice\.yaml#2: \(document\): the organization is also declared in \S*twice\.yaml#1; there is one/);
    assert.ok(await rules.get('ecs-instance-monitor-enabled'));
  } finally {
    await engine.db.close();
  }
});
