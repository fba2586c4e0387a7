// The README's Quick tour, exactly as printed, against a fresh demo service:
// every command succeeds, and what the comments say is what a user sees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testService } from '../helpers/service.js';
import { readmeCommands, runReadmeCommand, type ShellResult } from '../helpers/readme.js';

test('the Quick tour runs as the README prints it, and its comments hold', async () => {
  const svc = await testService({ demo: true });
  try {
    const env = { CONFIX_URL: svc.url, CONFIX_TOKEN: svc.token };
    const commands = readmeCommands('In another terminal (while the demo breaks things');
    const out = new Map<string, ShellResult>();
    for (const c of commands) {
      const r = await runReadmeCommand(c, env);
      assert.equal(r.code, 0, `${c}\n${r.stdout}\n${r.stderr}`);
      out.set(c, r);
      // The fix is automatic and quick; let it land before the next look.
      if (c.includes('ecs:AuthorizeSecurityGroup')) {
        await svc.recorder.drain('sandbox');
        await svc.evaluator.idle();
        await svc.worker.drain();
        await svc.evaluator.idle();
      }
    }
    const of = (part: string) => [...out].find(([c]) => c.includes(part))![1].stdout;
    assert.match(of('history sg-web-prod'), /22\/22/);
    const compliance = of('get compliance --resource sg-web-prod');
    assert.match(compliance, /sg-disallow-risky-ports-for-all-ips\s+sg-web-prod.*COMPLIANT/);
    assert.match(compliance, /NON_COMPLIANT → .*COMPLIANT/);
    assert.match(of('get executions --rule sg-disallow-risky-ports-for-all-ips'), /sg-web-prod\s+SUCCEEDED\s+AUTOMATIC/);
    assert.match(of('get rules'), /sg-disallow-risky-ports-for-all-ips/);
    assert.match(of('get accounts'), /100931896542/);
  } finally {
    await svc.close();
  }
});
