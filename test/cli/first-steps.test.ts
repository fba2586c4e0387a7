// What a new user meets (issue 21), as a user runs it against a running
// service: repeated -f adds up and --prune says loudly what it deletes and
// asks first; one `confix delete KIND NAME` verb; the cloud's error codes on
// error lines; list parameters of `sandbox call` without JSON; approvals
// recorded under the token's name.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testService } from '../helpers/service.js';
import { cliFor, runCli } from '../helpers/cli.js';
import { havePty, runCliOnTty } from '../helpers/pty.js';

let svc: Awaited<ReturnType<typeof testService>>;
const dir = mkdtempSync(join(tmpdir(), 'confix-first-steps-'));
const mine = join(dir, 'policies');
const EXAMPLE_RULES = ['approved-amis-by-id', 'ecs-instance-monitor-enabled', 'oss-bucket-public-read-prohibited', 'sg-disallow-risky-ports-for-all-ips'];

/** The real CLI, as a user runs it, against the test service. */
const confix = (...args: string[]) => cliFor(svc)(...args);
const ruleNames = async () => (JSON.parse((await confix('get', 'rules', '--json')).stdout) as { name: string }[]).map((r) => r.name).sort();

before(async () => {
  process.env.CONFIX_WEBHOOK_ALLOW = '127.0.0.1';
  svc = await testService();
  mkdirSync(mine);
  writeFileSync(
    join(mine, 'ssh.yaml'),
    'kind: Rule\nname: ssh-3306\nsource: { managed: sg-risky-ports-check }\nparameters: { ports: "22,3306" }\nriskLevel: 1\n',
  );
});
after(async () => {
  await svc.close();
  delete process.env.CONFIX_WEBHOOK_ALLOW;
});

test('repeated -f adds up: plan and apply read every file given, scan every --policies', async () => {
  const both = await confix('plan', '-f', 'examples/policies', '-f', mine, '--prune');
  assert.equal(both.code, 0, both.stderr);
  assert.match(both.stdout, /\+ create rule ssh-3306/);
  assert.match(both.stdout, /plan: 1 to create, 0 to change, 0 to delete, 4 unchanged/, 'the first -f is not dropped');
  assert.doesNotMatch(both.stdout, /DELETES|- delete rule/);
  // The same file twice is read once (not a rule declared twice).
  const twice = await confix('plan', '-f', mine, '-f', `${mine}/`, '-f', 'examples/policies');
  assert.equal(twice.code, 0, twice.stderr);
  assert.match(twice.stdout, /plan: 1 to create, 0 to change, 0 to delete, 4 unchanged/);

  const scan = await runCli(
    [
      'scan',
      '--estate',
      'examples/estates/demo.yaml',
      '--policies',
      'examples/policies/seed-000-ecs-monitoring.yaml',
      '--policies',
      'examples/policies/seed-001-oss-public-read.yaml',
      '--json',
    ],
    { CONFIX_URL: 'http://127.0.0.1:1' },
  );
  assert.equal(scan.code, 0, scan.stderr);
  assert.deepEqual(
    JSON.parse(scan.stdout)
      .rules.map((r: { name: string }) => r.name)
      .sort(),
    ['ecs-instance-monitor-enabled', 'oss-bucket-public-read-prohibited'],
  );
});

