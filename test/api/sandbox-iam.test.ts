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
    assert.deepEqual(
      iam.body.roles.map((r: any) => [r.name, r.arn, r.policies]),
      [
        ['ConfigCustomRemediationRole', `acs:ram::${B}:role/configcustomremediationrole`, ['ConfigCustomRemediationPolicy']],
        ['ConfigReadRole', `acs:ram::${B}:role/configreadrole`, ['ConfigReadOnly']],
      ],
    );
    assert.equal(iam.body.policies[0].document.Statement[0].Action, 'cms:InstallMonitoringAgent');
    assert.equal((await svc.api('/sandbox/iam/999999999999')).status, 404);

    const bad = await svc.api(`/sandbox/iam/${B}/policies/Broken`, {
      method: 'PUT',
      json: { document: { Version: '1', Statement: [{ Effect: 'Maybe', Action: 'ecs:*', Resource: '*' }] } },
    });
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
      svc.api(`/sandbox/actions/${action}`, {
        method: 'POST',
        headers: keyHeaders(caller),
        body: JSON.stringify({ accountId: B, regionId: 'cn-hangzhou', parameters }),
      });
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
    const half = await svc.api('/sandbox/actions/ecs:StopInstance', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sandbox-access-key-id': 'LTAI5tSeed000ManagementA' },
      body: JSON.stringify({ parameters: { InstanceId: 'x' } }),
    });
    assert.equal(half.status, 400);
    assert.equal(half.body.error.code, 'MissingCredentials');
  } finally {
    await svc.close();
  }
});

