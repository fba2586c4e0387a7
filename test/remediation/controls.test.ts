// Approval, execution controls (concurrency, per minute, error-percentage
// pause), the grace period, and automatic remediation of a resource that
// changes again after its attempts ran out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { until } from '../helpers/wait.js';
import { readFileSync } from 'node:fs';
import { freshDb } from '../helpers/db.js';
import { parseEstateText } from '../../src/providers/sandbox/index.js';
import { validateRule } from '../../src/rules/model.js';
import { createEngine } from '../../src/engine.js';
import { startRemediation } from '../../src/remediation/start.js';
import { attachAutoRemediation } from '../../src/remediation/auto.js';
import { DEMO_ESTATE } from '../../src/service.js';

const ACCOUNT = '100931896542';
const REGION = 'cn-hangzhou';
const SG = 'ACS::ECS::SecurityGroup';
const sgKey = (resourceId: string) => ({ accountId: ACCOUNT, regionId: REGION, resourceType: SG, resourceId });

async function setup(remediation: Record<string, unknown>) {
  const db = await freshDb();
  const engine = createEngine(db);
  await engine.sandbox.loadEstate(parseEstateText(readFileSync(DEMO_ESTATE, 'utf8'), DEMO_ESTATE).raw);
  await engine.recorder.snapshot('sandbox');
  const rule = await engine.rules.create(
    validateRule({
      name: 'sg-risky',
      source: { managed: 'sg-risky-ports-check' },
      scope: { resourceTypes: [SG] },
      remediation: { action: 'ACS-ECS-RevokeSecurityGroupRules', ...remediation },
    }),
  );
  await engine.evaluator.evaluateRules();
  const start = (req: Omit<Parameters<typeof startRemediation>[1], 'rule'>) => startRemediation(engine, { rule: 'sg-risky', ...req });
  const result = async (id: string) => (await engine.evaluator.resultFor(rule.ruleId, await engine.inventory.resolve(id)))[0]?.compliance_type;
  /** Follows changes the way the service does: record, evaluate, remediate automatically. */
  const live = () => {
    engine.evaluator.attach(engine.recorder, { schedulerMs: 0 });
    const detach = attachAutoRemediation(engine.evaluator, engine);
    return async () => {
      detach();
      engine.evaluator.detach(engine.recorder);
      await engine.recorder.stop();
      await engine.evaluator.idle();
    };
  };
  /** Opens SSH to the world on a group, as someone would, and waits until confix has judged it. */
  const openSsh = async (id: string) => {
    await engine.sandbox.call(
      'ecs:AuthorizeSecurityGroup',
      { accountId: ACCOUNT, regionId: REGION },
      { SecurityGroupId: id, IpProtocol: 'TCP', PortRange: '22/22', SourceCidrIp: '0.0.0.0/0' },
    );
    await engine.recorder.drain('sandbox');
    await engine.evaluator.idle();
  };
  return { db, engine, rule, start, result, live, openSsh };
}

/** Extra security groups in the demo's management account: service-managed ones always fail to remediate. */
async function addGroups(engine: ReturnType<typeof createEngine>, n: number, serviceManaged: boolean): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `sg-extra-${serviceManaged ? 'managed' : 'open'}-${i}`);
  await engine.sandbox.loadEstate({
    resources: ids.map((id) => ({
      account: ACCOUNT,
      region: REGION,
      type: SG,
      id,
      configuration: {
        SecurityGroupName: id,
        VpcId: 'vpc-bp1demo0000000000001',
        ...(serviceManaged ? { ServiceManaged: true } : {}),
        Permissions: {
          Permission: [
            {
              SecurityGroupRuleId: `sgr-${id}`,
              Direction: 'ingress',
              IpProtocol: 'TCP',
              PortRange: '22/22',
              SourceCidrIp: '0.0.0.0/0',
              Policy: 'Accept',
              Priority: 1,
            },
          ],
        },
      },
    })),
  });
  await engine.recorder.snapshot('sandbox');
  await engine.evaluator.evaluateRules();
  return ids;
}

