// The organization and account groups through the API and the command line,
// on the seed 000 estate: A manages, B and C are members.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { testService } from '../helpers/service.js';
import { cliFor } from '../helpers/cli.js';
import { parseEstateText } from '../../src/providers/sandbox/index.js';

const SEED = 'examples/estates/seed-000.yaml';
const A = '100931896542';
const B = '178366182654';
const C = '139876543210';
const RULE = 'ecs-instance-monitor-enabled';

let svc: Awaited<ReturnType<typeof testService>>;
let seed: any;

/** The real CLI, as a user runs it, against the test service. */
const confix = (...args: string[]) => cliFor(svc)(...args);

const put = (name: string, json: unknown) => svc.api(`/account-groups/${name}`, { method: 'PUT', json });
const resultsOf = async (rule: string) =>
  ((await svc.api(`/compliance?rule=${rule}`)).body.items as { accountId: string; complianceType: string }[]).map((r) => [r.accountId, r.complianceType]);

before(async () => {
  svc = await testService({ demo: false });
  seed = parseEstateText(await readFile(SEED, 'utf8'), SEED).raw;
  const load = await svc.api('/sandbox/estate', { json: { estate: seed } });
  assert.equal(load.status, 200, JSON.stringify(load.body));
});
after(async () => {
  await svc.close();
});

test('GET /organization and GET /accounts: roles, folders, credentials and groups', async () => {
  const org = await svc.api('/organization');
  assert.equal(org.status, 200);
  assert.equal(org.body.managementAccount, A);
  assert.deepEqual(org.body.delegatedAdministrators, []);
  assert.deepEqual(
    org.body.folders.map((f: { path: string }) => f.path),
    ['production', 'sandbox'],
  );

  const stored = await svc.api('/credentials', {
    json: { accountId: A, accessKeyId: 'LTAI5tSeed000ManagementA', accessKeySecret: 'seed000-management-secret-do-not-print' },
  });
  assert.equal(stored.status, 201);
  const accounts = await svc.api('/accounts');
  assert.equal(accounts.status, 200);
  assert.deepEqual(
    accounts.body.items.map((a: any) => [a.accountId, a.organizationRole, a.folderPath, a.credentials, a.groups, a.resources]),
    [
      [A, 'management', null, true, [], 1],
      [C, 'member', 'sandbox', false, [], 1],
      [B, 'member', 'production', false, [], 1],
    ],
  );
  assert.ok(!JSON.stringify(accounts.body).includes('seed000-management-secret'), 'no secret in the listing');
  await svc.api(`/credentials/${A}`, { method: 'DELETE' });
});

