// The README's Functions walkthrough, as printed, on a fresh demo service:
// the example function deploys with the demo's ConfigFunctionRole and makes
// the demo's public bucket private through the sandbox IAM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testService } from '../helpers/service.js';
import { readmeCommands, runReadmeCommand } from '../helpers/readme.js';

test('the functions walkthrough runs as printed: deployed, invoked with the role, the bucket made private, logs shown', async () => {
  const svc = await testService({ demo: true });
  try {
    const env = { CONFIX_URL: svc.url, CONFIX_TOKEN: svc.token };
    const out: string[] = [];
    for (const c of readmeCommands('On the demo store (its management account has `ConfigFunctionRole`')) {
      const r = await runReadmeCommand(c, env);
      assert.equal(r.code, 0, `${c}\n${r.stdout}\n${r.stderr}`);
      out.push(r.stdout);
    }
    assert.match(out[0]!, /deployed private-bucket version 1/);
    assert.match(out[3]!, /SUCCEEDED/);
    assert.match(out[3]!, /confix-demo-public-assets/);
    const bucket = await svc.sandbox.describe({
      accountId: '100931896542',
      regionId: 'cn-hangzhou',
      resourceType: 'ACS::OSS::Bucket',
      resourceId: 'confix-demo-public-assets',
    });
    assert.equal((bucket!.configuration as { AccessControlList: { Grant: string } }).AccessControlList.Grant, 'private');
    assert.match(out[6]!, /making private confix-demo-public-assets/);
  } finally {
    await svc.close();
  }
});
