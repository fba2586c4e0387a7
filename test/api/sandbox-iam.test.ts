// The sandbox cloud's IAM and STS over HTTP: reading roles and policies,
// writing a policy (malformed ones refused by path), AssumeRole with the
// caller's credentials in headers, and credentialed calls authorised by IAM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { testService } from '../helpers/service.js';
import { parseEstateText } from '../../src/providers/sandbox/index.js';

const SEED_000 = fileURLToPath(new URL('../../examples/estates/seed-000.yaml', import.meta.url));
const A = '100931896542';
const B = '178366182654';
const keyHeaders = (c: { accessKeyId: string; accessKeySecret: string; securityToken?: string }) => ({
  'content-type': 'application/json',
  'x-sandbox-access-key-id': c.accessKeyId,
  'x-sandbox-access-key-secret': c.accessKeySecret,
  ...(c.securityToken ? { 'x-sandbox-security-token': c.securityToken } : {}),
});
const A_KEY = { accessKeyId: 'LTAI5tSeed000ManagementA', accessKeySecret: 'seed000-management-secret-do-not-print' };

test('sandbox IAM over HTTP: roles and policies, AssumeRole chains, and calls signed with the credentials', async () => {
  const svc = await testService({ demo: false });
  try {
    const { raw } = parseEstateText(readFileSync(SEED_000, 'utf8'), SEED_000);
    assert.equal((await svc.api('/sandbox/estate', { json: { estate: raw } })).status, 200);

    const iam = await svc.api(`/sandbox/iam/${B}`);
    assert.equal(iam.status, 200);
    assert.deepEqual(iam.body.roles.map((r: any) => [r.name, r.arn, r.policies]), [
      ['ConfigCustomRemediationRole', `acs:ram::${B}:role/configcustomremediationrole`, ['ConfigCustomRemediationPolicy']],
    ]);
    assert.equal(iam.body.policies[0].document.Statement[0].Action, 'cms:InstallMonitoringAgent');
    assert.equal((await svc.api('/sandbox/iam/999999999999')).status, 404);

    const bad = await svc.api(`/sandbox/iam/${B}/policies/Broken`, { method: 'PUT', json: { document: { Version: '1', Statement: [{ Effect: 'Maybe', Action: 'ecs:*', Resource: '*' }] } } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'MalformedPolicyDocument');
    assert.match(bad.body.error.issues[0].path, /^document\.Statement\[0\]\.Effect/);

    // AssumeRole needs the caller's credentials.
    const anonymous = await svc.api('/sandbox/sts/assume-role', { json: { roleArn: `acs:ram::${A}:role/configcustomremediationrole` } });
    assert.equal(anonymous.status, 400);
    assert.equal(anonymous.body.error.code, 'MissingCredentials');

    const assume = (caller: Parameters<typeof keyHeaders>[0], roleArn: string) =>
      svc.api('/sandbox/sts/assume-role', { method: 'POST', headers: keyHeaders(caller), body: JSON.stringify({ roleArn, roleSessionName: 'operator' }) });
    const inA = await assume(A_KEY, `acs:ram::${A}:role/configcustomremediationrole`);
    assert.equal(inA.status, 200, JSON.stringify(inA.body));
    assert.equal(inA.body.assumedRoleUser.arn, `acs:ram::${A}:assumed-role/configcustomremediationrole/operator`);
    // B trusts A's role, not A's key.
    const direct = await assume(A_KEY, `acs:ram::${B}:role/configcustomremediationrole`);
    assert.equal(direct.status, 403, JSON.stringify(direct.body));
    assert.equal(direct.body.error.code, 'NoPermission');
    assert.match(direct.body.error.message, new RegExp(`sts:AssumeRole.*acs:ram::${A}:root`));
    const inB = await assume(inA.body.credentials, `acs:ram::${B}:role/configcustomremediationrole`);
    assert.equal(inB.status, 200, JSON.stringify(inB.body));

    const call = (caller: Parameters<typeof keyHeaders>[0], action: string, parameters: Record<string, unknown>) =>
      svc.api(`/sandbox/actions/${action}`, { method: 'POST', headers: keyHeaders(caller), body: JSON.stringify({ accountId: B, regionId: 'cn-hangzhou', parameters }) });
    // With A's role in B: refused, the account is not its own.
    const cross = await call(inA.body.credentials, 'cms:InstallMonitoringAgent', { InstanceIds: ['i-bp1seed000memberb001'] });
    assert.equal(cross.status, 403, JSON.stringify(cross.body));
    // B's role may install the agent, not stop the instance.
    const stop = await call(inB.body.credentials, 'ecs:StopInstance', { InstanceId: 'i-bp1seed000memberb001' });
    assert.equal(stop.status, 403);
    assert.match(stop.body.error.message, /ecs:StopInstance/);
    const ok = await call(inB.body.credentials, 'cms:InstallMonitoringAgent', { InstanceIds: ['i-bp1seed000memberb001'] });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.changed, true);
    const half = await svc.api('/sandbox/actions/ecs:StopInstance', { method: 'POST', headers: { 'content-type': 'application/json', 'x-sandbox-access-key-id': 'LTAI5tSeed000ManagementA' }, body: JSON.stringify({ parameters: { InstanceId: 'x' } }) });
    assert.equal(half.status, 400);
    assert.equal(half.body.error.code, 'MissingCredentials');
  } finally {
    await svc.close();
  }
});
