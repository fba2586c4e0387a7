import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { backends, freshDb } from '../helpers/db.js';
import { SandboxCloud, parseEstateText } from '../../src/providers/sandbox/index.js';
import { Inventory, Recorder } from '../../src/inventory/index.js';
import { RuleStore } from '../../src/rules/store.js';
import { validateRule } from '../../src/rules/model.js';
import { Evaluator } from '../../src/evaluation/evaluator.js';
import { ComplianceViews } from '../../src/evaluation/compliance.js';
import { ExecutionStore } from '../../src/remediation/executions.js';
import { ExceptionStore } from '../../src/remediation/exceptions.js';
import { RemediationWorker } from '../../src/remediation/worker.js';
import { RemediationControls } from '../../src/remediation/controls.js';
import { startRemediation, startRollback } from '../../src/remediation/start.js';
import { DEMO_ESTATE } from '../../src/service.js';
import { CredentialBroker } from '../../src/accounts/broker.js';
import { CredentialStore } from '../../src/accounts/credentials.js';
import { SecretBox } from '../../src/security/secret-box.js';
import { ProviderRegistry } from '../../src/providers/index.js';

async function setup(backend: (typeof backends)[number] = 'pglite') {
  const db = await freshDb(backend);
  const sandbox = new SandboxCloud(db);
  await sandbox.loadEstate(parseEstateText(readFileSync(DEMO_ESTATE, 'utf8'), DEMO_ESTATE).raw);
  const recorder = new Recorder(db, [sandbox]);
  await recorder.snapshot('sandbox');
  const rules = new RuleStore(db);
  const evaluator = new Evaluator(db, rules);
  const compliance = new ComplianceViews(db);
  const inventory = new Inventory(db);
  const executions = new ExecutionStore(db);
  const exceptions = new ExceptionStore(db);
  await rules.create(
    validateRule({
      name: 'sg-risky',
      source: { managed: 'sg-risky-ports-check' },
      scope: { resourceTypes: ['ACS::ECS::SecurityGroup', 'AWS::EC2::SecurityGroup'] },
      remediation: { action: 'ACS-ECS-RevokeSecurityGroupRules' },
    }),
  );
  await rules.create(
    validateRule({
      name: 'approved-amis',
      source: { managed: 'approved-amis-by-id' },
      parameters: { amiIds: 'ami-0c55b159cbfafe1f0' },
      scope: { resourceTypes: ['AWS::EC2::Instance'] },
      remediation: { action: 'AWS-StopEC2Instance' },
    }),
  );
  await evaluator.evaluateRules();
  const providers = new ProviderRegistry([sandbox]);
  const broker = new CredentialBroker(providers, new CredentialStore(db, SecretBox.ephemeral()));
  const deps = {
    executions,
    exceptions,
    controls: new RemediationControls(db),
    rules,
    providers,
    recorder,
    evaluator,
    compliance,
    broker,
    homeAccount: async () => undefined,
  };
  const worker = new RemediationWorker(deps, { concurrency: 2 });
  const start = (req: Parameters<typeof startRemediation>[1]) => startRemediation({ rules, inventory, compliance, executions, exceptions }, req);
  const result = async (rule: string, resourceType: string, resourceId: string, accountId: string, regionId: string) =>
    (await evaluator.resultFor((await rules.get(rule)).ruleId, { accountId, regionId, resourceType, resourceId }))[0]?.compliance_type;
  return { db, sandbox, executions, exceptions, rules, worker, start, result, deps };
}