test('--prune says loudly what it deletes; apply refuses without a terminal unless --yes, and asks on one', async () => {
  const plan = await confix('plan', '-f', mine, '--prune');
  assert.equal(plan.code, 0, plan.stderr);
  assert.match(plan.stdout, new RegExp(`^--prune DELETES 4 rules: ${EXAMPLE_RULES.join(', ')}$`, 'm'));

  const refused = await confix('apply', '-f', mine, '--prune');
  assert.equal(refused.code, 1);
  assert.match(
    refused.stderr,
    /^confix: --prune DELETES 4 rules: approved-amis-by-id, .*\. Nothing was applied: there is no terminal to confirm on\. .*then add --yes$/m,
  );
  assert.deepEqual(await ruleNames(), EXAMPLE_RULES, 'nothing was applied: not even the new rule');

  // Nothing to delete: no question, even without a terminal.
  const add = await confix('apply', '-f', 'examples/policies', '-f', mine, '--prune');
  assert.equal(add.code, 0, add.stderr);
  assert.match(add.stdout, /plan: 1 to create, 0 to change, 0 to delete/);
  assert.deepEqual(await ruleNames(), [...EXAMPLE_RULES, 'ssh-3306'].sort());

  if (havePty) {
    const no = await runCliOnTty(['--url', svc.url, 'apply', '-f', 'examples/policies', '--prune'], 'n', { CONFIX_TOKEN: svc.token });
    assert.equal(no.code, 1, no.output);
    assert.match(no.output, /- delete rule ssh-3306/);
    assert.match(no.output, /--prune DELETES 1 rule: ssh-3306\nApply, and delete it\? \[y\/N\] n\nconfix: nothing was applied/);
    assert.ok((await ruleNames()).includes('ssh-3306'), 'answered no: kept');

    const yes = await runCliOnTty(['--url', svc.url, 'apply', '-f', 'examples/policies', '--prune'], 'y', { CONFIX_TOKEN: svc.token });
    assert.equal(yes.code, 0, yes.output);
    assert.match(yes.output, /\[y\/N\] y\n/);
    assert.match(yes.output, /--prune DELETED 1 rule: ssh-3306/);
    assert.deepEqual(await ruleNames(), EXAMPLE_RULES);
    await confix('apply', '-f', 'examples/policies', '-f', mine);
  }

  const yes = await confix('apply', '-f', 'examples/policies', '--prune', '--yes', '--json');
  assert.equal(yes.code, 0, yes.stderr);
  assert.deepEqual(JSON.parse(yes.stdout).plan.delete, ['ssh-3306']);
  assert.deepEqual(await ruleNames(), EXAMPLE_RULES);
});

