import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { testService } from '../helpers/service.js';
import { cliFor } from '../helpers/cli.js';
import { CLI } from '../helpers/cli.js';

const run = promisify(execFile);
let svc: Awaited<ReturnType<typeof testService>>;
const dir = mkdtempSync(join(tmpdir(), 'confix-cli-'));

/** The real CLI, as a user runs it, against the test service. */
const confix = (...args: string[]) => cliFor(svc)(...args);

before(async () => {
  svc = await testService();
});
after(async () => {
  await svc.close();
});

test('get resources lists the demo estate as a table, and as JSON', async () => {
  const t = await confix('get', 'resources', '--type', 'ACS::ECS::SecurityGroup');
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /ACCOUNT\s+REGION\s+TYPE\s+ID/);
  assert.match(t.stdout, /sg-debug-open/);
  assert.doesNotMatch(t.stdout, /AWS::S3::Bucket/);
  const j = await confix('get', 'resources', '--json', '--limit', '2');
  const parsed = JSON.parse(j.stdout);
  assert.equal(parsed.items.length, 2);
  assert.ok(parsed.total > 2);
});

test('opening a port through the sandbox shows in history with the right diff', async () => {
  const call = await confix(
    'sandbox',
    'call',
    'ecs:AuthorizeSecurityGroup',
    'SecurityGroupId=sg-web-prod',
    'IpProtocol=TCP',
    'PortRange=2222/2222',
    'SourceCidrIp=0.0.0.0/0',
  );
  assert.equal(call.code, 0, call.stderr);
  assert.match(call.stdout, /changed/);
  const h = await confix('history', 'sg-web-prod');
  assert.equal(h.code, 0, h.stderr);
  assert.match(h.stdout, /v2 .* OK/);
  const added = h.stdout.split('+ Permissions.Permission[3]:')[1]?.split(/\n\s*\n/)[0] ?? '';
  assert.match(added, /PortRange: 2222\/2222/);
  assert.match(added, /SourceCidrIp: 0\.0\.0\.0\/0/);
  assert.match(added, /IpProtocol: TCP/);
  assert.match(h.stdout, /v1 .* ResourceDiscovered/);
  const r = await confix('get', 'resource', 'sg-web-prod', '--json');
  assert.equal(JSON.parse(r.stdout).configuration.Permissions.Permission.length, 4);
});

test('errors are one clear line and a non-zero status', async () => {
  const missing = await confix('get', 'resource', 'sg-nope');
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr.trim(), 'confix: no recorded resource has the id "sg-nope"');
  const badArg = await confix('get', 'resources', '--limit', 'lots');
  assert.notEqual(badArg.code, 0);
  assert.match(badArg.stderr, /--limit must be a whole number/);
  const down = await run(process.execPath, [...CLI, '--url', 'http://127.0.0.1:1', 'get', 'resources']).catch((e) => e);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /cannot reach the confix service at http:\/\/127\.0\.0\.1:1/);
});

test('sandbox load refuses a bad file with its lines, and loads a good one', async () => {
  const bad = join(dir, 'bad.yaml');
  writeFileSync(
    bad,
    'accounts:\n  - { id: "222233334444", name: x, regions: [eu-west-1] }\nresources:\n  - { account: "222233334444", region: eu-west-1, type: AWS::S3::Bucket, id: Bad_Name }\n  - { account: "999", region: eu-west-1, type: AWS::S3::Bucket, id: b2 }\n',
  );
  const r = await confix('sandbox', 'load', bad);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /estate .*bad\.yaml refused; nothing was loaded/);
  assert.match(r.stderr, /bad\.yaml:5: resources\[1\]\.account: .*unknown account "999"/);
  assert.match(r.stderr, /bad\.yaml:4: resources\[0\]/);
  const accounts = await confix('get', 'accounts', '--json');
  assert.equal(JSON.parse(accounts.stdout).length, 2, 'nothing was loaded');

  const gen = join(dir, 'gen.json');
  const g = await confix('sandbox', 'generate', '--accounts', '2', '--resources', '40', '--seed', '7', '--out', gen);
  assert.equal(g.code, 0, g.stderr);
  const estate = JSON.parse(readFileSync(gen, 'utf8'));
  assert.equal(estate.resources.length, 40);
  const load = await confix('sandbox', 'load', gen);
  assert.equal(load.code, 0, load.stderr);
  assert.match(load.stdout, /2 accounts, 40 resources/);
  const list = await confix('get', 'resources', '--account', estate.accounts[1].id, '--json', '--limit', '1000');
  assert.equal(JSON.parse(list.stdout).total, estate.resources.filter((x: { account: string }) => x.account === estate.accounts[1].id).length);
});