for (const backend of backends) {
  test(`${backend}: seed 003 by hand: risky rules revoked, every step recorded; a service-managed group refused`, async () => {
    const { db, sandbox, executions, worker, start, result } = await setup(backend);
    try {
      const res = await start({ rule: 'sg-risky', allNonCompliant: true });
      assert.deepEqual(res.queued.map((q) => q.resourceId).sort(), ['sg-ack-managed', 'sg-debug-open', 'sg-member-db']);
      assert.deepEqual(res.failed, [{ resourceId: 'sg-0123456789abcdef0', reason: 'ACS-ECS-RevokeSecurityGroupRules does not fix AWS::EC2::SecurityGroup' }]);
      await worker.drain();
      const all = await executions.list({});
      const by = Object.fromEntries(all.map((x) => [x.resourceId, x]));
      const fixed = by['sg-debug-open']!;
      assert.equal(fixed.status, 'SUCCEEDED', JSON.stringify(fixed.steps));
      assert.deepEqual(
        fixed.steps.map((s) => [s.name, s.status]),
        [
          ['reread', 'SUCCEEDED'],
          ['reevaluate', 'SUCCEEDED'],
          ['parameters', 'SUCCEEDED'],
          ['credentials', 'SUCCEEDED'],
          ['preview', 'SUCCEEDED'],
          ['apply', 'SUCCEEDED'],
          ['verify', 'SUCCEEDED'],
          ['confirm', 'SUCCEEDED'],
        ],
      );
      assert.match(fixed.steps[7]!.message, /now reports COMPLIANT/);
      assert.ok(fixed.priorState, 'the prior state is recorded for rollback');
      assert.equal(await result('sg-risky', 'ACS::ECS::SecurityGroup', 'sg-debug-open', '100931896542', 'cn-hangzhou'), 'COMPLIANT');
      const ports = (await sandbox.describe({
        accountId: '100931896542',
        regionId: 'cn-hangzhou',
        resourceType: 'ACS::ECS::SecurityGroup',
        resourceId: 'sg-debug-open',
      }))!.configuration as any;
      assert.deepEqual(
        ports.Permissions.Permission.map((p: any) => p.PortRange),
        ['80/80'],
        'only the risky rules are gone',
      );
      const refused = by['sg-ack-managed']!;
      assert.equal(refused.status, 'FAILED');
      assert.equal(refused.errorCode, 'Refused');
      assert.match(refused.errorMessage!, /service-managed/i);
      assert.equal(by['sg-member-db']!.status, 'SUCCEEDED');

      // Again: the resource is compliant now, so the execution stops, successfully, at the re-evaluation.
      const again = await start({ rule: 'sg-risky', resourceIds: ['sg-debug-open'] });
      await worker.drain();
      const second = await executions.get(again.queued[0]!.executionId);
      assert.equal(second.status, 'SUCCEEDED');
      assert.deepEqual(
        second.steps.map((s) => s.name),
        ['reread', 'reevaluate'],
      );
      assert.match(second.steps[1]!.message, /already COMPLIANT/);
    } finally {
      await db.close();
    }
  });
}

test('a dry run shows the diff and changes nothing; one active execution per rule and resource', async () => {
  const { db, sandbox, executions, worker, start } = await setup();
  try {
    const key = { accountId: '100931896542', regionId: 'cn-hangzhou', resourceType: 'ACS::ECS::SecurityGroup', resourceId: 'sg-debug-open' };
    const before = (await sandbox.describe(key))!.configuration;
    const res = await start({ rule: 'sg-risky', resourceIds: ['sg-debug-open'], dryRun: true });
    const dup = await start({ rule: 'sg-risky', resourceIds: ['sg-debug-open'] });
    assert.equal(dup.queued.length, 0);
    assert.match(dup.failed[0]!.reason, new RegExp(`already active.*${res.queued[0]!.executionId}`));
    await worker.drain();
    const x = await executions.get(res.queued[0]!.executionId);
    assert.equal(x.status, 'SUCCEEDED');
    assert.equal(x.dryRun, true);
    const preview = x.steps.find((s) => s.name === 'preview')!;
    assert.match(preview.message, /dry run, nothing changed: would revoke/);
    assert.equal((preview.detail as { op: string }[]).filter((d) => d.op === 'remove').length, 2);
    assert.ok(!x.steps.some((s) => s.name === 'apply'));
    assert.deepEqual((await sandbox.describe(key))!.configuration, before);
  } finally {
    await db.close();
  }
});