test('approval required: executions wait as AWAITING_APPROVAL; approved ones run, rejected ones end CANCELLED untouched; a dry run needs no approval', async () => {
  const { db, engine, start, result } = await setup({ approval: 'required' });
  try {
    const res = await start({ resourceIds: ['sg-debug-open', 'sg-member-db'] });
    assert.deepEqual(
      res.queued.map((x) => x.status),
      ['AWAITING_APPROVAL', 'AWAITING_APPROVAL'],
    );
    await engine.worker.drain();
    assert.equal((await engine.executions.get(res.queued[0]!.executionId)).status, 'AWAITING_APPROVAL', 'the worker does not touch it');
    assert.equal(await result('sg-debug-open'), 'NON_COMPLIANT');

    const [approved] = await engine.executions.approve([res.queued[0]!.executionId], 'alice');
    assert.equal(approved!.status, 'QUEUED');
    const [rejected] = await engine.executions.reject([res.queued[1]!.executionId], 'bob', 'the db team will do it tonight');
    assert.equal(rejected!.status, 'CANCELLED');
    await engine.worker.drain();

    const a = await engine.executions.get(res.queued[0]!.executionId);
    assert.equal(a.status, 'SUCCEEDED');
    assert.equal(a.decidedBy, 'alice');
    assert.equal(await result('sg-debug-open'), 'COMPLIANT');
    const r = await engine.executions.get(res.queued[1]!.executionId);
    assert.equal(r.status, 'CANCELLED');
    assert.equal(r.errorCode, 'Rejected');
    assert.match(r.errorMessage!, /rejected by bob: the db team will do it tonight/);
    assert.equal(r.steps.length, 0, 'nothing was run');
    assert.equal(await result('sg-member-db'), 'NON_COMPLIANT');
    // Approving again (or something not waiting) changes nothing.
    assert.deepEqual(await engine.executions.approve([a.executionId, r.executionId], 'alice'), []);

    const dry = await start({ resourceIds: ['sg-member-db'], dryRun: true });
    assert.equal(dry.queued[0]!.status, 'QUEUED');
  } finally {
    await db.close();
  }
});

test('approval required applies to automatic remediation too', async () => {
  const { db, engine, live, openSsh, result } = await setup({ approval: 'required', invokeType: 'AUTO_EXECUTION' });
  const stop = live();
  try {
    await openSsh('sg-web-prod');
    // The automatic queueing runs after the event: wait for it (on a loaded machine it takes more than a few milliseconds).
    const x = await until('the automatic execution', async () => (await engine.executions.list({ resource: sgKey('sg-web-prod') }))[0], 10_000, 20);
    assert.equal(x.status, 'AWAITING_APPROVAL');
    assert.equal(x.trigger, 'AUTOMATIC');
    await engine.executions.approve([x.executionId], 'alice');
    await engine.worker.drain();
    assert.equal((await engine.executions.get(x.executionId)).status, 'SUCCEEDED');
    assert.equal(await result('sg-web-prod'), 'COMPLIANT');
  } finally {
    await stop();
    await db.close();
  }
});

test('concurrency: no more than the rule allows run at once, whatever the workers ask for', async () => {
  const { db, engine, start } = await setup({ executionControls: { concurrency: 2, perMinute: 600, errorPercentage: 50 } });
  try {
    const ids = await addGroups(engine, 3, false);
    const res = await start({ resourceIds: ids });
    assert.equal(res.queued.length, 3);
    const first = await engine.executions.claim('w1', 10, 30_000);
    assert.equal(first.length, 2);
    assert.equal((await engine.executions.claim('w2', 10, 30_000)).length, 0, 'a second worker finds no room either');
    await engine.executions.finish(first[0]!.executionId, 'w1', { status: 'SUCCEEDED', steps: [] });
    const next = await engine.executions.claim('w2', 10, 30_000);
    assert.equal(next.length, 1);
    // A worker that died: its lease runs out, and the room is taken by the takeover, not by extra work.
    await engine.executions.finish(first[1]!.executionId, 'w1', { status: 'SUCCEEDED', steps: [] });
    await engine.executions.finish(next[0]!.executionId, 'w2', { status: 'SUCCEEDED', steps: [] });
    assert.equal((await engine.executions.list({ status: 'QUEUED' })).length, 0);
  } finally {
    await db.close();
  }
});

