// Automatic remediation of what is already non-compliant: turning
// AUTO_EXECUTION on (or resuming it) queues executions for the rule's
// NON_COMPLIANT resources within its exceptions, grace period, approval and
// controls; an evaluation that finds a resource still non-compliant queues
// one while attempts remain; spent attempts leave it alone (and say so)
// until it changes or someone remediates it by hand; a queued execution runs
// the rule's remediation as it is when it starts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { freshDb } from '../helpers/db.js';
import { createEngine } from '../../src/engine.js';
import { parseEstateText } from '../../src/providers/sandbox/index.js';
import { validateRule } from '../../src/rules/model.js';
import { attachAutoRemediation, decide, queueAutomatic, withAutomaticStatus } from '../../src/remediation/auto.js';
import { planPolicy } from '../../src/policy/plan.js';
import { startRemediation } from '../../src/remediation/start.js';
import { DEMO_ESTATE } from '../../src/service.js';
import type { ExecutionHistory } from '../../src/remediation/executions.js';

const ACCOUNT = '100931896542';
const REGION = 'cn-hangzhou';
const SG = 'ACS::ECS::SecurityGroup';
const key = (resourceId: string, accountId = ACCOUNT) => ({ accountId, regionId: REGION, resourceType: SG, resourceId });
const RULE = (remediation: Record<string, unknown>) =>
  validateRule({
    name: 'sg-risky',
    source: { managed: 'sg-risky-ports-check' },
    scope: { resourceTypes: [SG] },
    remediation: { action: 'ACS-ECS-RevokeSecurityGroupRules', ...remediation },
  });

/** The demo estate, a manual sg-risky rule already evaluated (sg-debug-open, sg-ack-managed, sg-member-db NON_COMPLIANT), the service's wiring. */
async function setup() {
  const db = await freshDb();
  const engine = createEngine(db);
  await engine.sandbox.loadEstate(parseEstateText(readFileSync(DEMO_ESTATE, 'utf8'), DEMO_ESTATE).raw);
  await engine.recorder.snapshot('sandbox');
  const rule = await engine.rules.create(RULE({ invokeType: 'MANUAL_EXECUTION' }));
  await engine.evaluator.evaluateRules();
  engine.evaluator.attach(engine.recorder, { schedulerMs: 0 });
  const detach = attachAutoRemediation(engine.evaluator, engine);
  /** As the API's PUT /rules/{name} does: replace the rule, then evaluate it. */
  const update = async (remediation: Record<string, unknown>) => {
    const r = await engine.rules.update('sg-risky', RULE(remediation));
    await engine.evaluator.evaluateRules(['sg-risky']);
    await engine.auto.idle();
    return r;
  };
  const list = async () => (await engine.executions.list({ ruleId: rule.ruleId })).reverse();
  const close = async () => {
    detach();
    engine.evaluator.detach(engine.recorder);
    await engine.worker.stop();
    await engine.recorder.stop();
    await engine.evaluator.idle();
    await db.close();
  };
  return { db, engine, rule, update, list, close };
}

test('turning automatic remediation on queues executions for what is already NON_COMPLIANT, passing exempted resources, after the grace period', async () => {
  const { engine, rule, update, list, close } = await setup();
  try {
    assert.deepEqual(await list(), [], 'a manual rule queued nothing');
    await engine.exceptions.put(rule.ruleId, key('sg-member-db', '139876543210'), 'the db team fixes it', null);
    // What plan would say before the change: two due, one exempt.
    const planned = await planPolicy({ ...engine, automatic: engine }, [
      { source: 't.yaml', kind: 'Rule', body: { ...RULE({ invokeType: 'AUTO_EXECUTION', delaySeconds: 600 }) } as Record<string, unknown> },
    ]);
    assert.deepEqual(
      planned.automaticRemediation.map((a) => [a.rule, a.queue, a.exempt]),
      [['sg-risky', 2, 1]],
    );

    const before = Date.now();
    await update({ invokeType: 'AUTO_EXECUTION', delaySeconds: 600 });
    const queued = await list();
    assert.deepEqual(queued.map((x) => [x.resourceId, x.status, x.trigger, x.attempt]).sort(), [
      ['sg-ack-managed', 'QUEUED', 'AUTOMATIC', 1],
      ['sg-debug-open', 'QUEUED', 'AUTOMATIC', 1],
    ]);
    for (const x of queued) assert.ok(Date.parse(x.notBefore) >= before + 599_000, 'due after the grace period');
    // Evaluating again queues nothing more: one active execution per resource.
    await engine.evaluator.evaluateRules(['sg-risky']);
    await engine.auto.idle();
    assert.equal((await list()).length, 2);
    // The results say where each stands.
    const { items } = await engine.compliance.results({ ruleId: rule.ruleId, complianceType: 'NON_COMPLIANT' });
    const states = Object.fromEntries((await withAutomaticStatus(engine, items)).map((r) => [r.resourceId, r.automaticRemediation?.state]));
    assert.deepEqual(states, { 'sg-ack-managed': 'QUEUED', 'sg-debug-open': 'QUEUED', 'sg-member-db': 'EXEMPT' });
  } finally {
    await close();
  }
});

