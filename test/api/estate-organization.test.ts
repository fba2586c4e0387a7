// Loading an estate that declares another organization: the summary says
// what it replaced, and a load that would break account groups (and the
// rules scoped to them) is refused unless --replace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { testService } from '../helpers/service.js';
import { parseEstateText } from '../../src/providers/sandbox/index.js';
import { readPolicyDocuments } from '../../src/policy/files.js';
import { runCli } from '../helpers/cli.js';

const estate = async (name: string) => parseEstateText(await readFile(`examples/estates/${name}.yaml`, 'utf8'), name).raw;

test('seed 001 after seed 000 replaces the organization: refused while the seed 000 group depends on it, loaded with --replace, and said so', async () => {
  const svc = await testService({ demo: false });
  try {
    const first = await svc.api('/sandbox/estate', { json: { estate: await estate('seed-000') } });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.load.organization.before, null);
    assert.equal(first.body.load.organization.after.managementAccount, '100931896542');
    const applied = await svc.api('/policy/apply', { json: { documents: readPolicyDocuments(['examples/seed-000/policy.yaml']) } });
    assert.equal(applied.status, 200, JSON.stringify(applied.body));

    const refused = await svc.api('/sandbox/estate', { json: { estate: await estate('seed-001') } });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'OrganizationInUse');
    assert.match(
      refused.body.error.problems[0],
      /^account group seed-000 \(rules ecs-instance-monitor-enabled\): owner 100931896542 is no longer the management account/,
    );
    assert.match(refused.body.error.message, /--replace/);
    assert.equal(await svc.sandbox.managementAccount(), '100931896542', 'nothing was loaded');
    assert.equal(
      (await svc.api('/accounts')).body.items.some((a: { accountId: string }) => a.accountId === '160048723791'),
      false,
    );

    // Through the CLI, with --replace: loaded, and the summary says what went.
    const cli = await runCli(['--url', svc.url, 'sandbox', 'load', 'examples/estates/seed-001.yaml', '--replace'], { CONFIX_TOKEN: svc.token });
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(
      cli.stdout,
      /the organization was replaced by the file's: management account 100931896542 → 160048723791; folders production, sandbox removed/,
    );
    assert.equal(await svc.sandbox.managementAccount(), '160048723791');
  } finally {
    await svc.close();
  }
});

test('an estate whose organization nothing depends on loads, saying what changed; one without an organization leaves it alone', async () => {
  const svc = await testService({ demo: true });
  try {
    const r = await svc.api('/sandbox/estate', { json: { estate: await estate('seed-000') } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.load.organization.changed, true);
    assert.deepEqual(r.body.load.organization.after.folders, ['production', 'sandbox']);
    const none = await svc.api('/sandbox/estate', { json: { estate: { accounts: [{ id: '999999999999', name: 'loose', regions: ['cn-hangzhou'] }] } } });
    assert.equal(none.status, 200);
    assert.equal(none.body.load.organization, undefined);
    assert.equal(await svc.sandbox.managementAccount(), '100931896542');
  } finally {
    await svc.close();
  }
});
