// Seed 000 as the README tells a new user to run it, through the real CLI:
// load the estate, store the management account's key from standard input,
// apply the account group and the rule, watch the member's instance get fixed
// through the role chain; then take the permission away with
// `confix sandbox put-policy` and see the next execution refused, naming it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testService } from '../helpers/service.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { until } from '../helpers/wait.js';

type Svc = Awaited<ReturnType<typeof testService>>;

function confix(svc: Svc, args: string[], input?: string): Promise<CliResult> {
  return runCli(['--url', svc.url, ...args], { CONFIX_TOKEN: svc.token }, input);
}

test('seed 000 through the CLI as the README shows it; the refusal after `sandbox put-policy` names the permission', async () => {
  const svc = await testService({ demo: false });
  try {
    const ok = async (args: string[], input?: string) => {
      const r = await confix(svc, args, input);
      assert.equal(r.code, 0, `confix ${args.join(' ')}: ${r.stderr}`);
      return r;
    };
    await ok(['sandbox', 'load', 'examples/estates/seed-000.yaml']);
    const added = await ok(
      ['credentials', 'add', '--account', '100931896542', '--access-key-id', 'LTAI5tSeed000ManagementA', '--secret-stdin'],
      'seed000-management-secret-do-not-print',
    );
    assert.doesNotMatch(added.stdout + added.stderr, /seed000-management-secret-do-not-print/);
    await ok(['apply', '-f', 'examples/seed-000/policy.yaml']);

    const executions = async () => JSON.parse((await ok(['get', 'executions', '--rule', 'ecs-instance-monitor-enabled', '--json'])).stdout) as any[];
    const fixed = await until('the member instance fixed', async () =>
      (await executions()).find((x) => x.resourceId === 'i-bp1seed000memberb001' && x.status === 'SUCCEEDED'),
    );
    const shown = await ok(['get', 'execution', fixed.executionId]);
    assert.match(shown.stdout, /credentials/);
    assert.match(shown.stdout, /acs:ram::178366182654:assumed-role\/configcustomremediationrole\/confix-remediation/);
    assert.ok(!(await executions()).some((x) => x.accountId === '139876543210'), 'the account outside the group is left alone');

    const iam = await ok(['sandbox', 'iam', '178366182654']);
    assert.match(iam.stdout, /ConfigCustomRemediationRole/);
    assert.match(iam.stdout, /cms:InstallMonitoringAgent/);
    await ok(
      ['sandbox', 'put-policy', '178366182654', 'ConfigCustomRemediationPolicy', '-f', '-'],
      JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }] }),
    );
    const bad = await confix(
      svc,
      ['sandbox', 'put-policy', '178366182654', 'Broken', '-f', '-'],
      '{"Version":"1","Statement":[{"Effect":"Perhaps","Action":"*","Resource":"*"}]}',
    );
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Statement\[0\]\.Effect/);

    await ok([
      'sandbox',
      'call',
      'ecs:RunInstances',
      '--account',
      '178366182654',
      '--region',
      'cn-hangzhou',
      'InstanceId=i-bp1seed000memberb003',
      'ImageId=ubuntu_22_04_x64_20G_alibase_20240130.vhd',
    ]);
    const refused = await until('the refused execution', async () =>
      (await executions()).find((x) => x.resourceId === 'i-bp1seed000memberb003' && x.status === 'FAILED'),
    );
    assert.equal(refused.errorCode, 'NoPermission');
    assert.match(refused.errorMessage, /cms:InstallMonitoringAgent/);
  } finally {
    await svc.close();
  }
});