test('per minute: executions started in the last minute count against the rule, then the rest wait', async () => {
  const { db, engine, start } = await setup({ executionControls: { concurrency: 10, perMinute: 2, errorPercentage: 50 } });
  try {
    const ids = await addGroups(engine, 4, false);
    await start({ resourceIds: ids });
    await engine.worker.drain();
    const all = await engine.executions.list({});
    assert.equal(all.filter((x) => x.status === 'SUCCEEDED').length, 2);
    assert.equal(all.filter((x) => x.status === 'QUEUED').length, 2, 'the others wait for the next minute');
    // A minute later (moved back in time here) the rest run.
    await db.query("UPDATE remediation_executions SET started_at = started_at - interval '61 seconds' WHERE started_at IS NOT NULL");
    await engine.worker.drain();
    assert.equal((await engine.executions.list({ status: 'SUCCEEDED' })).length, 4);
  } finally {
    await db.close();
  }
});

test('error percentage: too many failures pause automatic remediation visibly; queued automatic work waits; manual still runs; resume lets it go on', async () => {
  const { db, engine, rule, start } = await setup({
    invokeType: 'AUTO_EXECUTION',
    maximumAutomaticAttempts: 1,
    executionControls: { concurrency: 10, perMinute: 600, errorPercentage: 50 },
  });
  try {
    const managed = await addGroups(engine, 5, true);
    for (const id of managed)
      await engine.executions.enqueue({ ruleId: rule.ruleId, key: sgKey(id), action: 'ACS-ECS-RevokeSecurityGroupRules', trigger: 'AUTOMATIC' });
    await engine.worker.drain();
    assert.equal((await engine.executions.list({ status: 'FAILED' })).length, 5);
    const state = await engine.controls.state(rule.ruleId);
    assert.equal(state.paused, true);
    assert.match(state.reason!, /5 of the last 5 executions failed \(100%, above the 50% error limit\)/);

    // While paused: automatic executions wait, a manual one runs.
    const auto = await engine.executions.enqueue({
      ruleId: rule.ruleId,
      key: sgKey('sg-debug-open'),
      action: 'ACS-ECS-RevokeSecurityGroupRules',
      trigger: 'AUTOMATIC',
    });
    const manual = await start({ resourceIds: ['sg-member-db'] });
    await engine.worker.drain();
    assert.equal((await engine.executions.get(auto.executionId)).status, 'QUEUED');
    assert.equal((await engine.executions.get(manual.queued[0]!.executionId)).status, 'SUCCEEDED');

    assert.equal(await engine.controls.resume(rule.ruleId), true);
    assert.equal(await engine.controls.resume(rule.ruleId), false, 'resuming twice says it was not paused');
    await engine.worker.drain();
    assert.equal((await engine.executions.get(auto.executionId)).status, 'SUCCEEDED');
    const after = await engine.controls.state(rule.ruleId);
    assert.equal(after.paused, false);
    assert.ok(after.resumedAt);
  } finally {
    await db.close();
  }
});

test('fewer failures than the limit, or too few executions, do not pause', async () => {
  const { db, engine, rule } = await setup({
    invokeType: 'AUTO_EXECUTION',
    maximumAutomaticAttempts: 1,
    executionControls: { concurrency: 10, perMinute: 600, errorPercentage: 50 },
  });
  try {
    const managed = await addGroups(engine, 2, true);
    const open = await addGroups(engine, 3, false);
    for (const id of [...managed, ...open])
      await engine.executions.enqueue({ ruleId: rule.ruleId, key: sgKey(id), action: 'ACS-ECS-RevokeSecurityGroupRules', trigger: 'AUTOMATIC' });
    await engine.worker.drain();
    assert.equal((await engine.executions.list({ status: 'FAILED' })).length, 2);
    assert.equal((await engine.controls.state(rule.ruleId)).paused, false, '2 of 5 failed: 40% is within 50%');
  } finally {
    await db.close();
  }
});

