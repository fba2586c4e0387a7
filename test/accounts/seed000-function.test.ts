// Seed 000 as the seed does it, on the running service: the remediation is a
// function (examples/seed-000/install-monitoring-agent.ts, a port of the
// seed's Python) deployed with ConfigCustomRemediationRole of the management
// account, which the function service assumes; the function assumes the role
// of that name in the member account and installs the agent. The policy is
// examples/seed-000/policy-function.yaml (the account group and the rule with
// AUTO remediation by the function). B's instance is fixed, the execution
// links its invocation, C is left alone; without cms:InstallMonitoringAgent in
// B's policy the function fails with the provider's NoPermission, and the
// automatic retry succeeds once the permission is back. confix holds no key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { testService } from '../helpers/service.js';
import { parseEstateText } from '../../src/providers/sandbox/index.js';
import { readPolicyDocuments } from '../../src/policy/files.js';
import { until } from '../helpers/wait.js';
import { A_SECRET, B, C, INSTANCE_B, INSTANCE_B2, INSTANCE_C, POLICY, RULE, SEED_000, seedPolicy } from '../helpers/seed000.js';

const path = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const FUNCTION = path('examples/seed-000/install-monitoring-agent.ts');
const POLICY_FILE = path('examples/seed-000/policy-function.yaml');

