// Functions on AWS: a remediation function deployed with an IAM role fixes an
// AWS security group through context.cloud, which reaches the provider that
// governs the resource's account (moto here) through confix's neutral
// /cloud routes, signed with the role's temporary credentials — handed to the
// function in AWS's names, as Lambda code reads them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthorizeSecurityGroupIngressCommand, DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import { stringify } from 'yaml';
import { parseConfig } from '../../../src/providers/index.js';
import { MOTO_ACCOUNT, MOTO_CREDENTIALS, useMoto } from '../../helpers/moto.js';
import { until } from '../../helpers/wait.js';
import { testService } from '../../helpers/service.js';
import { WORLD_SSH, sdk, seedGroup } from './fixtures.js';

const REGION = 'us-east-1';
const ROLE = `arn:aws:iam::${MOTO_ACCOUNT}:role/confix-remediation`;
const moto = useMoto();

// Lambda-style: reads the credentials by AWS's names and revokes the world SSH rule.
const FUNCTION = `
export async function handler(event: string, context: any) {
  const [item] = JSON.parse(event);
  const c = context.credentials;
  const out = await context.cloud.call('ec2:RevokeSecurityGroupIngress', {
    accountId: item.accountId,
    regionId: item.regionId,
    parameters: { GroupId: item.resourceId, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] },
  });
  return {
    eventProvider: item.provider,
    calledProvider: out.provider,
    changed: out.changed,
    recorded: typeof out.configurationItemId === 'number',
    credentialNames: Object.keys(c).filter((k) => typeof c[k] === 'string').sort(),
    temporary: c.accessKeyId.startsWith('ASIA') && c.sessionToken === c.securityToken && c.secretAccessKey === c.accessKeySecret,
  };
}`;

test('a function with an AWS role remediates an AWS security group through context.cloud, with the credentials in AWS names', async () => {
  const { ec2 } = sdk(moto);
  const group = await seedGroup(ec2, 'web');
  await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: group, IpPermissions: WORLD_SSH }));
  process.env.AWS_ACCESS_KEY_ID = MOTO_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = MOTO_CREDENTIALS.secretAccessKey;
  delete process.env.AWS_SESSION_TOKEN;
  const yaml = stringify({ providers: [{ type: 'aws', name: 'aws', endpoint: moto.endpoint, region: REGION, regions: [REGION], organization: false }] });
  const svc = await testService({ demo: false, config: parseConfig(yaml, 'confix.yaml') });
  try {
    await svc.functions.deploy({ name: 'revoke-world-ssh', fileName: 'revoke-world-ssh.ts', source: FUNCTION, role: ROLE });
    const rule = 'sg-no-world-ssh';
    const applied = await svc.api('/policy/apply', {
      json: {
        documents: [
          {
            source: 'test',
            kind: 'Rule',
            body: {
              name: rule,
              source: { managed: 'sg-risky-ports-check' },
              parameters: { ports: '22' },
              scope: { resourceTypes: ['AWS::EC2::SecurityGroup'] },
              triggers: ['ConfigurationChange'],
              remediation: { function: 'revoke-world-ssh', invokeType: 'MANUAL_EXECUTION' },
            },
          },
        ],
      },
    });
    assert.equal(applied.status, 200, JSON.stringify(applied.body));
    const started = await svc.api(`/rules/${rule}/remediation/executions`, { json: { resourceIds: [group], trigger: 'MANUAL' } });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const x = await until(
      'the execution to finish',
      async () => ((await svc.api(`/executions?rule=${rule}`)).body.items as any[]).find((e) => e.status === 'SUCCEEDED' || e.status === 'FAILED'),
      30_000,
    );
    assert.equal(x.status, 'SUCCEEDED', `${x.errorCode}: ${x.errorMessage}`);
    const invoke = x.steps.find((s: any) => s.name === 'invoke');
    assert.deepEqual(invoke.detail.result, {
      eventProvider: 'aws',
      calledProvider: 'aws',
      changed: true,
      recorded: true,
      credentialNames: ['accessKeyId', 'accessKeySecret', 'expiration', 'secretAccessKey', 'securityToken', 'sessionToken'],
      temporary: true,
    });
    const g = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [group] }))).SecurityGroups![0]!;
    assert.deepEqual(g.IpPermissions, [], 'the world SSH rule is gone in moto');
    const verdict = (await svc.api(`/compliance?rule=${rule}&resourceId=${group}`)).body.items[0];
    assert.equal(verdict.complianceType, 'COMPLIANT');

    // The execution, the results and the events name their provider, and filter by it.
    assert.equal(x.provider, 'aws');
    assert.deepEqual(
      (await svc.api(`/executions?provider=aws`)).body.items.map((e: any) => e.executionId),
      [x.executionId],
    );
    assert.deepEqual((await svc.api(`/executions?provider=sandbox`)).body.items, []);
    assert.ok((await svc.api(`/compliance?provider=aws&rule=${rule}`)).body.total >= 1);
    assert.equal((await svc.api(`/compliance?provider=sandbox&rule=${rule}`)).body.total, 0);
    await svc.publisher.idle();
    const events = (await svc.api(`/events?provider=aws&subject=${group}`)).body.items as any[];
    assert.deepEqual(
      new Set(events.map((e) => e.type)),
      new Set(['io.confix.compliance.changed.v1', 'io.confix.remediation.started.v1', 'io.confix.remediation.succeeded.v1']),
    );
    for (const e of events) {
      assert.equal(e.data.resource.provider, 'aws');
      assert.match(e.source, new RegExp(`^confix://aws/${MOTO_ACCOUNT}/${REGION}$`));
    }
    assert.deepEqual((await svc.api(`/events?provider=sandbox&subject=${group}`)).body.items, []);
  } finally {
    await svc.close();
  }
});

