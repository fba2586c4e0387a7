// Seed 000 end to end on the running service (embedded store): a management
// account and a member account in a resource directory, the seed's roles and
// policies, an account group holding both, and rule ecs-instance-monitor-enabled
// in the group with automatic remediation under ConfigCustomRemediationRole.
// The member's instance is fixed through the role chain; removing the
// permission makes the next execution fail naming it; restoring it lets the
// manual retry succeed; the account outside the group is left alone; and no secret
// appears in any log line or API response of the whole run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { testService } from '../helpers/service.js';
import { parseEstateText } from '../../src/providers/sandbox/index.js';
import { createLogger } from '../../src/util/log.js';
import { until } from '../helpers/wait.js';
import { A, A_SECRET, B, C, INSTANCE_B, INSTANCE_B2, INSTANCE_C, POLICY, RULE, SEED_000, seedPolicy } from '../helpers/seed000.js';

test('seed 000: cross-account remediation through an account group and assumed roles, refused and fixed by the policy, with no secret shown', async () => {
  const logLines: string[] = [];
  const log = createLogger({ level: 'debug', json: true, write: (l) => void logLines.push(l) });
  const svc = await testService({ demo: false, log });
  const responses: string[] = [];
  const api = async (path: string, init: Parameters<typeof svc.api>[1] = {}) => {
    const r = await svc.api(path, init);
    responses.push(JSON.stringify(r.body));
    return r;
  };
  try {
    // The estate: organization, accounts with keys, roles and policies, instances.
    const { raw } = parseEstateText(readFileSync(SEED_000, 'utf8'), SEED_000);
    const loaded = await api('/sandbox/estate', { json: { estate: raw } });
    assert.equal(loaded.status, 200, JSON.stringify(loaded.body));

    // confix is given the management account's key only.
    const cred = await api('/credentials', {
      json: { accountId: A, accessKeyId: 'LTAI5tSeed000ManagementA', accessKeySecret: A_SECRET, description: 'seed 000 management account' },
    });
    assert.equal(cred.status, 201, JSON.stringify(cred.body));

    const org = await api('/organization');
    assert.equal(org.body.managementAccount, A);

    // The account group: A and B; C stays outside.
    const group = await api('/account-groups/seed-000', { method: 'PUT', json: { description: 'management and production', members: { accounts: [A, B] } } });
    assert.equal(group.status, 201, JSON.stringify(group.body));
    assert.equal(group.body.ownerAccountId, A);

    const rule = await api('/rules', {
      json: {
        name: RULE,
        source: { managed: 'ecs-instance-monitor-enabled' },
        scope: { accountGroup: 'seed-000' },
        remediation: {
          action: 'ACS-CMS-InstallMonitoringAgent',
          invokeType: 'AUTO_EXECUTION',
          executionRole: 'ConfigCustomRemediationRole',
          maximumAutomaticAttempts: 5,
          retryAttemptSeconds: 1,
        },
      },
    });
    assert.equal(rule.status, 201, JSON.stringify(rule.body));

    // 1. B's instance, without the agent, is fixed through A's role and B's role.
    const fixed = await until('the member instance to be remediated', async () => {
      const { body } = await api(`/executions?rule=${RULE}`);
      return body.items.find((x: any) => x.resourceId === INSTANCE_B && x.status === 'SUCCEEDED');
    });
    assert.equal(fixed.accountId, B);
    assert.equal(fixed.trigger, 'AUTOMATIC');
    const detail = (await api(`/executions/${fixed.executionId}`)).body;
    const credStep = detail.steps.find((s: any) => s.name === 'credentials');
    assert.ok(credStep, JSON.stringify(detail.steps));
    assert.match(credStep.message, new RegExp(`acting as acs:ram::${B}:assumed-role/configcustomremediationrole/confix-remediation`));
    assert.deepEqual(credStep.detail.via, [
      `the stored access key LTAI5tSeed000ManagementA of account ${A}`,
      `AssumeRole acs:ram::${A}:role/configcustomremediationrole`,
      `AssumeRole acs:ram::${B}:role/configcustomremediationrole`,
    ]);
    const agentB = await svc.sandbox.describe({ accountId: B, regionId: 'cn-hangzhou', resourceType: 'ACS::ECS::Instance', resourceId: INSTANCE_B });
    assert.equal(agentB!.configuration.MonitoringAgentStatus, 'running');
    await svc.evaluator.idle();
    const resultB = await api(`/compliance?rule=${RULE}&resourceId=${INSTANCE_B}`);
    assert.equal(resultB.body.items[0].complianceType, 'COMPLIANT');

    // The account outside the group is left alone: no result, no execution, the agent still missing.
    const resultC = await api(`/compliance?rule=${RULE}&resourceId=${INSTANCE_C}`);
    assert.deepEqual(resultC.body.items, []);
    assert.ok(!(await api(`/executions?rule=${RULE}`)).body.items.some((x: any) => x.accountId === C));
    const agentC = await svc.sandbox.describe({ accountId: C, regionId: 'cn-hangzhou', resourceType: 'ACS::ECS::Instance', resourceId: INSTANCE_C });
    assert.equal(agentC!.configuration.MonitoringAgentStatus, 'not_installed');
    const byAccount = await api('/account-groups/seed-000/compliance');
    assert.equal(byAccount.status, 200, JSON.stringify(byAccount.body));
    assert.ok(!JSON.stringify(byAccount.body).includes(C), 'C is not in the group view');

    // 2. The member's policy loses cms:InstallMonitoringAgent; a new instance there is refused, naming the permission.
    const cut = await api(`/sandbox/iam/${B}/policies/${POLICY}`, { method: 'PUT', json: { document: seedPolicy([]) } });
    assert.equal(cut.status, 200, JSON.stringify(cut.body));
    const run = await api('/sandbox/actions/ecs:RunInstances', {
      json: {
        accountId: B,
        regionId: 'cn-hangzhou',
        parameters: { InstanceId: INSTANCE_B2, ImageId: 'ubuntu_22_04_x64_20G_alibase_20240130.vhd', InstanceName: 'b-app-2' },
      },
    });
    assert.equal(run.status, 200, JSON.stringify(run.body));
    const failed = await until('the execution refused by the policy', async () => {
      const { body } = await api(`/executions?rule=${RULE}`);
      return body.items.find((x: any) => x.resourceId === INSTANCE_B2 && x.status === 'FAILED');
    });
    assert.equal(failed.errorCode, 'NoPermission');
    assert.match(failed.errorMessage, /cms:InstallMonitoringAgent/);
    assert.match(failed.errorMessage, new RegExp(`acs:ram::${B}:assumed-role/configcustomremediationrole`));
    // A refusal will be the same next time: recorded, and not retried.
    assert.equal(failed.retryable, false);
    assert.match(failed.errorMessage, /not retried/);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await api(`/executions?rule=${RULE}`)).body.items.filter((x: any) => x.resourceId === INSTANCE_B2).length, 1, 'no automatic retry');

    // 3. Restoring the permission, then remediating by hand: it succeeds.
    const restore = await api(`/sandbox/iam/${B}/policies/${POLICY}`, { method: 'PUT', json: { document: seedPolicy(['cms:InstallMonitoringAgent']) } });
    assert.equal(restore.status, 200);
    const again = await api(`/rules/${RULE}/remediation/executions`, { json: { resourceIds: [INSTANCE_B2] } });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    const retried = await until('the retry to succeed', async () => {
      const { body } = await api(`/executions?rule=${RULE}`);
      return body.items.find((x: any) => x.resourceId === INSTANCE_B2 && x.status === 'SUCCEEDED');
    });
    assert.equal(retried.trigger, 'API');
    await svc.evaluator.idle();
    const resultB2 = await api(`/compliance?rule=${RULE}&resourceId=${INSTANCE_B2}`);
    assert.equal(resultB2.body.items[0].complianceType, 'COMPLIANT');

    // 4. No secret anywhere: not in a response, not in a log line, not stored in clear.
    const everything = [...responses, ...logLines].join('\n');
    assert.ok(logLines.length > 0, 'the run logged something to search');
    assert.ok(!everything.includes(A_SECRET), 'the seeded secret never appears');
    const stored = await svc.db.query<{ s: string }>('SELECT secret_sealed::text AS s FROM account_credentials');
    assert.ok(stored.length === 1 && !stored[0]!.s.includes(A_SECRET), 'stored sealed');
    const listed = await api('/credentials');
    assert.ok(!JSON.stringify(listed.body).includes(A_SECRET));
  } finally {
    await svc.close();
  }
});