test('with approval required, turning it on leaves executions awaiting approval', async () => {
  const { update, list, close } = await setup();
  try {
    await update({ invokeType: 'AUTO_EXECUTION', approval: 'required' });
    const xs = await list();
    assert.equal(xs.length, 3);
    assert.ok(xs.every((x) => x.status === 'AWAITING_APPROVAL' && x.trigger === 'AUTOMATIC'));
  } finally {
    await close();
  }
});

test('a resource that stays NON_COMPLIANT is tried until its attempts are spent, then left alone and shown so, until it changes or is remediated by hand', async () => {
  const { engine, rule, update, list, close } = await setup();
  try {
    // The cloud throttles every revoke on sg-debug-open: a failure worth retrying, every time.
    engine.sandbox.injectFault({ action: 'ecs:RevokeSecurityGroup', code: 'Throttling.User', httpStatus: 503, resourceId: 'sg-debug-open' });
    await update({ invokeType: 'AUTO_EXECUTION', maximumAutomaticAttempts: 2, retryAttemptSeconds: 1 });
    for (let i = 0; i < 3; i++) {
      await engine.worker.drain();
      await engine.auto.idle();
      await new Promise((r) => setTimeout(r, 1100));
    }
    await engine.worker.drain();
    const open = (await list()).filter((x) => x.resourceId === 'sg-debug-open');
    assert.deepEqual(
      open.map((x) => [x.attempt, x.status, x.errorCode, x.retryable]),
      [
        [1, 'FAILED', 'Throttling.User', true],
        [2, 'FAILED', 'Throttling.User', true],
      ],
    );
    // Periodic or asked-for evaluations find it still NON_COMPLIANT: its attempts are spent, nothing is queued.
    await engine.evaluator.evaluateRules(['sg-risky']);
    await engine.evaluator.evaluateResource(key('sg-debug-open'));
    await engine.auto.idle();
    assert.equal((await list()).filter((x) => x.resourceId === 'sg-debug-open').length, 2);
    const [r] = await withAutomaticStatus(engine, (await engine.compliance.results({ ruleId: rule.ruleId, resource: key('sg-debug-open') })).items);
    assert.equal(r!.automaticRemediation!.state, 'ATTEMPTS_EXHAUSTED');
    assert.equal(r!.automaticRemediation!.attempts, 2);

    // Someone tries by hand: automatic remediation has its attempts again.
    await startRemediation(engine, { rule: 'sg-risky', resourceIds: ['sg-debug-open'] });
    await engine.worker.drain();
    await engine.evaluator.evaluateRules(['sg-risky']);
    await engine.auto.idle();
    const after = (await list()).filter((x) => x.resourceId === 'sg-debug-open');
    assert.deepEqual(after.map((x) => [x.trigger, x.attempt, x.status]).slice(2), [
      ['MANUAL', 1, 'FAILED'],
      ['AUTOMATIC', 1, 'QUEUED'],
    ]);
  } finally {
    await close();
  }
});

test('a failure retrying cannot fix (a service-managed group) is recorded and not retried; the result says REFUSED', async () => {
  const { engine, rule, update, list, close } = await setup();
  try {
    await update({ invokeType: 'AUTO_EXECUTION', maximumAutomaticAttempts: 5, retryAttemptSeconds: 1 });
    await engine.worker.drain();
    await engine.auto.idle();
    await new Promise((r) => setTimeout(r, 1100));
    await engine.evaluator.evaluateRules(['sg-risky']);
    await engine.auto.idle();
    await engine.worker.drain();
    const ack = (await list()).filter((x) => x.resourceId === 'sg-ack-managed');
    assert.deepEqual(
      ack.map((x) => [x.attempt, x.status, x.errorCode, x.retryable]),
      [[1, 'FAILED', 'Refused', false]],
    );
    assert.match(ack[0]!.errorMessage!, /not retried: the same attempt would fail the same way/);
    const [r] = await withAutomaticStatus(engine, (await engine.compliance.results({ ruleId: rule.ruleId, resource: key('sg-ack-managed') })).items);
    assert.equal(r!.automaticRemediation!.state, 'REFUSED');
    assert.equal(r!.automaticRemediation!.executionId, ack[0]!.executionId);
  } finally {
    await close();
  }
});