test('--help is there for every command', async () => {
  for (const args of [['--help'], ['get', '--help'], ['sandbox', 'call', '--help'], ['history', '--help'], ['serve', '--help']]) {
    const h = await confix(...args);
    assert.equal(h.code, 0, `${args.join(' ')}: ${h.stderr}`);
    assert.match(h.stdout, /Usage: confix/);
  }
});

test('rules, compliance and evaluation from the command line', async () => {
  const rules = await confix('get', 'rules');
  assert.equal(rules.code, 0, rules.stderr);
  assert.match(rules.stdout, /NAME\s+SOURCE\s+RISK/);
  assert.match(rules.stdout, /sg-disallow-risky-ports-for-all-ips\s+sg-risky-ports-check\s+critical/);
  const rule = await confix('get', 'rule', 'ecs-instance-monitor-enabled');
  assert.equal(rule.code, 0, rule.stderr);
  assert.match(rule.stdout, /i-bp1memberapp0000001.*monitoring agent is not_installed/);
  // A service-managed group: automatic remediation is refused on it, and the listing says where it stands.
  const comp = await confix('get', 'compliance', '--resource', 'sg-ack-managed');
  assert.match(comp.stdout, /sg-disallow-risky-ports-for-all-ips\s+sg-ack-managed.*NON_COMPLIANT/);
  assert.match(comp.stdout, /AUTOMATIC REMEDIATION/);
  assert.match(comp.stdout, /queued rx-|in progress rx-|attempt \d\/5 due|attempts spent|refused, not retried/);
  assert.match(comp.stdout, /timeline/);
  const summary = await confix('get', 'compliance', '--summary', '--json');
  assert.ok(JSON.parse(summary.stdout).totals.nonCompliantResources >= 8);
  const ev = await confix('evaluate', '--rule', 'approved-amis-by-id');
  assert.equal(ev.code, 0, ev.stderr);
  assert.match(ev.stdout, /evaluated 1 rule over (\d+) resources: \1 evaluations, 0 results changed/);
  const unknown = await confix('evaluate', '--rule', 'nope');
  assert.equal(unknown.code, 1);
  assert.equal(unknown.stderr.trim(), 'confix: no rule named "nope"');
  const lib = await confix('get', 'managed-rules');
  assert.match(lib.stdout, /sg-risky-ports-check/);
  assert.match(lib.stdout, /ports default "22,3389"/);
});

test('plan shows a readable diff and apply makes it so; a bad file names file and line', async () => {
  const f = join(dir, 'policy.yaml');
  writeFileSync(f, 'kind: Rule\nname: ssh-3306\nsource: { managed: sg-risky-ports-check }\nparameters: { ports: "22,3306" }\nriskLevel: 1\n');
  const plan = await confix('plan', '-f', f);
  assert.equal(plan.code, 0, plan.stderr);
  assert.match(plan.stdout, /\+ create rule ssh-3306/);
  assert.match(plan.stdout, /plan: 1 to create, 0 to change, 0 to delete/);
  const apply = await confix('apply', '-f', f);
  assert.equal(apply.code, 0, apply.stderr);
  assert.match(apply.stdout, /evaluated 1 rule over \d+ resources/);
  writeFileSync(f, 'kind: Rule\nname: ssh-3306\nsource: { managed: sg-risky-ports-check }\nparameters: { ports: "3306" }\nriskLevel: 1\n');
  const plan2 = await confix('plan', '-f', f);
  assert.match(plan2.stdout, /~ update rule ssh-3306/);
  assert.match(plan2.stdout, /~ parameters\.ports: "22,3306" → "3306"/);
  writeFileSync(f, 'kind: Rule\nname: ssh-3306\nsource: { managed: sg-risky-ports-check }\nparameters:\n  ports: "22,x"\nriskLevel: 1\n');
  const bad = await confix('apply', '-f', f);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /policy\.yaml:5: parameters\.ports: .*22,x/);
  const still = await confix('get', 'rule', 'ssh-3306', '--json');
  assert.equal(JSON.parse(still.stdout).rule.parameters.ports, '22,3306', 'the bad file changed nothing');
});