test('sandbox API: oversized ids and names are refused fast and briefly; IAM wildcards stay fast on long ids; refusals do not echo them', async (t) => {
  const svc = await testService({ demo: false });
  try {
    const { raw } = parseEstateText(readFileSync(SEED_000, 'utf8'), SEED_000);
    assert.equal((await svc.api('/sandbox/estate', { json: { estate: raw } })).status, 200);
    // An operator role in A that may create only the production security groups.
    const policy = await svc.api(`/sandbox/iam/${A}/policies/ProdSecurityGroups`, {
      method: 'PUT',
      json: {
        document: { Version: '1', Statement: [{ Effect: 'Allow', Action: 'ecs:CreateSecurityGroup', Resource: 'acs:ecs:*:*:securitygroup/sg-prod-*' }] },
      },
    });
    assert.equal(policy.status, 200, JSON.stringify(policy.body));
    const role = await svc.api(`/sandbox/iam/${A}/roles/SgOperator`, {
      method: 'PUT',
      json: {
        trustPolicy: { Version: '1', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { RAM: [`acs:ram::${A}:root`] } }] },
        policies: ['ProdSecurityGroups'],
      },
    });
    assert.equal(role.status, 200, JSON.stringify(role.body));
    const assumed = await svc.api('/sandbox/sts/assume-role', {
      method: 'POST',
      headers: keyHeaders(A_KEY),
      body: JSON.stringify({ roleArn: `acs:ram::${A}:role/sgoperator`, roleSessionName: 'operator' }),
    });
    assert.equal(assumed.status, 200, JSON.stringify(assumed.body));
    const operator = assumed.body.credentials;

    const timed = async (path: string, init: RequestInit & { headers: Record<string, string> }) => {
      const started = performance.now();
      const res = await fetch(`${svc.url}/api/v1${path}`, { ...init, headers: { authorization: `Bearer ${svc.token}`, ...init.headers } });
      const text = await res.text();
      return { status: res.status, text, body: JSON.parse(text), ms: performance.now() - started };
    };
    const create = (parameters: Record<string, unknown>) =>
      timed('/sandbox/actions/ecs:CreateSecurityGroup', {
        method: 'POST',
        headers: keyHeaders(operator),
        body: JSON.stringify({ accountId: A, regionId: 'cn-hangzhou', parameters }),
      });

    // The policy still decides ordinary calls.
    const prod = await create({ SecurityGroupId: 'sg-prod-web', SecurityGroupName: 'web' });
    assert.equal(prod.status, 200, prod.text);
    const dev = await create({ SecurityGroupId: 'sg-dev-web' });
    assert.equal(dev.status, 403, dev.text);
    assert.equal(dev.body.error.code, 'NoPermission');
    assert.match(dev.body.error.message, /Resource: acs:ecs:cn-hangzhou:100931896542:securitygroup\/sg-dev-web,/);

    // 60,000 characters, shaped to make `*:*` backtrack (this took ~6 s in a RegExp, freezing the service).
    for (const id of [`sg-${':'.repeat(59_997)}`, `sg-prod-${'a'.repeat(59_992)}`]) {
      const res = await create({ SecurityGroupId: id });
      assert.equal(res.status, 400, res.text.slice(0, 300));
      assert.equal(res.body.error.code, 'InvalidParameter');
      assert.equal(res.body.error.message, 'SecurityGroupId: 60000 characters; the limit is 256.');
      assert.ok(res.text.length < 2048, `a short answer (${res.text.length} bytes)`);
      assert.ok(res.ms < 1000, `answered in ${res.ms.toFixed(0)} ms`);
      t.diagnostic(`60,000-character SecurityGroupId: ${res.status} in ${res.ms.toFixed(1)} ms, ${res.text.length} bytes`);
    }
    // Within the limit but refused by IAM: the refusal names the resource, shortened.
    const long = await create({ SecurityGroupId: `sg-dev-${'x'.repeat(249)}` });
    assert.equal(long.status, 403, long.text);
    assert.match(long.body.error.message, /securitygroup\/sg-dev-x+…\(\d+ chars\), Principal/);
    assert.ok(long.text.length < 2048, `a short answer (${long.text.length} bytes)`);

    // Each kind of parameter has its bound, named with the limit and without the value.
    const desc = await create({ SecurityGroupId: 'sg-prod-desc', Description: 'd'.repeat(5000) });
    assert.equal(desc.status, 400);
    assert.equal(desc.body.error.message, 'Description: 5000 characters; the limit is 4096.');
    assert.equal((await create({ SecurityGroupId: 'sg-prod-desc2', Description: 'd'.repeat(4096) })).status, 200);
    const tagKey = await create({ SecurityGroupId: 'sg-prod-tags', Tags: { ['k'.repeat(200)]: 'v' } });
    assert.equal(tagKey.status, 400);
    assert.equal(tagKey.body.error.message, 'Tags: a tag key of 200 characters; the limit is 128.');
    const tagValue = await create({ SecurityGroupId: 'sg-prod-tags', Tags: { env: 'v'.repeat(300) } });
    assert.equal(tagValue.body.error.message, 'Tags.env: 300 characters; the limit is 256.');
    const name = await create({ SecurityGroupId: 'sg-prod-name', SecurityGroupName: 'n'.repeat(257) });
    assert.equal(name.body.error.message, 'SecurityGroupName: 257 characters; the limit is 256.');
    const region = await timed('/sandbox/actions/ecs:CreateSecurityGroup', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ accountId: A, regionId: 'r'.repeat(10_000), parameters: {} }),
    });
    assert.equal(region.status, 400);
    assert.equal(region.body.error.message, 'regionId: 10000 characters; the limit is 64.');
    const action = await timed(`/sandbox/actions/ecs:${'X'.repeat(5000)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.ok(action.status === 404 || action.status === 400, action.text.slice(0, 200));
    assert.ok(action.text.length < 2048, `a short answer (${action.text.length} bytes)`);

    // The IAM routes: documents, ARNs and session names.
    const bigDoc = await svc.api(`/sandbox/iam/${A}/policies/Huge`, {
      method: 'PUT',
      json: { document: { Version: '1', Statement: [{ Effect: 'Allow', Action: 'ecs:*', Resource: `acs:ecs:*:*:securitygroup/${'x'.repeat(30_000)}` }] } },
    });
    assert.equal(bigDoc.status, 400);
    assert.equal(bigDoc.body.error.code, 'InvalidParameter');
    assert.match(bigDoc.body.error.message, /^document: \d+ characters; the limit is 20480\.$/);
    const badResource = await svc.api(`/sandbox/iam/${A}/policies/Bad`, {
      method: 'PUT',
      json: { document: { Version: '1', Statement: [{ Effect: 'Allow', Action: 'ecs:*', Resource: `arn:${'y'.repeat(10_000)}` }] } },
    });
    assert.equal(badResource.status, 400);
    assert.equal(badResource.body.error.code, 'MalformedPolicyDocument');
    assert.ok(JSON.stringify(badResource.body).length < 2048, 'the issue quotes the value shortened');
    const arn = await svc.api('/sandbox/sts/assume-role', {
      method: 'POST',
      headers: keyHeaders(A_KEY),
      body: JSON.stringify({ roleArn: `acs:ram::${A}:role/${'r'.repeat(60_000)}` }),
    });
    assert.equal(arn.status, 400);
    assert.equal(arn.body.error.message, 'roleArn: 60027 characters; the limit is 2048.');
    const session = await svc.api('/sandbox/sts/assume-role', {
      method: 'POST',
      headers: keyHeaders(A_KEY),
      body: JSON.stringify({ roleArn: `acs:ram::${A}:role/sgoperator`, roleSessionName: 's'.repeat(1000) }),
    });
    assert.equal(session.status, 400);
    assert.equal(session.body.error.message, 'roleSessionName: 1000 characters; the limit is 64.');
    const notArn = await svc.api('/sandbox/sts/assume-role', {
      method: 'POST',
      headers: keyHeaders(A_KEY),
      body: JSON.stringify({ roleArn: `x${'r'.repeat(2000)}` }),
    });
    assert.equal(notArn.status, 400);
    assert.ok(JSON.stringify(notArn.body).length < 1024, JSON.stringify(notArn.body).slice(0, 200));
  } finally {
    await svc.close();
  }
});