test('a refusal of an attempt that began before the remediation changed does not stop the new remediation from trying', async () => {
  const { engine, update, list, close } = await setup();
  try {
    // sg-debug-open's first attempt is refused, slowly; the remediation changes while it runs.
    engine.sandbox.injectFault({
      action: 'ecs:RevokeSecurityGroup',
      code: 'NoPermission',
      httpStatus: 403,
      resourceId: 'sg-debug-open',
      times: 1,
      delayMs: 600,
    });
    await update({ invokeType: 'AUTO_EXECUTION', maximumAutomaticAttempts: 3, retryAttemptSeconds: 1 });
    const draining = engine.worker.drain();
    await new Promise((r) => setTimeout(r, 250));
    await engine.rules.update('sg-risky', RULE({ invokeType: 'AUTO_EXECUTION', maximumAutomaticAttempts: 4, retryAttemptSeconds: 1 }));
    await draining;
    await engine.auto.idle();
    await engine.worker.drain();
    const mine = (await list()).filter((x) => x.resourceId === 'sg-debug-open');
    assert.deepEqual(
      mine.map((x) => [x.attempt, x.status, x.errorCode ?? null, x.retryable ?? null]),
      [
        [1, 'FAILED', 'NoPermission', false],
        [1, 'SUCCEEDED', null, null],
      ],
      'the refused attempt ran the old remediation; the new one tried afresh and fixed it',
    );
  } finally {
    await close();
  }
});

test('an interrupted retry chain is picked up by the next evaluation while attempts remain', async () => {
  const { engine, rule, update, list, close } = await setup();
  try {
    engine.sandbox.injectFault({ action: 'ecs:RevokeSecurityGroup', code: 'ServiceUnavailable', httpStatus: 503, resourceId: 'sg-debug-open' });
    await update({ invokeType: 'AUTO_EXECUTION', maximumAutomaticAttempts: 3, retryAttemptSeconds: 1 });
    await engine.worker.drain();
    await engine.auto.idle();
    // The retry is lost (cancelled, as a crash or an operator might leave it).
    const retry = (await list()).find((x) => x.resourceId === 'sg-debug-open' && x.status === 'QUEUED');
    assert.ok(retry, 'the worker queued a retry');
    assert.equal(retry.attempt, 2);
    await engine.db.query(`UPDATE remediation_executions SET status = 'CANCELLED', finished_at = now() WHERE execution_id = $1`, [retry.executionId]);
    await engine.evaluator.evaluateResource(key('sg-debug-open'));
    await engine.auto.idle();
    const again = (await list()).filter((x) => x.resourceId === 'sg-debug-open' && x.status === 'QUEUED');
    assert.deepEqual(
      again.map((x) => x.attempt),
      [2],
      'attempt 2 again: the cancelled one did not run',
    );
    assert.equal(again[0]!.ruleId, rule.ruleId);
  } finally {
    await close();
  }
});

test('resuming a paused rule queues what is non-compliant now', async () => {
  const { engine, rule, update, list, close } = await setup();
  try {
    await engine.rules.update('sg-risky', RULE({ invokeType: 'AUTO_EXECUTION' }));
    // Paused before its first evaluation under automatic remediation: executions are queued and wait.
    await engine.controls.pause(rule.ruleId, 'by a test');
    await update({ invokeType: 'AUTO_EXECUTION' });
    assert.equal((await list()).length, 3);
    await engine.db.query(`DELETE FROM remediation_executions`);
    await engine.controls.resume(rule.ruleId);
    engine.auto.request(rule.ruleId); // what the resume route does
    await engine.auto.idle();
    assert.equal((await list()).length, 3);
  } finally {
    await close();
  }
});