test('seed 000 by function: the function assumes the member role and installs the agent; NoPermission fails it; the retry succeeds', async () => {
  const svc = await testService({ demo: false });
  try {
    const { raw } = parseEstateText(readFileSync(SEED_000, 'utf8'), SEED_000);
    const loaded = await svc.api('/sandbox/estate', { json: { estate: raw } });
    assert.equal(loaded.status, 200, JSON.stringify(loaded.body));

    // The function, with the management account's role (a bare name is the management account's).
    const deployed = await svc.functions.deploy({
      name: 'install-monitoring-agent',
      fileName: 'install-monitoring-agent.ts',
      source: readFileSync(FUNCTION, 'utf8'),
      role: 'ConfigCustomRemediationRole',
      description: "seed 000's remediation function",
    });
    assert.equal(deployed.version.version, 1);

    // The policy variant: the account group and the rule remediated by the function (retries quick for the test).
    const documents = readPolicyDocuments([POLICY_FILE]).map(({ source, kind, body }) => ({ source, kind, body }));
    const ruleDoc = documents.find((d) => d.kind === 'Rule')!;
    (ruleDoc.body.remediation as Record<string, unknown>).retryAttemptSeconds = 1;
    const applied = await svc.api('/policy/apply', { json: { documents } });
    assert.equal(applied.status, 200, JSON.stringify(applied.body));
    const detail = await svc.api(`/rules/${RULE}/remediation`);
    assert.equal(detail.body.remediation.function, 'install-monitoring-agent');
    assert.deepEqual(await svc.functions.usedBy('install-monitoring-agent'), [`rule ${RULE}`]);

    // 1. B's instance is fixed by the function, through A's role and B's role.
    const fixed = await until('the member instance to be remediated', async () => {
      const { body } = await svc.api(`/executions?rule=${RULE}`);
      const done = body.items.find((x: any) => x.resourceId === INSTANCE_B && ['SUCCEEDED', 'FAILED'].includes(x.status));
      if (done?.status === 'FAILED') assert.fail(`${done.errorCode}: ${done.errorMessage}`);
      return done;
    });
    assert.equal(fixed.accountId, B);
    assert.equal(fixed.trigger, 'AUTOMATIC');
    assert.equal(fixed.action, 'function:install-monitoring-agent');
    assert.deepEqual(
      fixed.steps.map((s: any) => s.name),
      ['reread', 'reevaluate', 'preview', 'invoke', 'confirm'],
    );
    assert.match(
      fixed.steps[2].message,
      /^will invoke function install-monitoring-agent v1 as role ConfigCustomRemediationRole with \[ACS::ECS::Instance i-bp1seed000memberb001 in 178366182654\/cn-hangzhou\]$/,
    );
    assert.match(fixed.steps[4].message, /now reports COMPLIANT/);
    const invocationId = fixed.steps[3].detail.invocationId as string;
    const inv = await svc.invocations.get(invocationId);
    assert.equal(inv.status, 'SUCCEEDED');
    assert.deepEqual(inv.source, { type: 'remediation', id: fixed.executionId });
    const rule = await svc.rules.get(RULE);
    assert.deepEqual(JSON.parse(inv.input as string), [
      {
        accountId: B,
        regionId: 'cn-hangzhou',
        resourceId: INSTANCE_B,
        resourceType: 'ACS::ECS::Instance',
        configRuleId: rule.ruleId,
        configRuleName: RULE,
        provider: 'sandbox',
      },
    ]);
    const logs = inv.logs.map((l) => l.message).join('\n');
    assert.match(logs, new RegExp(`process account_id: ${B}, resource_id: ${INSTANCE_B}, config_rule_id: ${rule.ruleId}`));
    assert.match(logs, /start install agent cn-hangzhou: i-bp1seed000memberb001/);
    assert.match(logs, new RegExp(`assume role: \\{AssumedRoleUser: acs:ram::${B}:assumed-role/configcustomremediationrole/ConfigCustomRemediationRole`));
    assert.doesNotMatch(logs, /[Ss]ecret|[Ss]ecurity[Tt]oken/, 'no secret in the function logs');
    assert.ok(!logs.includes(A_SECRET));

    const agentB = await svc.sandbox.describe({ accountId: B, regionId: 'cn-hangzhou', resourceType: 'ACS::ECS::Instance', resourceId: INSTANCE_B });
    assert.equal(agentB!.configuration.MonitoringAgentStatus, 'running');
    await svc.evaluator.idle();
    assert.equal((await svc.api(`/compliance?rule=${RULE}&resourceId=${INSTANCE_B}`)).body.items[0].complianceType, 'COMPLIANT');

    // C, outside the group: no result, no execution, no invocation for it, the agent still missing.
    assert.deepEqual((await svc.api(`/compliance?rule=${RULE}&resourceId=${INSTANCE_C}`)).body.items, []);
    assert.ok(!(await svc.api(`/executions?rule=${RULE}`)).body.items.some((x: any) => x.accountId === C));
    assert.ok(!(await svc.invocations.list({ functionName: 'install-monitoring-agent' })).some((i) => String(i.input).includes(C)));
    const agentC = await svc.sandbox.describe({ accountId: C, regionId: 'cn-hangzhou', resourceType: 'ACS::ECS::Instance', resourceId: INSTANCE_C });
    assert.equal(agentC!.configuration.MonitoringAgentStatus, 'not_installed');

    // 2. B's policy loses cms:InstallMonitoringAgent: the function's call is refused, and the execution says so.
    const cut = await svc.api(`/sandbox/iam/${B}/policies/${POLICY}`, { method: 'PUT', json: { document: seedPolicy([]) } });
    assert.equal(cut.status, 200, JSON.stringify(cut.body));
    const run = await svc.api('/sandbox/actions/ecs:RunInstances', {
      json: {
        accountId: B,
        regionId: 'cn-hangzhou',
        parameters: { InstanceId: INSTANCE_B2, ImageId: 'ubuntu_22_04_x64_20G_alibase_20240130.vhd', InstanceName: 'b-app-2' },
      },
    });
    assert.equal(run.status, 200, JSON.stringify(run.body));
    const failed = await until('the execution refused by the policy', async () => {
      const { body } = await svc.api(`/executions?rule=${RULE}`);
      return body.items.find((x: any) => x.resourceId === INSTANCE_B2 && x.status === 'FAILED');
    });
    assert.equal(failed.errorCode, 'ApiCallError', 'the type of the error the function threw');
    assert.match(failed.errorMessage, /^NoPermission: You are not authorized to do this action\. Action: cms:InstallMonitoringAgent/);
    assert.match(failed.errorMessage, new RegExp(`Principal: acs:ram::${B}:assumed-role/configcustomremediationrole/ConfigCustomRemediationRole`));
    assert.match(
      failed.errorMessage,
      /\(function install-monitoring-agent v1, invocation inv-[0-9a-f]+, FAILED in \d+ ms\) \(attempt 1 of 5; retrying in 1 s\)$/,
    );
    const invokeStep = failed.steps.find((s: any) => s.name === 'invoke');
    assert.equal(invokeStep.status, 'FAILED');
    assert.equal(invokeStep.detail.error.code, 'NoPermission');
    assert.equal((await svc.invocations.get(invokeStep.detail.invocationId)).status, 'FAILED');

    // 3. The permission is restored: the automatic retry (a new execution, a new invocation) succeeds.
    const restore = await svc.api(`/sandbox/iam/${B}/policies/${POLICY}`, { method: 'PUT', json: { document: seedPolicy(['cms:InstallMonitoringAgent']) } });
    assert.equal(restore.status, 200);
    const retried = await until('the retry to succeed', async () => {
      const { body } = await svc.api(`/executions?rule=${RULE}`);
      return body.items.find((x: any) => x.resourceId === INSTANCE_B2 && x.status === 'SUCCEEDED');
    });
    assert.ok(retried.attempt >= 2, `the success is a retry: attempt ${retried.attempt}`);
    assert.notEqual(retried.steps.find((s: any) => s.name === 'invoke').detail.invocationId, invokeStep.detail.invocationId);
    await svc.evaluator.idle();
    assert.equal((await svc.api(`/compliance?rule=${RULE}&resourceId=${INSTANCE_B2}`)).body.items[0].complianceType, 'COMPLIANT');

    // Nothing was stored for confix to act with: the function's role did it all.
    assert.deepEqual((await svc.api('/credentials')).body.items, []);
  } finally {
    await svc.close();
  }
});
