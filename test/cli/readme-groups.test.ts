// The README's organization and account-group commands, as printed, on a
// fresh demo service: every name they use exists, and the production
// group's member is read through its read role without a refusal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testService } from '../helpers/service.js';
import { readmeCommands, runReadmeCommand } from '../helpers/readme.js';

test('the account-group walkthrough runs as printed; discovery reads the member through ConfigReadRole', async () => {
  const svc = await testService({ demo: true });
  try {
    const env = { CONFIX_URL: svc.url, CONFIX_TOKEN: svc.token };
    let discover = '';
    for (const c of readmeCommands("The commands below use seed 000's resource directory")) {
      const r = await runReadmeCommand(c, env);
      assert.equal(r.code, 0, `${c}\n${r.stdout}\n${r.stderr}`);
      if (c.endsWith('confix discover')) discover = r.stdout + r.stderr;
    }
    assert.doesNotMatch(discover, /refused/i, discover);
    const sessions = await svc.db.query<{ account_id: string; role_name: string }>('SELECT account_id, role_name FROM sandbox_sessions');
    assert.ok(
      sessions.some((s) => s.account_id === '178366182654' && s.role_name === 'ConfigReadRole'),
      JSON.stringify(sessions),
    );
    assert.equal((await svc.api('/account-groups/production')).status, 404, 'deleted by the last command');
  } finally {
    await svc.close();
  }
});