test('confix delete rule says what went with it; a missing one is named', async () => {
  const created = await svc.api('/rules', {
    json: {
      name: 'sg-open-manual',
      source: { managed: 'sg-risky-ports-check' },
      scope: { resourceTypes: ['ACS::ECS::SecurityGroup'] },
      remediation: { action: 'ACS-ECS-RevokeSecurityGroupRules' },
    },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const dry = await confix('remediate', '--rule', 'sg-open-manual', '--resource', 'sg-debug-open', '--dry-run', '--wait');
  assert.equal(dry.code, 0, dry.stderr);
  const ex = await confix('exception', 'add', '--rule', 'sg-open-manual', '--resource', 'sg-member-db', '--reason', 'db team');
  assert.equal(ex.code, 0, ex.stderr);
  const rule = JSON.parse((await confix('get', 'rule', 'sg-open-manual', '--json')).stdout).rule;
  const results = rule.compliance.nonCompliant + rule.compliance.compliant + rule.compliance.notApplicable + rule.compliance.insufficientData;
  assert.ok(results > 1 && rule.compliance.nonCompliant > 0);

  const del = await confix('delete', 'rule', 'sg-open-manual');
  assert.equal(del.code, 0, del.stderr);
  assert.equal(
    del.stdout.trim(),
    `deleted rule sg-open-manual with ${results} evaluation results (${rule.compliance.nonCompliant} non-compliant) with their timeline, 1 remediation execution and 1 remediation exception`,
  );
  assert.deepEqual((await svc.api('/executions?rule=sg-open-manual')).body.items ?? [], [], 'its executions went with it');
  const again = await confix('delete', 'rule', 'sg-open-manual');
  assert.equal(again.code, 1);
  assert.equal(again.stderr.trim(), 'confix: no rule named "sg-open-manual"');

  // A rule from policy files: deleted, with the warning that applying the files makes it again.
  await confix('apply', '-f', mine);
  const fromFiles = await confix('delete', 'rule', 'ssh-3306', '--json');
  assert.equal(fromFiles.code, 0, fromFiles.stderr);
  const j = JSON.parse(fromFiles.stdout);
  assert.deepEqual([j.deleted, j.origin, j.executions, j.exceptions], ['ssh-3306', 'policy', 0, 0]);
  assert.ok(j.results.total > 0);
  assert.match((await confix('apply', '-f', mine)).stdout, /\+ create rule ssh-3306/);
  assert.match((await confix('delete', 'rule', 'ssh-3306')).stdout, /ssh-3306 came from policy files: applying them again creates it again/);
});

test('confix delete KIND NAME for every kind, old spellings still working; missing ones are named', async () => {
  const fn = join(dir, 'noop.ts');
  writeFileSync(fn, 'export async function handler() { return { ok: true }; }\n');
  const made = [
    await confix('account-group', 'put', 'g1', '--accounts', '100931896542'),
    await confix('topic', 'put', 't1'),
    await confix('subscription', 'put', 's1', '--topic', 't1', '--webhook', 'http://127.0.0.1:9/hook', '--secret', 'a-signing-secret-of-24ch'),
    await confix('subscription', 'put', 's2', '--webhook', 'http://127.0.0.1:9/hook', '--secret', 'a-signing-secret-of-24ch'),
    await confix('function', 'deploy', 'noop', '--file', fn),
    await confix('exception', 'add', '--rule', 'ecs-instance-monitor-enabled', '--resource', 'i-bp1memberapp0000001', '--reason', 'rollout'),
    await runCli(
      ['--url', svc.url, 'credentials', 'add', '--account', '139876543210', '--access-key-id', 'LTAI5tEXAMPLE', '--secret-stdin'],
      { CONFIX_TOKEN: svc.token },
      'not-a-real-secret-0123456789\n',
    ),
    await confix('token', 'create', 'ci-reader', '--role', 'viewer'),
  ];
  for (const m of made) assert.equal(m.code, 0, m.stderr);

  const cases: [string[], RegExp | string, string][] = [
    [['account-group', 'g1'], 'deleted account group g1', 'confix: no account group named "g1"'],
    [['subscription', 's1', '--topic', 't1'], 'deleted subscription s1 of topic t1', 'confix: no subscription s1 on topic t1'],
    [['subscription', 's2'], 'deleted subscription s2 of topic default', 'confix: no subscription s2 on topic default'],
    [['topic', 't1'], 'deleted topic t1', 'confix: no topic t1'],
    [['function', 'noop'], 'deleted function noop', 'confix: no function named "noop"; deploy it with `confix function deploy noop --file …`'],
    [
      ['exception', 'i-bp1memberapp0000001', '--rule', 'ecs-instance-monitor-enabled'],
      "deleted the exception of i-bp1memberapp0000001 under ecs-instance-monitor-enabled: it is no longer exempted from the rule's remediation",
      'confix: i-bp1memberapp0000001 has no exception under ecs-instance-monitor-enabled',
    ],
    [['credentials', '139876543210'], 'deleted the access key of account 139876543210', 'confix: no credentials are stored for account 139876543210'],
  ];
  for (const [args, said, missing] of cases) {
    const d = await confix('delete', ...args);
    assert.equal(d.code, 0, `${args.join(' ')}: ${d.stderr}`);
    assert.equal(d.stdout.trim(), said);
    const again = await confix('delete', ...args);
    assert.equal(again.code, 1, args.join(' '));
    assert.equal(again.stderr.trim(), missing);
  }
  const revoked = await confix('delete', 'token', 'ci-reader', '--json');
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.deepEqual([JSON.parse(revoked.stdout).name, JSON.parse(revoked.stdout).state], ['ci-reader', 'revoked']);
  assert.equal((await confix('delete', 'token', 'nope')).stderr.trim(), 'confix: no token named "nope"');
  const topicJson = await confix('topic', 'put', 't2');
  assert.equal(topicJson.code, 0);
  assert.deepEqual(JSON.parse((await confix('delete', 'topic', 't2', '--json')).stdout), { deleted: 't2', subscriptions: [] });

  // The old spellings still work.
  await confix('topic', 'put', 't3');
  assert.equal((await confix('topic', 'delete', 't3')).stdout.trim(), 'deleted topic t3');
  const help = await confix('delete', '--help');
  for (const kind of ['rule', 'account-group', 'topic', 'subscription', 'function', 'exception', 'credentials', 'token'])
    assert.match(help.stdout, new RegExp(`^  confix delete ${kind} `, 'm'));
  assert.match((await confix('delete', 'exception', '--help')).stdout, /--rule <name>/);
});

test("error lines carry the cloud's error code; confix's own errors stay one plain line", async () => {
  const r = await confix(
    'sandbox',
    'call',
    'ecs:AuthorizeSecurityGroup',
    'SecurityGroupId=sg-nope',
    'IpProtocol=TCP',
    'PortRange=22/22',
    'SourceCidrIp=0.0.0.0/0',
  );
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim(), 'confix: InvalidSecurityGroupId.NotFound: The specified security group "sg-nope" does not exist.');
  const ours = await confix('get', 'rule', 'nope');
  assert.equal(ours.stderr.trim(), 'confix: no rule named "nope"');
});

test('sandbox call: list parameters from a repeated key, a comma list or JSON', async () => {
  // One value for a list parameter is a list of one (it was a string the action refused).
  const one = await confix('sandbox', 'call', 'cms:InstallMonitoringAgent', 'InstanceIds=i-bp1memberapp0000001');
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /changed/);
  // Two ids, as a comma list and repeated: the action takes one, and says so about the list of two it got.
  for (const args of [['InstanceIds=i-0a1b2c3d4e5f60001,i-0a1b2c3d4e5f60002'], ['InstanceIds=i-0a1b2c3d4e5f60001', 'InstanceIds=i-0a1b2c3d4e5f60002']]) {
    const two = await confix('sandbox', 'call', 'ec2:StopInstances', ...args);
    assert.equal(two.code, 1);
    assert.match(two.stderr, /InstanceIds: give InstanceId, or InstanceIds with exactly one instance id/);
  }
  const json = await confix('sandbox', 'call', 'ec2:StopInstances', 'InstanceIds=["i-0a1b2c3d4e5f60002"]', '--json');
  assert.equal(json.code, 0, json.stderr);
  assert.equal(JSON.parse(json.stdout).resourceId, 'i-0a1b2c3d4e5f60002');
  assert.match((await confix('sandbox', 'call', '--help')).stdout, /InstanceIds=i-0a1b2c3d4e5f60002/);
});

