// Seed 002's README walkthrough (examples/seed-002/README.md), exactly as it
// prints it, on a fresh service that loaded the demo (whose rule
// approved-amis-by-id is there already): an instance launched from an
// unapproved AMI turns NON_COMPLIANT, the compliance change goes in the
// EventBridge format to the function, which starts the rule's remediation
// through confix's API; AWS-StopEC2Instance stops the instance, which stays
// NON_COMPLIANT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { testService } from '../helpers/service.js';
import { ROOT, checkOwnStoreBlock, outputOf, readmeCommands, runReadmeCommands } from '../helpers/readme.js';
import { until } from '../helpers/wait.js';

const README = join(ROOT, 'examples/seed-002/README.md');
const RULE = 'approved-amis-by-id';
const FN = 'start-remediation';
const ACCOUNT = '123456789012';
const DEMO_INSTANCE = 'i-0a1b2c3d4e5f60002';

test('the seed 002 walkthrough on a demo store: the unapproved instance is stopped by the execution the function started', async (t) => {
  const svc = await testService({ demo: true });
  try {
    const env = { CONFIX_URL: svc.url, CONFIX_TOKEN: svc.token };
    // The store of its own the walkthrough offers (not started here: this runs on the demo store).
    assert.equal(await checkOwnStoreBlock('## Run it', README), '.confix/seed-002');
    const setup = readmeCommands('Set the seed up:', README);
    const launch = readmeCommands('Launch an instance from an AMI that is not on the list:', README);
    const look = readmeCommands('remediation and the instance is stopped:', README);
    assert.ok(look.some((c) => c.includes('inv-…')) && look.some((c) => c.includes('i-…')), 'the walkthrough looks at the invocation and the instance');

    // Set up: on the demo store the rule is there already.
    const ran = await runReadmeCommands(setup, env);
    assert.match(outputOf(ran, 'sandbox load'), /loaded examples\/estates\/seed-002\.yaml: 1 accounts, 1 resources/);
    assert.match(outputOf(ran, 'apply'), /no changes/);
    assert.match(outputOf(ran, 'function deploy'), /deployed start-remediation version 1/);
    assert.match(outputOf(ran, 'subscription put'), /on topic default created: function start-remediation, eventbridge format/);

    // Launch: it prints the new instance, pending.
    const [run] = await runReadmeCommands(launch, env);
    const instance = /InstanceId: (i-[0-9a-f]+)/.exec(run!.stdout)?.[1];
    assert.ok(instance, run!.stdout);
    assert.match(run!.stdout, /State:\n\s+Code: 0\n\s+Name: pending/);

    // "Within a second or two".
    const launched = Date.now();
    const executions = async () => (await svc.api(`/executions?rule=${RULE}`)).body.items as any[];
    const execution = await until(
      'the new instance stopped by an execution, the function’s invocation ended',
      async () => {
        const x = (await executions()).find((e) => e.resourceId === instance && e.status === 'SUCCEEDED');
        return x && (await svc.invocations.list({ functionName: FN })).some((i) => i.status === 'SUCCEEDED') ? x : undefined;
      },
      20_000,
    );
    t.diagnostic(`stopped ${Date.now() - launched} ms after RunInstances returned`);
    assert.equal(execution.trigger, 'API');
    assert.equal(execution.action, 'AWS-StopEC2Instance');
    assert.equal(execution.accountId, ACCOUNT);
    assert.match(execution.steps.at(-1).message, /approved-amis-by-id now reports NON_COMPLIANT/);

    // Started by the function: its invocation queued exactly that execution.
    const [inv, ...others] = await svc.invocations.list({ functionName: FN });
    assert.equal(others.length, 0, 'one invocation: the remediation events are filtered out');
    assert.equal(inv!.status, 'SUCCEEDED');
    assert.equal((inv!.input as any)['detail-type'], 'Config Rules Compliance Change');
    assert.equal((inv!.input as any).detail.resourceId, instance);
    const result = inv!.result as { queued: { executionId: string }[]; failed: unknown[] };
    assert.deepEqual(
      result.queued.map((x) => x.executionId),
      [execution.executionId],
    );
    assert.deepEqual(result.failed, []);

    // Look, with the invocation and the instance in place of inv-… and i-…: what each comment promises.
    const seen = await runReadmeCommands(
      look.map((c) => c.replace('inv-…', inv!.invocationId).replace('i-…', instance)),
      env,
    );
    const invs = outputOf(seen, 'get invocations')
      .split('\n')
      .filter((l) => l.startsWith('inv-'));
    assert.equal(invs.length, 1);
    assert.match(invs[0]!, /SUCCEEDED\s+subscription default\/approved-amis-remediation/);
    const one = outputOf(seen, 'get invocation ');
    assert.match(one, /"detail-type": "Config Rules Compliance Change"/);
    assert.match(one, new RegExp(`^result:\\n\\s+\\{\\n\\s+"queued": \\[\\n\\s+\\{\\n\\s+"executionId": "${execution.executionId}"`, 'm'));
    assert.match(one, /"failed": \[\]/);
    assert.match(outputOf(seen, 'get executions'), new RegExp(`${execution.executionId}\\s+${RULE}\\s+${instance}\\s+SUCCEEDED\\s+API`));
    assert.match(outputOf(seen, 'get resource'), /State:\n\s+Code: 80\n\s+Name: stopped/);
    const table = outputOf(seen, 'get compliance');
    assert.match(table, new RegExp(`${RULE}\\s+${instance}\\s+AWS::EC2::Instance\\s+${ACCOUNT}\\s+NON_COMPLIANT`));
    assert.match(
      table,
      new RegExp(`${RULE}\\s+${DEMO_INSTANCE}\\s+AWS::EC2::Instance\\s+100931896542\\s+NON_COMPLIANT`),
      "the demo's legacy-worker is listed too",
    );

    // Still NON_COMPLIANT, still one invocation; the demo's instance was left running.
    assert.equal((await svc.api(`/compliance?rule=${RULE}&resourceId=${instance}`)).body.items[0].complianceType, 'NON_COMPLIANT');
    assert.equal((await svc.invocations.list({ functionName: FN })).length, 1);
    assert.equal((await svc.api(`/resources/${DEMO_INSTANCE}`)).body.configuration.State.Name, 'running');
    assert.ok(!(await executions()).some((x) => x.resourceId === DEMO_INSTANCE));
  } finally {
    await svc.close();
  }
});