test('scan runs one shot with no service and prints the JSON report', async () => {
  const out = await run(process.execPath, [...CLI, 'scan', '--estate', 'examples/estates/demo.yaml', '--policies', 'examples/policies', '--json'], {
    env: { ...process.env, CONFIX_URL: 'http://127.0.0.1:1' },
  });
  const report = JSON.parse(out.stdout);
  assert.equal(report.resources, 15);
  assert.equal(report.rules.length, 4);
  const sg = report.rules.find((r: { name: string }) => r.name === 'sg-disallow-risky-ports-for-all-ips');
  assert.equal(sg.nonCompliant, 4);
  assert.deepEqual(Object.keys(sg.nonCompliantResources[0]).sort(), ['accountId', 'annotation', 'regionId', 'resourceId', 'resourceType']);
  const missing = await run(process.execPath, [...CLI, 'scan', '--estate', 'nope.yaml', '--policies', 'examples/policies']).catch((e) => e);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot read estate file nope\.yaml: no such file/);
});

test('remediate from the command line: dry run with its diff, the fix, the execution, its rollback', async () => {
  const dry = await confix('remediate', '--rule', 'oss-bucket-public-read-prohibited', '--resource', 'confix-demo-public-assets', '--dry-run', '--wait');
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /SUCCEEDED/);
  assert.match(dry.stdout, /dry run, nothing changed: would/);
  assert.match(dry.stdout, /~ AccessControlList\.Grant: "public-read" → "private"/);
  const mixed = await confix('remediate', '--rule', 'oss-bucket-public-read-prohibited', '--all-non-compliant', '--wait', '--json');
  assert.equal(mixed.code, 0, mixed.stderr);
  const res = JSON.parse(mixed.stdout);
  // (An earlier test loaded a generated estate too: its buckets join in.)
  const queued = Object.fromEntries(res.queued.map((x: { resourceId: string; status: string }) => [x.resourceId, x.status]));
  assert.equal(queued['confix-demo-public-assets'], 'SUCCEEDED');
  assert.ok(
    Object.values(queued).every((s) => s === 'SUCCEEDED'),
    JSON.stringify(queued),
  );
  assert.ok(res.failed.some((f: { resourceId: string }) => f.resourceId === 'confix-demo-website'));
  for (const f of res.failed) assert.equal(f.reason, 'ACS-OSS-PutBucketAcl does not fix AWS::S3::Bucket');
  const list = await confix('get', 'executions', '--rule', 'oss-bucket-public-read-prohibited');
  assert.match(list.stdout, /EXECUTION\s+RULE\s+RESOURCE\s+STATUS/);
  const one = await confix('get', 'execution', res.queued[0].executionId);
  assert.match(one.stdout, /✓ apply/);
  assert.match(one.stdout, /✓ confirm\s+oss-bucket-public-read-prohibited now reports COMPLIANT/);
  assert.match(one.stdout, /prior state \(for rollback\)/);
  const rb = await confix('rollback', res.queued.find((x: { resourceId: string }) => x.resourceId === 'confix-demo-public-assets').executionId, '--wait');
  assert.equal(rb.code, 0, rb.stderr);
  assert.match(rb.stdout, /SUCCEEDED/);
  assert.match(rb.stdout, /rollback of rx-/);
  assert.match(rb.stdout, /✓ confirm\s+oss-bucket-public-read-prohibited now reports NON_COMPLIANT/);
  const r = await confix('get', 'resource', 'confix-demo-public-assets', '--json');
  assert.equal(JSON.parse(r.stdout).configuration.AccessControlList.Grant, 'public-read', 'the ACL is restored');
  const none = await confix('remediate', '--rule', 'oss-bucket-public-read-prohibited');
  assert.equal(none.code, 1);
  assert.match(none.stderr, /name resources with --resource, or use --all-non-compliant/);
});