test("the /cloud routes: an unsigned call needs an admin, a signed one is the cloud's to authorise, and AssumeRole answers both clouds' names", async () => {
  const { ec2 } = sdk(moto);
  const group = await seedGroup(ec2, 'db');
  const yaml = stringify({ providers: [{ type: 'aws', name: 'aws', endpoint: moto.endpoint, region: REGION, regions: [REGION], organization: false }] });
  process.env.AWS_ACCESS_KEY_ID = MOTO_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = MOTO_CREDENTIALS.secretAccessKey;
  const svc = await testService({ demo: false, config: parseConfig(yaml, 'confix.yaml') });
  try {
    const op = await svc.api('/tokens', { json: { name: 'ops', role: 'operator' } });
    assert.equal(op.status, 201, JSON.stringify(op.body));
    const call = (token: string, headers: Record<string, string> = {}) =>
      svc.api('/cloud/actions/ec2:AuthorizeSecurityGroupIngress', {
        token,
        headers,
        json: { accountId: MOTO_ACCOUNT, regionId: REGION, parameters: { GroupId: group, IpPermissions: WORLD_SSH } },
      });
    const unsigned = await call(op.body.token);
    assert.equal(unsigned.status, 403, JSON.stringify(unsigned.body));
    assert.match(unsigned.body.error.message, /needs the admin role/);

    const assumed = await svc.api('/cloud/sts/assume-role', {
      token: op.body.token,
      headers: { 'x-cloud-access-key-id': MOTO_CREDENTIALS.accessKeyId, 'x-cloud-secret-access-key': MOTO_CREDENTIALS.secretAccessKey },
      json: { roleArn: ROLE, roleSessionName: 'test' },
    });
    assert.equal(assumed.status, 200, JSON.stringify(assumed.body));
    const c = assumed.body.credentials;
    assert.equal(assumed.body.provider, 'aws');
    assert.equal(c.secretAccessKey, c.accessKeySecret);
    assert.equal(c.sessionToken, c.securityToken);
    assert.match(assumed.body.assumedRoleUser.arn, new RegExp(`^arn:aws:sts::${MOTO_ACCOUNT}:assumed-role/confix-remediation/test$`));

    const signed = await call(op.body.token, {
      'x-cloud-access-key-id': c.accessKeyId,
      'x-cloud-secret-access-key': c.secretAccessKey,
      'x-cloud-session-token': c.sessionToken,
    });
    assert.equal(signed.status, 200, JSON.stringify(signed.body));
    assert.equal(signed.body.provider, 'aws');
    assert.equal(signed.body.changed, true);
    assert.equal(typeof signed.body.configurationItemId, 'number');
    const ci = await svc.api(`/resources/${group}/history?limit=1`);
    assert.equal(ci.status, 200, JSON.stringify(ci.body));

    const half = await call(op.body.token, { 'x-cloud-access-key-id': c.accessKeyId });
    assert.equal(half.status, 400);
    assert.equal(half.body.error.code, 'MissingCredentials');
    const nowhere = await svc.api('/cloud/actions/ec2:RevokeSecurityGroupIngress', { json: { provider: 'gcp', parameters: {} } });
    assert.equal(nowhere.status, 404);
    assert.equal(nowhere.body.error.code, 'ProviderNotFound');
  } finally {
    await svc.close();
  }
});