test('seed 002 by hand: the instance is stopped, stays NON_COMPLIANT, and the execution SUCCEEDED', async () => {
  const { db, sandbox, executions, worker, start, result } = await setup();
  try {
    const res = await start({ rule: 'approved-amis', allNonCompliant: true });
    assert.deepEqual(
      res.queued.map((q) => q.resourceId),
      ['i-0a1b2c3d4e5f60002'],
    );
    await worker.drain();
    const x = await executions.get(res.queued[0]!.executionId);
    assert.equal(x.status, 'SUCCEEDED', JSON.stringify(x.steps));
    assert.match(x.steps[x.steps.length - 1]!.message, /approved-amis now reports NON_COMPLIANT/);
    const key = { accountId: '100931896542', regionId: 'us-east-1', resourceType: 'AWS::EC2::Instance', resourceId: 'i-0a1b2c3d4e5f60002' };
    assert.equal(((await sandbox.describe(key))!.configuration as any).State.Name, 'stopped');
    assert.equal(await result('approved-amis', key.resourceType, key.resourceId, key.accountId, key.regionId), 'NON_COMPLIANT');
  } finally {
    await db.close();
  }
});

test('a worker that loses its lease cannot end the execution; the next worker runs it once', async () => {
  const { db, executions, start, deps } = await setup();
  try {
    const res = await start({ rule: 'sg-risky', resourceIds: ['sg-debug-open'] });
    const id = res.queued[0]!.executionId;
    const [claimed] = await executions.claim('dead-worker', 1, 1); // a 1 ms lease: as if the worker died
    assert.equal(claimed!.executionId, id);
    await new Promise((r) => setTimeout(r, 20));
    const next = new RemediationWorker(deps, { owner: 'live-worker' });
    await next.drain();
    const x = await executions.get(id);
    assert.equal(x.status, 'SUCCEEDED');
    assert.equal(await executions.finish(id, 'dead-worker', { status: 'FAILED', steps: [] }), false, 'the dead worker cannot overwrite the outcome');
    assert.equal((await executions.get(id)).status, 'SUCCEEDED');
  } finally {
    await db.close();
  }
});

test('a failed automatic execution is retried after the interval until the attempts run out, visibly', async () => {
  const { db, sandbox, executions, worker, deps } = await setup();
  try {
    const rule = await deps.rules.update(
      'sg-risky',
      validateRule({
        name: 'sg-risky',
        source: { managed: 'sg-risky-ports-check' },
        scope: { resourceTypes: ['ACS::ECS::SecurityGroup'] },
        remediation: { action: 'ACS-ECS-RevokeSecurityGroupRules', invokeType: 'AUTO_EXECUTION', maximumAutomaticAttempts: 3, retryAttemptSeconds: 1 },
      }),
    );
    // The cloud throttles every revoke on this group: a failure worth retrying that never goes away.
    const key = { accountId: '100931896542', regionId: 'cn-hangzhou', resourceType: 'ACS::ECS::SecurityGroup', resourceId: 'sg-debug-open' };
    sandbox.injectFault({ action: 'ecs:RevokeSecurityGroup', code: 'Throttling', httpStatus: 503, resourceId: 'sg-debug-open' });
    await executions.enqueue({ ruleId: rule.ruleId, key, action: 'ACS-ECS-RevokeSecurityGroupRules', trigger: 'AUTOMATIC' });
    for (let i = 0; i < 3; i++) {
      await worker.drain();
      if (i < 2) await new Promise((r) => setTimeout(r, 1100));
    }
    await worker.drain();
    const all = (await executions.list({ ruleId: rule.ruleId })).reverse();
    assert.deepEqual(
      all.map((x) => [x.attempt, x.status, x.trigger]),
      [
        [1, 'FAILED', 'AUTOMATIC'],
        [2, 'FAILED', 'AUTOMATIC'],
        [3, 'FAILED', 'AUTOMATIC'],
      ],
    );
    assert.ok(Date.parse(all[1]!.notBefore) - Date.parse(all[0]!.finishedAt!) >= 900, 'the retry waits the interval');
    assert.match(all[0]!.errorMessage!, /attempt 1 of 3; retrying in 1 s/);
    assert.match(all[2]!.errorMessage!, /attempt 3 of 3: automatic remediation leaves this resource alone/);
    // A manual execution is never retried.
    const manual = await executions.enqueue({ ruleId: rule.ruleId, key, action: 'ACS-ECS-RevokeSecurityGroupRules', trigger: 'MANUAL' });
    await worker.drain();
    assert.equal((await executions.get(manual.executionId)).status, 'FAILED');
    assert.equal((await executions.list({ ruleId: rule.ruleId, status: 'QUEUED' })).length, 0);
  } finally {
    await db.close();
  }
});