test('account groups: created, refused with the field named, owned by a delegated administrator', async () => {
  const created = await put('seed-000', { members: { accounts: [A, B] }, description: 'seed 000' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.deepEqual([created.body.ownerAccountId, created.body.memberAccounts, created.body.origin, created.body.rules], [A, [A, B], 'api', []]);
  assert.equal((await put('seed-000', { members: { accounts: [A, B] }, description: 'seed 000' })).status, 200, 'replaced');

  const byB = await put('by-b', { ownerAccountId: B, members: { organization: true } });
  assert.equal(byB.status, 400);
  assert.equal(byB.body.error.code, 'InvalidAccountGroup');
  assert.deepEqual(
    byB.body.error.issues.map((i: { path: string }) => i.path),
    ['ownerAccountId'],
  );
  assert.match(byB.body.error.message, /account 178366182654 is neither the management account nor a delegated administrator/);
  const badFolder = await put('x', { members: { folder: 'staging' } });
  assert.deepEqual([badFolder.status, badFolder.body.error.issues[0].path], [400, 'members.folder']);
  const renamed = await put('x', { name: 'y', members: { organization: true } });
  assert.equal(renamed.status, 400);

  const delegated = await svc.api('/organization/delegated-administrators', { json: { accountId: B } });
  assert.equal(delegated.status, 201);
  assert.deepEqual(delegated.body.delegatedAdministrators, [B]);
  assert.equal((await svc.api('/organization/delegated-administrators', { json: { accountId: A } })).body.error.code, 'InvalidParameter.AccountId');
  assert.equal((await put('by-b', { ownerAccountId: B, members: { organization: true } })).status, 201);
  assert.equal((await svc.api('/accounts')).body.items.find((a: any) => a.accountId === B).organizationRole, 'delegated-administrator');
  const inUse = await svc.api(`/organization/delegated-administrators/${B}`, { method: 'DELETE' });
  assert.equal(inUse.status, 409);
  assert.equal(inUse.body.error.code, 'DelegatedAdministratorInUse');
  assert.match(inUse.body.error.message, /owns account group by-b/);
  assert.equal((await svc.api('/account-groups/by-b', { method: 'DELETE' })).status, 200);
  const undelegated = await svc.api(`/organization/delegated-administrators/${B}`, { method: 'DELETE' });
  assert.deepEqual([undelegated.status, undelegated.body.delegatedAdministrators], [200, []]);
  assert.equal((await svc.api(`/organization/delegated-administrators/${B}`, { method: 'DELETE' })).body.error.code, 'EntityNotExists.DelegatedAdministrator');
  assert.equal((await svc.api('/account-groups/nope')).status, 404);
});

test('a rule scoped to a group: member accounts only, compliance by account, group change re-evaluates, delete refused', async () => {
  const unknown = await svc.api('/rules', { json: { name: RULE, source: { managed: RULE }, scope: { accountGroup: 'nope' } } });
  assert.equal(unknown.status, 400);
  assert.equal(unknown.body.error.code, 'InvalidRule');
  assert.deepEqual(
    unknown.body.error.issues.map((i: { path: string }) => i.path),
    ['scope.accountGroup'],
  );
  assert.match(unknown.body.error.message, /no account group named "nope"; the groups are seed-000/);

  const created = await svc.api('/rules', { json: { name: RULE, source: { managed: RULE }, scope: { accountGroup: 'seed-000' } } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.rule.scope.accountGroup, 'seed-000');
  assert.equal(created.body.evaluation.evaluations, 2);
  assert.deepEqual(await resultsOf(RULE), [
    [A, 'COMPLIANT'],
    [B, 'NON_COMPLIANT'],
  ]);

  const view = await svc.api('/account-groups/seed-000/compliance');
  assert.equal(view.status, 200);
  assert.deepEqual(
    view.body.accounts.map((a: any) => [
      a.accountId,
      a.name,
      a.totals.compliant,
      a.totals.nonCompliant,
      a.totals.nonCompliantResources,
      a.rules.map((r: any) => [r.ruleName, r.nonCompliant]),
    ]),
    [
      [A, 'account-a-management', 1, 0, 0, [[RULE, 0]]],
      [B, 'account-b-member', 0, 1, 1, [[RULE, 1]]],
    ],
  );
  assert.deepEqual([view.body.totals.compliant, view.body.totals.nonCompliant], [1, 1]);
  assert.deepEqual((await svc.api('/account-groups/seed-000')).body.rules, [RULE]);
  assert.deepEqual(
    (await svc.api('/accounts')).body.items.map((a: any) => a.groups),
    [['seed-000'], [], ['seed-000']],
  );

  const refused = await svc.api('/account-groups/seed-000', { method: 'DELETE' });
  assert.equal(refused.status, 409);
  assert.equal(refused.body.error.code, 'AccountGroupInUse');
  assert.deepEqual(refused.body.error.rules, [RULE]);

  // B leaves: its result closes before the answer comes back.
  assert.equal((await put('seed-000', { members: { accounts: [A] } })).status, 200);
  assert.deepEqual(await resultsOf(RULE), [[A, 'COMPLIANT']]);
  // A folder group: C joins production when the estate moves it there.
  assert.equal((await put('seed-000', { members: { folder: 'production' } })).status, 200);
  assert.deepEqual(await resultsOf(RULE), [[B, 'NON_COMPLIANT']]);
  const moved = structuredClone(seed);
  moved.organization.folders = [
    { name: 'production', accounts: [B, C] },
    { name: 'sandbox', accounts: [] },
  ];
  assert.equal((await svc.api('/sandbox/estate', { json: { estate: moved } })).status, 200);
  assert.deepEqual(await resultsOf(RULE), [
    [C, 'NON_COMPLIANT'],
    [B, 'NON_COMPLIANT'],
  ]);
  assert.equal((await svc.api('/sandbox/estate', { json: { estate: seed } })).status, 200);
  assert.deepEqual(await resultsOf(RULE), [[B, 'NON_COMPLIANT']]);

  const doc = await svc.api('/openapi.json');
  for (const p of [
    '/organization',
    '/organization/delegated-administrators',
    '/organization/delegated-administrators/{accountId}',
    '/accounts',
    '/account-groups',
    '/account-groups/{name}',
    '/account-groups/{name}/compliance',
  ])
    assert.ok(doc.body.paths[p], `OpenAPI documents ${p}`);
  assert.equal((await svc.api(`/rules/${RULE}`, { method: 'DELETE' })).status, 200);
  assert.equal((await svc.api('/account-groups/seed-000', { method: 'DELETE' })).status, 200);
});

test('the command line: organization tree, accounts, account groups with compliance by account, delegation', async () => {
  const org = await confix('get', 'organization');
  assert.equal(org.code, 0, org.stderr);
  assert.match(org.stdout, /management account: 100931896542 \(account-a-management\)/);
  assert.match(org.stdout, /delegated administrators: none/);
  assert.ok(
    org.stdout.includes(
      [
        '(root)',
        '├─ 100931896542  account-a-management [management]',
        '├─ production/',
        '│  └─ 178366182654  account-b-member',
        '└─ sandbox/',
        '   └─ 139876543210  account-c-outside-the-group',
      ].join('\n'),
    ),
    org.stdout,
  );
  const accounts = await confix('get', 'accounts');
  assert.match(accounts.stdout, /ACCOUNT\s+NAME\s+ROLE\s+FOLDER\s+CREDENTIALS\s+GROUPS/);
  assert.match(accounts.stdout, /178366182654\s+account-b-member\s+member\s+production\s+none/);
  assert.equal(JSON.parse((await confix('get', 'accounts', '--json')).stdout).length, 3);

  const none = await confix('account-group', 'put', 'ab');
  assert.equal(none.code, 1);
  assert.match(none.stderr, /give the members: --accounts ID,ID, --folder F or --organization/);
  const two = await confix('account-group', 'put', 'ab', '--organization', '--folder', 'production');
  assert.match(two.stderr, /give the members one way, not --folder and --organization/);
  const badOwner = await confix('account-group', 'put', 'ab', '--organization', '--owner', C);
  assert.equal(badOwner.code, 1);
  assert.match(
    badOwner.stderr,
    /^confix: account group ab is invalid: ownerAccountId: account 139876543210 is neither the management account nor a delegated administrator/,
  );

  const made = await confix('account-group', 'put', 'ab', '--accounts', `${A},${B}`, '--read-role', 'ConfigReadRole', '--description', 'seed 000');
  assert.equal(made.code, 0, made.stderr);
  assert.match(made.stdout, /account group ab: accounts 100931896542, 178366182654, owned by 100931896542; 2 accounts/);
  assert.equal((await svc.api('/rules', { json: { name: RULE, source: { managed: RULE }, scope: { accountGroup: 'ab' } } })).status, 201);

  const list = await confix('get', 'account-groups');
  assert.match(list.stdout, /NAME\s+OWNER\s+MEMBERS\s+ACCOUNTS\s+RULES\s+READ ROLE\s+ORIGIN/);
  assert.match(list.stdout, /ab\s+100931896542\s+accounts 100931896542, 178366182654\s+2\s+ecs-instance-monitor-enabled\s+ConfigReadRole\s+api/);
  const one = await confix('get', 'account-group', 'ab');
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /owner 100931896542 {2}members: accounts 100931896542, 178366182654 {2}read role ConfigReadRole/);
  assert.match(one.stdout, /100931896542\s+account-a-management\s+0\s+0\s+1/);
  assert.match(one.stdout, /178366182654\s+account-b-member\s+1\s+1\s+0/);
  assert.doesNotMatch(one.stdout, /139876543210/);
  const json = JSON.parse((await confix('get', 'account-group', 'ab', '--json')).stdout);
  assert.deepEqual(
    json.compliance.accounts.map((a: any) => a.accountId),
    [A, B],
  );

  const inUse = await confix('account-group', 'delete', 'ab');
  assert.equal(inUse.code, 1);
  assert.match(inUse.stderr, /account group "ab" is used by rule ecs-instance-monitor-enabled/);

  const delegate = await confix('organization', 'delegate', C);
  assert.equal(delegate.code, 0, delegate.stderr);
  assert.match(delegate.stdout, /139876543210 is a delegated administrator/);
  assert.match((await confix('get', 'organization')).stdout, /139876543210 {2}account-c-outside-the-group \[delegated administrator\]/);
  const again = await confix('organization', 'delegate', C);
  assert.match(again.stderr, /already a delegated administrator/);
  assert.equal((await confix('organization', 'undelegate', C)).code, 0);

  assert.equal((await svc.api(`/rules/${RULE}`, { method: 'DELETE' })).status, 200);
  const deleted = await confix('account-group', 'delete', 'ab');
  assert.equal(deleted.code, 0, deleted.stderr);
  assert.match((await confix('get', 'account-groups')).stdout, /no account groups/);

  const help = await confix('account-group', 'put', '--help');
  assert.match(help.stdout, /Examples:\n {2}confix account-group put seed-000 --accounts/);
});
