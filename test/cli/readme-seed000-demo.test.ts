// Seed 000's README walkthrough, exactly as the README prints it, on a fresh
// service that loaded the demo (whose rules exist before the walkthrough
// turns ecs-instance-monitor-enabled to automatic remediation, so member B's
// instance is already NON_COMPLIANT then): it is fixed automatically, with no
// `confix remediate`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testService } from '../helpers/service.js';
import { readmeCommands, runReadmeCommand } from '../helpers/readme.js';
import { until } from '../helpers/wait.js';
import { INSTANCE_B } from '../helpers/seed000.js';

for (const demo of [true, false])
  test(`the seed 000 walkthrough on ${demo ? 'a demo store: B’s instance, non-compliant before the rule remediates automatically, is fixed automatically' : 'an empty store'}`, async () => {
    const svc = await testService({ demo });
    try {
      const env = { CONFIX_URL: svc.url, CONFIX_TOKEN: svc.token };
      const commands = readmeCommands('Seed 000 from scratch, against a running `confix serve`');
      assert.ok(
        commands.some((c) => c.includes('apply -f examples/seed-000/policy.yaml')),
        'the walkthrough applies the seed policy',
      );
      for (const c of commands) {
        const r = await runReadmeCommand(c, env);
        assert.equal(r.code, 0, `${c}\n${r.stdout}\n${r.stderr}`);
      }
      const executions = async () => (await svc.api('/executions?rule=ecs-instance-monitor-enabled')).body.items as any[];
      const fixed = await until('member B’s instance fixed automatically', async () =>
        (await executions()).find((x) => x.resourceId === INSTANCE_B && x.status === 'SUCCEEDED'),
      );
      assert.equal(fixed.trigger, 'AUTOMATIC');
      const result = await svc.api(`/compliance?rule=ecs-instance-monitor-enabled&resourceId=${INSTANCE_B}`);
      assert.equal(result.body.items[0].complianceType, 'COMPLIANT');
    } finally {
      await svc.close();
    }
  });