test('approve and reject record the token that decided, --by only as a note', async () => {
  const created = await svc.api('/rules', {
    json: {
      name: 'sg-with-approval',
      source: { managed: 'sg-risky-ports-check' },
      scope: { resourceTypes: ['ACS::ECS::SecurityGroup'] },
      remediation: { action: 'ACS-ECS-RevokeSecurityGroupRules', approval: 'required' },
    },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const op = (await confix('token', 'create', 'ops-cli', '--role', 'operator')).stdout.trim();
  const asOps = (...args: string[]) => runCli(['--url', svc.url, ...args], { CONFIX_TOKEN: op, USER: 'root', LOGNAME: 'root' });
  const q = await asOps('remediate', '--rule', 'sg-with-approval', '--resource', 'sg-debug-open', '--resource', 'sg-member-db', '--json');
  assert.equal(q.code, 0, q.stderr);
  const [a, b] = JSON.parse(q.stdout).queued as { executionId: string }[];

  const ok = await asOps('approve', a!.executionId);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  const no = await asOps('reject', b!.executionId, '--reason', 'not now', '--by', 'alice');
  assert.equal(no.code, 0, no.stderr);
  const x = (await svc.api(`/executions/${a!.executionId}`)).body;
  assert.equal(x.decidedBy, 'ops-cli', 'the token, not the operating-system user');
  const y = (await svc.api(`/executions/${b!.executionId}`)).body;
  assert.equal(y.decidedBy, 'ops-cli (note: alice)');
  assert.equal(y.errorMessage, 'rejected by ops-cli (note: alice): not now');
  assert.match((await confix('get', 'execution', b!.executionId)).stdout, /rejected by ops-cli \(note: alice\)/);
});