test('rollback restores the prior state as a new execution linked to the fix; what cannot be rolled back says why', async () => {
  const { db, sandbox, executions, worker, start, result } = await setup();
  try {
    const key = { accountId: '100931896542', regionId: 'cn-hangzhou', resourceType: 'ACS::ECS::SecurityGroup', resourceId: 'sg-debug-open' };
    const portsOf = async () =>
      ((await sandbox.describe(key))!.configuration as any).Permissions.Permission.map((p: any) => `${p.PortRange} ${p.SourceCidrIp}`).sort();
    const before = await portsOf();
    const fix = (await start({ rule: 'sg-risky', resourceIds: ['sg-debug-open'] })).queued[0]!;
    await worker.drain();
    assert.deepEqual(await portsOf(), ['80/80 0.0.0.0/0']);
    const rb = await startRollback({ executions }, fix.executionId);
    assert.equal(rb.rollbackOf, fix.executionId);
    await worker.drain();
    const done = await executions.get(rb.executionId);
    assert.equal(done.status, 'SUCCEEDED', JSON.stringify(done.steps));
    assert.deepEqual(
      done.steps.map((s) => s.name),
      ['reread', 'credentials', 'apply', 'confirm'],
    );
    assert.match(done.steps[3]!.message, /now reports NON_COMPLIANT/);
    assert.deepEqual(await portsOf(), before, 'the revoked rules are back');
    assert.equal(await result('sg-risky', key.resourceType, key.resourceId, key.accountId, key.regionId), 'NON_COMPLIANT');
    await assert.rejects(startRollback({ executions }, rb.executionId), /is itself a rollback/);
    const dry = (await start({ rule: 'sg-risky', resourceIds: ['sg-member-db'], dryRun: true })).queued[0]!;
    await worker.drain();
    await assert.rejects(startRollback({ executions }, dry.executionId), /was a dry run and changed nothing/);
    await assert.rejects(startRollback({ executions }, 'rx-nope'), /no execution rx-nope/);
  } finally {
    await db.close();
  }
});

test('exceptions: an exempted resource is refused by hand with the reason, cancelled if queued before, and free again once expired', async () => {
  const { db, executions, exceptions, rules, worker, start } = await setup();
  try {
    const rule = await rules.get('sg-risky');
    const key = { accountId: '100931896542', regionId: 'cn-hangzhou', resourceType: 'ACS::ECS::SecurityGroup', resourceId: 'sg-debug-open' };
    const queued = (await start({ rule: 'sg-risky', resourceIds: ['sg-debug-open'] })).queued[0]!;
    await exceptions.put(rule.ruleId, key, 'break-glass access for incident 42', new Date(Date.now() + 3600_000));
    await worker.drain();
    const cancelled = await executions.get(queued.executionId);
    assert.equal(cancelled.status, 'CANCELLED');
    assert.equal(cancelled.errorCode, 'Exempted');
    assert.match(cancelled.errorMessage!, /exempted from remediation until .*: break-glass access for incident 42/);
    const refused = await start({ rule: 'sg-risky', resourceIds: ['sg-debug-open'] });
    assert.equal(refused.queued.length, 0);
    assert.match(refused.failed[0]!.reason, /break-glass access for incident 42/);
    // Expired: remediation applies again.
    await exceptions.put(rule.ruleId, key, 'old', new Date(Date.now() - 1000));
    assert.equal(await exceptions.active(rule.ruleId, key), undefined);
    assert.equal((await exceptions.list(rule.ruleId))[0]!.expired, true);
    const again = await start({ rule: 'sg-risky', resourceIds: ['sg-debug-open'] });
    assert.equal(again.queued.length, 1);
    await worker.drain();
    assert.equal((await executions.get(again.queued[0]!.executionId)).status, 'SUCCEEDED');
    assert.equal(await exceptions.remove(rule.ruleId, key), true);
    assert.equal(await exceptions.remove(rule.ruleId, key), false);
  } finally {
    await db.close();
  }
});