test('grace period: a resource its owner fixes within delaySeconds is not touched', async () => {
  const { db, engine, live, openSsh, result } = await setup({ invokeType: 'AUTO_EXECUTION', delaySeconds: 2 });
  const stop = live();
  try {
    await openSsh('sg-web-prod');
    await new Promise((r) => setTimeout(r, 50));
    const [x] = await engine.executions.list({ resource: sgKey('sg-web-prod') });
    assert.equal(x?.status, 'QUEUED');
    assert.ok(Date.parse(x.notBefore) - Date.parse(x.createdAt) >= 1900, 'due after the grace period');
    await engine.worker.drain();
    assert.equal((await engine.executions.get(x.executionId)).status, 'QUEUED', 'not yet due');

    // The owner closes it again a moment later.
    const sg = await engine.sandbox.describe(sgKey('sg-web-prod'));
    const opened = (
      sg!.configuration.Permissions as { Permission: { SecurityGroupRuleId: string; PortRange: string; SourceCidrIp?: string }[] }
    ).Permission.find((p) => p.PortRange === '22/22' && p.SourceCidrIp === '0.0.0.0/0')!;
    await engine.sandbox.call(
      'ecs:RevokeSecurityGroup',
      { accountId: ACCOUNT, regionId: REGION },
      { SecurityGroupId: 'sg-web-prod', SecurityGroupRuleId: [opened.SecurityGroupRuleId] },
    );
    await engine.recorder.drain('sandbox');
    await engine.evaluator.idle();
    assert.equal(await result('sg-web-prod'), 'COMPLIANT');

    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(x.notBefore) - Date.now()) + 50));
    await engine.worker.drain();
    const done = await engine.executions.get(x.executionId);
    assert.equal(done.status, 'SUCCEEDED');
    assert.match(done.steps.find((s) => s.name === 'reevaluate')!.message, /already COMPLIANT/);
    assert.ok(!done.steps.some((s) => s.name === 'apply'), 'nothing applied');
  } finally {
    await stop();
    await db.close();
  }
});

test('after its automatic attempts ran out, a resource is tried again once its configuration changes while still non-compliant', async () => {
  const { db, engine, rule, live } = await setup({ invokeType: 'AUTO_EXECUTION', maximumAutomaticAttempts: 1 });
  const stop = live();
  try {
    const key = sgKey('sg-ack-managed');
    await engine.executions.enqueue({ ruleId: rule.ruleId, key, action: 'ACS-ECS-RevokeSecurityGroupRules', trigger: 'AUTOMATIC' });
    await engine.worker.drain();
    const [first] = await engine.executions.list({ resource: key });
    assert.equal(first!.status, 'FAILED');
    // A service-managed group: refused, not retried, whatever the attempts.
    assert.match(first!.errorMessage!, /not retried: .*automatic remediation leaves this resource alone until it changes/);
    // Nothing changes: nothing is queued by a re-evaluation.
    await engine.evaluator.evaluateRules();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await engine.executions.list({ resource: key })).length, 1);

    // Its configuration changes (still open to the world): automatic remediation tries again.
    await engine.sandbox.call(
      'ecs:AuthorizeSecurityGroup',
      { accountId: ACCOUNT, regionId: REGION },
      { SecurityGroupId: 'sg-ack-managed', IpProtocol: 'TCP', PortRange: '3389/3389', SourceCidrIp: '0.0.0.0/0' },
    );
    await engine.recorder.drain('sandbox');
    await engine.evaluator.idle();
    await new Promise((r) => setTimeout(r, 50));
    const all = await engine.executions.list({ resource: key });
    assert.equal(all.length, 2);
    assert.equal(all[0]!.trigger, 'AUTOMATIC');
    assert.equal(all[0]!.attempt, 1);
  } finally {
    await stop();
    await db.close();
  }
});