test('a queued execution runs the remediation the rule has when it starts, not the one it was queued with', async () => {
  const { engine, rule, close } = await setup();
  try {
    await engine.rules.update('sg-risky', RULE({ invokeType: 'MANUAL_EXECUTION', action: 'ACS-ECS-RevokeSecurityGroupRules' }));
    // Queued under an action the rule no longer has (as a retry queued before the rule changed): runs the rule's current one, and says so.
    const other = await engine.executions.enqueue({
      ruleId: rule.ruleId,
      key: key('sg-debug-open'),
      action: 'AWS-DisablePublicAccessForSecurityGroup',
      trigger: 'AUTOMATIC',
      attempt: 2,
    });
    await engine.worker.drain();
    const y = await engine.executions.get(other.executionId);
    assert.equal(y.action, 'ACS-ECS-RevokeSecurityGroupRules');
    assert.equal(y.status, 'SUCCEEDED', `${y.errorCode}: ${y.errorMessage}`);
    assert.match(
      y.steps[0]!.message,
      /remediation changed after this execution was queued: it runs ACS-ECS-RevokeSecurityGroupRules, not AWS-DisablePublicAccessForSecurityGroup/,
    );
  } finally {
    await close();
  }
});

test('decide counts attempts per configuration item, since the last manual execution and the last change of the remediation', () => {
  const spec = RULE({ invokeType: 'AUTO_EXECUTION', maximumAutomaticAttempts: 2, retryAttemptSeconds: 120, delaySeconds: 30 }).remediation!;
  const now = new Date('2026-01-01T12:00:00Z');
  const at = (s: number) => new Date(now.getTime() + s * 1000);
  const h = (over: Partial<ExecutionHistory>): ExecutionHistory => ({
    executionId: 'rx-1',
    status: 'FAILED',
    trigger: 'AUTOMATIC',
    dryRun: false,
    rollbackOf: null,
    attempt: 1,
    ciId: 7,
    errorCode: 'PostconditionFailed',
    retryable: true,
    createdAt: at(-100),
    startedAt: at(-95),
    finishedAt: at(-90),
    notBefore: at(-100),
    ...over,
  });
  assert.deepEqual(decide([], 7, spec, now), { state: 'DUE', attempts: 0, maximumAttempts: 2, attempt: 1, notBefore: at(30) });
  const one = decide([h({})], 7, spec, now);
  assert.equal(one.state, 'DUE');
  assert.equal(one.attempt, 2);
  assert.deepEqual(one.notBefore, at(30), 'retryAttemptSeconds after the previous attempt ended');
  assert.deepEqual(decide([h({ finishedAt: at(-500) })], 7, spec, now).notBefore, now, 'long since: now');
  assert.equal(decide([h({ executionId: 'rx-2', attempt: 2, createdAt: at(-50) }), h({})], 7, spec, now).state, 'ATTEMPTS_EXHAUSTED');
  assert.equal(decide([h({ executionId: 'rx-2', attempt: 2, createdAt: at(-50) }), h({})], 8, spec, now).attempts, 0, 'another configuration: afresh');
  assert.equal(
    decide([h({ trigger: 'MANUAL', createdAt: at(-10) }), h({ executionId: 'rx-2', createdAt: at(-50) }), h({})], 7, spec, now).attempts,
    0,
    'after a manual execution: afresh',
  );
  assert.equal(
    decide([h({ executionId: 'rx-2', createdAt: at(-50), startedAt: at(-45) }), h({})], 7, spec, now, at(-60)).attempts,
    1,
    'only attempts under the current remediation',
  );
  // Queued before the remediation changed, run after it: an attempt of the new one (its retry waits retryAttemptSeconds).
  const carried = decide([h({ executionId: 'rx-2', attempt: 2, createdAt: at(-80), startedAt: at(-40), finishedAt: at(-30) }), h({})], 7, spec, now, at(-60));
  assert.deepEqual([carried.attempts, carried.attempt, carried.notBefore], [1, 2, at(90)]);
  assert.equal(decide([h({ status: 'QUEUED' })], 7, spec, now).state, 'QUEUED');
  assert.equal(decide([h({ status: 'CANCELLED', errorCode: 'Rejected' })], 7, spec, now).state, 'REJECTED');
  assert.equal(decide([h({ errorCode: 'NoPermission', retryable: false })], 7, spec, now).state, 'REFUSED');
  assert.equal(decide([h({ dryRun: true }), h({ rollbackOf: 'rx-0' })], 7, spec, now).attempts, 0, 'dry runs and rollbacks are not attempts');
});

test('queueAutomatic with dryRun counts and queues nothing', async () => {
  const { engine, rule, list, close } = await setup();
  try {
    await engine.rules.update('sg-risky', RULE({ invokeType: 'AUTO_EXECUTION' }));
    const out = await queueAutomatic(engine, rule.ruleId, { dryRun: true });
    assert.equal(out.states.DUE, 3);
    assert.equal(out.queued.length, 0);
    assert.equal((await list()).length, 0);
  } finally {
    await close();
  }
});
