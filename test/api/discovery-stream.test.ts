// POST /discovery streamed (Accept: application/x-ndjson): a line when a
// provider starts, one per scope (a refused read named with the cloud's
// code), then the answer; and `confix discover` showing that progress on
// stderr and every refusal in its report. A failure mid-way is the stream's
// last line, which the CLI reports as the API's error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { testService } from '../helpers/service.js';
import { cliFor } from '../helpers/cli.js';
import { parseEstateText } from '../../src/providers/sandbox/index.js';

const SEED_000 = fileURLToPath(new URL('../../examples/estates/seed-000.yaml', import.meta.url));
const A = '100931896542';
const B = '178366182654';
const readPolicy = (extra: object[] = []) => ({
  Version: '1',
  Statement: [{ Effect: 'Allow', Action: ['ecs:Describe*', 'oss:Get*', 'ec2:Describe*', 's3:Get*'], Resource: '*' }, ...extra],
});

async function lines(svc: { url: string; token: string }, body: unknown = {}) {
  const res = await fetch(`${svc.url}/api/v1/discovery`, {
    method: 'POST',
    headers: { authorization: `Bearer ${svc.token}`, accept: 'application/x-ndjson', 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    lines: (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l)),
  };
}

test('discovery streams per-scope progress and refusals; confix discover shows them', async () => {
  const svc = await testService({ demo: false });
  try {
    const { raw } = parseEstateText(readFileSync(SEED_000, 'utf8'), SEED_000);
    assert.equal((await svc.api('/sandbox/estate', { json: { estate: raw } })).status, 200);
    // B is read through a role that may not describe instances.
    await svc.sandbox.iam.putPolicy(B, 'ConfigReadOnly', readPolicy([{ Effect: 'Deny', Action: 'ecs:DescribeInstances', Resource: '*' }]));
    await svc.sandbox.iam.putRole(B, {
      name: 'ConfigReadRole',
      policies: ['ConfigReadOnly'],
      trustPolicy: { Version: '1', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { RAM: [`acs:ram::${A}:root`] } }] },
    });
    await svc.credentials.put(A, { accessKeyId: 'LTAI5tSeed000ManagementA', accessKeySecret: 'seed000-management-secret-do-not-print' });
    await svc.groups.put({ name: 'production', members: { accounts: [B] }, readRole: 'ConfigReadRole' });

    const got = await lines(svc);
    assert.equal(got.status, 200);
    assert.match(got.type!, /^application\/x-ndjson/);
    const [start, ...rest] = got.lines;
    assert.deepEqual(Object.keys(start).sort(), ['provider', 'scopes', 'type']);
    assert.equal(start.type, 'start');
    assert.equal(start.provider, 'sandbox');
    const scopes = rest.filter((l) => l.type === 'scope');
    assert.equal(scopes.length, start.scopes, 'a line per scope');
    assert.deepEqual(
      scopes.map((l) => l.scopesDone),
      scopes.map((_, i) => i + 1),
    );
    const refused = scopes.filter((l) => l.refused);
    assert.deepEqual(
      refused.map((l) => [l.scope.accountId, l.scope.resourceType, l.refused.code]),
      [[B, 'ACS::ECS::Instance', 'NoPermission']],
    );
    const last = got.lines.at(-1);
    assert.equal(last.type, 'result');
    assert.equal(last.result.scopes, start.scopes);
    assert.equal(last.result.resources, scopes.at(-1).resources);
    assert.deepEqual(
      last.result.refused.map((r: any) => [r.accountId, r.code]),
      [[B, 'NoPermission']],
    );

    // The CLI: progress on stderr (not a terminal here: a line per provider and every few seconds), the report on stdout.
    const cli = cliFor(svc);
    const d = await cli('discover');
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stderr, new RegExp(`^discovering sandbox: ${start.scopes} scopes$`, 'm'));
    assert.match(d.stdout, /^snapshot \(sandbox\): \d+ resources in \d+ scopes: 0 new, 0 changed, 0 deleted/m);
    assert.match(d.stdout, new RegExp(`^refused: ${B}/cn-hangzhou ACS::ECS::Instance kept as last recorded: NoPermission: .*ecs:DescribeInstances`, 'm'));
    const j = await cli('discover', '--json');
    assert.equal(j.code, 0, j.stderr);
    assert.equal(j.stderr, '', 'no progress with --json');
    assert.equal(JSON.parse(j.stdout).refused[0].code, 'NoPermission');

    // Bad input is refused before the stream starts, with its status.
    const bad = await lines(svc, { provider: 'azure' });
    assert.equal(bad.status, 400);
    assert.equal(bad.lines[0].error.code, 'InvalidProvider');

    // A failure mid-way (not a refusal) ends the stream with the API's error; the CLI exits non-zero saying it.
    const discover = svc.sandbox.discover.bind(svc.sandbox);
    svc.sandbox.discover = async (scope, c) => {
      if (scope.resourceType === 'ACS::OSS::Bucket') throw new Error('the disk is on fire');
      return discover(scope, c);
    };
    const failed = await lines(svc);
    assert.equal(failed.status, 200);
    assert.deepEqual(failed.lines.at(-1), {
      type: 'error',
      status: 500,
      error: { code: 'InternalError', message: 'internal error; the service log has the details' },
    });
    const f = await cli('discover');
    assert.notEqual(f.code, 0);
    assert.match(f.stderr, /internal error; the service log has the details/);
  } finally {
    await svc.close();
  }
});