test('exceptions from the command line: add, list, remove', async () => {
  const add = await confix(
    'exception',
    'add',
    '--rule',
    'ecs-instance-monitor-enabled',
    '--resource',
    'i-bp1memberapp0000001',
    '--reason',
    'agent rollout next week',
    '--expires',
    '7d',
  );
  assert.equal(add.code, 0, add.stderr);
  assert.match(add.stdout, /i-bp1memberapp0000001 is exempted from ecs-instance-monitor-enabled's remediation until /);
  const list = await confix('get', 'exceptions', '--rule', 'ecs-instance-monitor-enabled');
  assert.match(list.stdout, /i-bp1memberapp0000001\s+ACS::ECS::Instance\s+139876543210\s+agent rollout next week/);
  const refused = await confix('remediate', '--rule', 'ecs-instance-monitor-enabled', '--resource', 'i-bp1memberapp0000001');
  assert.match(refused.stdout, /not queued: i-bp1memberapp0000001: exempted from remediation until .*: agent rollout next week/);
  const rm = await confix('exception', 'remove', '--rule', 'ecs-instance-monitor-enabled', '--resource', 'i-bp1memberapp0000001');
  assert.equal(rm.code, 0, rm.stderr);
  const again = await confix('exception', 'remove', '--rule', 'ecs-instance-monitor-enabled', '--resource', 'i-bp1memberapp0000001');
  assert.equal(again.code, 1);
  assert.match(again.stderr, /has no exception under ecs-instance-monitor-enabled/);
});

test('approvals, the remediation detail and the pause from the command line', async () => {
  const created = await fetch(`${svc.url}/api/v1/rules`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${svc.token}` },
    body: JSON.stringify({
      name: 'sg-open-with-approval',
      source: { managed: 'sg-risky-ports-check' },
      scope: { resourceTypes: ['ACS::ECS::SecurityGroup'] },
      remediation: { action: 'ACS-ECS-RevokeSecurityGroupRules', approval: 'required' },
    }),
  });
  assert.equal(created.status, 201, await created.text());
  const q = await confix('remediate', '--rule', 'sg-open-with-approval', '--resource', 'sg-debug-open', '--resource', 'sg-member-db', '--json');
  assert.equal(q.code, 0, q.stderr);
  const [a, b] = JSON.parse(q.stdout).queued as { executionId: string; status: string }[];
  assert.equal(a!.status, 'AWAITING_APPROVAL');
  const waiting = await confix('get', 'executions', '--status', 'AWAITING_APPROVAL');
  assert.match(waiting.stdout, new RegExp(a!.executionId));

  const ok = await confix('approve', a!.executionId, '--by', 'alice');
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /approved: queued to run \(sg-open-with-approval on sg-debug-open\)/);
  const no = await confix('reject', b!.executionId, '--reason', 'db team does it tonight', '--by', 'bob');
  assert.equal(no.code, 0, no.stderr);
  assert.match(no.stdout, /rejected: cancelled/);
  const twice = await confix('approve', b!.executionId);
  assert.equal(twice.code, 1);
  assert.match(twice.stdout + twice.stderr, /is CANCELLED, not AWAITING_APPROVAL/);
  const missing = await confix('reject', a!.executionId);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /required option '--reason <text>'/);

  for (let i = 0; i < 100 && JSON.parse((await confix('get', 'execution', a!.executionId, '--json')).stdout).status !== 'SUCCEEDED'; i++)
    await new Promise((r) => setTimeout(r, 100));
  const shown = await confix('get', 'execution', a!.executionId);
  assert.match(shown.stdout, /approved by admin \(note: alice\)/, 'the token decides; --by is a note');
  const detail = await confix('get', 'remediation', 'sg-open-with-approval');
  assert.equal(detail.code, 0, detail.stderr);
  assert.match(detail.stdout, /action: ACS-ECS-RevokeSecurityGroupRules/);
  assert.match(detail.stdout, /approval: required/);
  assert.match(detail.stdout, /manual remediation only/);
  assert.match(detail.stdout, /SUCCEEDED 1\s+CANCELLED 1/);
  assert.match(detail.stdout, /sg-member-db\s+CANCELLED\s+MANUAL.*Rejected: rejected by admin \(note: bob\): db team does it tonight/);

  const paused = await confix('remediation', 'pause', 'sg-open-with-approval', '--reason', 'change freeze');
  assert.equal(paused.code, 0, paused.stderr);
  assert.match((await confix('get', 'remediation', 'sg-open-with-approval')).stdout, /automatic remediation PAUSED since .*: change freeze/);
  assert.equal((await confix('remediation', 'pause', 'sg-open-with-approval')).code, 1, 'already paused');
  assert.equal((await confix('remediation', 'resume', 'sg-open-with-approval')).code, 0);
  const again = await confix('remediation', 'resume', 'sg-open-with-approval');
  assert.equal(again.code, 1);
  assert.match(again.stderr, /is not paused/);

  const actions = await confix('get', 'actions', '--json');
  const names = JSON.parse(actions.stdout).map((x: { name: string }) => x.name);
  assert.equal(names.length, 8);
  assert.ok(names.includes('AWS-DisableS3BucketPublicReadWrite'));
});
