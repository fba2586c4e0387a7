// Remediation by function (issue 6): `remediation: { function: NAME }` is
// validated (exactly one of action and function, no parameters, no execution
// role, a function name), and an execution runs reread, reevaluate, preview
// (a dry run ends there, invoking nothing) and invoke — the function gets the
// resource as Cloud Config's event, the JSON text of a list — then confirm.
// The function's failure, its timeout, and a success that leaves the resource
// non-compliant fail the execution; automatic retries queue new executions
// with new invocations; function executions cannot be rolled back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { freshDb } from '../helpers/db.js';
import { createEngine, type Engine } from '../../src/engine.js';
import { parseEstateText } from '../../src/providers/sandbox/index.js';
import { DEMO_ESTATE } from '../../src/service.js';
import { validateRule, type RuleValidationError } from '../../src/rules/model.js';
import { checkRemediationFunction, validateRemediation } from '../../src/remediation/config.js';
import { startRemediation, startRollback, StartError } from '../../src/remediation/start.js';
import type { Execution } from '../../src/remediation/executions.js';
import { planPolicy } from '../../src/policy/plan.js';

const ACCOUNT = '100931896542';
const SG = 'sg-debug-open';
const KEY = { accountId: ACCOUNT, regionId: 'cn-hangzhou', resourceType: 'ACS::ECS::SecurityGroup', resourceId: SG };

const THROWS = `class RemediationRefused extends Error {
  name = 'RemediationRefused';
  code = 'Teapot';
}
export async function handler(event: unknown, context: any) {
  const items = JSON.parse(event as string);
  context.logger.info('asked to fix', items.map((i: any) => i.resourceId).join(','));
  throw new RemediationRefused('will not touch ' + items[0].resourceId + ' (event was a ' + typeof event + ')');
}
`;
const SLOW = `export async function handler() {
  await new Promise((resolve) => setTimeout(resolve, 60_000));
}
`;
const IDLE = `export function handler(event: string) {
  return { looked: JSON.parse(event).length, changed: 0 };
}
`;

let engine: Engine;

function rule(name: string, remediation: Record<string, unknown>) {
  return validateRule({ name, source: { managed: 'sg-risky-ports-check' }, scope: { resourceTypes: ['ACS::ECS::SecurityGroup'] }, remediation });
}

const issues = (raw: unknown) => {
  try {
    validateRule(raw);
  } catch (e) {
    return (e as RuleValidationError).issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
  }
  assert.fail('expected the rule to be refused');
};

const start = (req: Parameters<typeof startRemediation>[1]) => startRemediation(engine, req);

/** Runs one execution of `ruleName` on the open group to its end. */
async function runOnce(ruleName: string, opts: { dryRun?: boolean } = {}): Promise<Execution> {
  const res = await start({ rule: ruleName, resourceIds: [SG], dryRun: opts.dryRun });
  assert.deepEqual(res.failed, []);
  assert.equal(res.queued.length, 1);
  await engine.worker.drain();
  return engine.executions.get(res.queued[0]!.executionId);
}

before(async () => {
  engine = createEngine(await freshDb(), { functionWorker: { heartbeatMs: 100, pollMs: 100 }, worker: { pollMs: 100 } });
  await engine.sandbox.loadEstate(parseEstateText(readFileSync(DEMO_ESTATE, 'utf8'), DEMO_ESTATE).raw);
  await engine.recorder.snapshot('sandbox');
  await engine.functions.deploy({ name: 'refuser', fileName: 'refuser.ts', source: THROWS });
  await engine.functions.deploy({ name: 'sleeper', fileName: 'sleeper.ts', source: SLOW, timeoutSeconds: 1 });
  await engine.functions.deploy({ name: 'idler', fileName: 'idler.ts', source: IDLE });
  for (const [name, fn] of [
    ['fn-refuser', 'refuser'],
    ['fn-sleeper', 'sleeper'],
    ['fn-idler', 'idler'],
    ['fn-missing', 'never-deployed'],
  ] as const)
    await engine.rules.create(rule(name, { function: fn, invokeType: 'AUTO_EXECUTION', maximumAutomaticAttempts: 2, retryAttemptSeconds: 1 }));
  await engine.evaluator.evaluateRules();
  engine.functionWorker.start();
});

after(async () => {
  await engine.worker.stop();
  await engine.functionWorker.stop();
  await engine.db.close();
});

test('validation: exactly one of action and function, no parameters or execution role, a function name; the spec keeps function', async () => {
  const r = rule('x', { function: 'revoke-risky-rules', invokeType: 'AUTO_EXECUTION' });
  assert.equal(r.remediation?.function, 'revoke-risky-rules');
  assert.equal(r.remediation?.action, 'function:revoke-risky-rules', 'what executions record as their action');
  assert.deepEqual(r.remediation?.parameters, {});
  assert.equal(r.remediation?.invokeType, 'AUTO_EXECUTION');
  assert.equal(r.remediation?.maximumAutomaticAttempts, 5);
  // A stored spec read back (GET, then PUT) is accepted as it is.
  assert.deepEqual(validateRemediation(r.remediation, ['ACS::ECS::SecurityGroup']).spec, r.remediation);

  const base = { name: 'x', source: { managed: 'sg-risky-ports-check' }, scope: { resourceTypes: ['ACS::ECS::SecurityGroup'] } };
  assert.match(
    issues({ ...base, remediation: { action: 'ACS-ECS-RevokeSecurityGroupRules', function: 'f' } }),
    /remediation\.action: give an action or a function, not both/,
  );
  assert.match(issues({ ...base, remediation: { invokeType: 'AUTO_EXECUTION' } }), /remediation\.action: an action or a function is required/);
  assert.match(issues({ ...base, remediation: { function: '9-lives' } }), /remediation\.function: "9-lives" is not a function name/);
  assert.match(issues({ ...base, remediation: { function: 'f', parameters: { ports: '22' } } }), /remediation\.parameters: a function takes no parameters/);
  assert.match(
    issues({ ...base, remediation: { function: 'f', executionRole: 'ConfigCustomRemediationRole' } }),
    /remediation\.executionRole: a function runs as its own role/,
  );
  assert.match(issues({ ...base, remediation: { action: 'function:f' } }), /remediation\.action: "function:f" names a function: write function: f instead/);

  // Whether it is deployed: where rules are created, and when a remediation is started.
  assert.equal(await checkRemediationFunction(rule('y', { function: 'refuser' }).remediation, engine.functions), undefined);
  const missing = await checkRemediationFunction(rule('y', { function: 'never-deployed' }).remediation, engine.functions);
  assert.deepEqual(missing?.path, ['remediation', 'function']);
  assert.match(missing!.message, /no function named "never-deployed" is deployed/);
  await assert.rejects(start({ rule: 'fn-missing', resourceIds: [SG] }), (e: Error) => e instanceof StartError && /never-deployed/.test(e.message));

  // Stored and read back, the same policy document plans as unchanged.
  const body = {
    name: 'fn-planned',
    source: { managed: 'sg-risky-ports-check' },
    scope: { resourceTypes: ['ACS::ECS::SecurityGroup'] },
    remediation: { function: 'refuser', invokeType: 'MANUAL_EXECUTION' },
  };
  await engine.rules.create(validateRule(body), 'policy');
  const plan = await planPolicy(engine, [{ source: 'x.yaml', kind: 'Rule', body }]);
  assert.deepEqual([plan.create.length, plan.update.length, plan.unchanged], [0, 0, ['fn-planned']]);
  await engine.rules.delete('fn-planned');

  // The rule store keeps it where FunctionStore.usedBy looks, so the function cannot be deleted under the rule.
  assert.deepEqual(await engine.functions.usedBy('refuser'), ['rule fn-refuser']);
  await assert.rejects(engine.functions.remove('refuser'), /still used by rule fn-refuser/);
});

test('an execution whose function is not deployed fails saying so (queued without the start-time check)', async () => {
  const r = await engine.rules.get('fn-missing');
  const x = await engine.executions.enqueue({ ruleId: r.ruleId, key: KEY, action: r.remediation!.action, trigger: 'MANUAL' });
  await engine.worker.drain();
  const done = await engine.executions.get(x.executionId);
  assert.equal(done.status, 'FAILED');
  assert.equal(done.errorCode, 'FunctionNotFound');
  assert.match(done.errorMessage!, /function never-deployed, which is not deployed/);
  assert.deepEqual(
    done.steps.map((s) => s.name),
    ['reread', 'reevaluate', 'preview'],
  );
});

test('a dry run stops at preview and invokes nothing', async () => {
  const x = await runOnce('fn-refuser', { dryRun: true });
  assert.equal(x.status, 'SUCCEEDED', JSON.stringify(x.steps));
  assert.equal(x.action, 'function:refuser');
  assert.deepEqual(
    x.steps.map((s) => [s.name, s.status]),
    [
      ['reread', 'SUCCEEDED'],
      ['reevaluate', 'SUCCEEDED'],
      ['preview', 'SUCCEEDED'],
    ],
  );
  assert.match(
    x.steps[2]!.message,
    /^dry run, nothing invoked: would invoke function refuser v1 \(it has no role\) with \[ACS::ECS::SecurityGroup sg-debug-open in 100931896542\/cn-hangzhou\]$/,
  );
  const detail = x.steps[2]!.detail as { function: string; version: number; event: unknown[] };
  assert.equal(detail.version, 1);
  assert.deepEqual(detail.event, [{ provider: 'sandbox', ...KEY, configRuleId: (await engine.rules.get('fn-refuser')).ruleId, configRuleName: 'fn-refuser' }]);
  assert.deepEqual(await engine.invocations.list({ functionName: 'refuser' }), [], 'nothing was invoked');
});

test("a throwing function fails the execution with its error; the invocation is linked and got Cloud Config's event text", async () => {
  const x = await runOnce('fn-refuser');
  assert.equal(x.status, 'FAILED');
  assert.deepEqual(
    x.steps.map((s) => [s.name, s.status]),
    [
      ['reread', 'SUCCEEDED'],
      ['reevaluate', 'SUCCEEDED'],
      ['preview', 'SUCCEEDED'],
      ['invoke', 'FAILED'],
    ],
  );
  assert.equal(x.errorCode, 'RemediationRefused');
  assert.match(
    x.errorMessage!,
    /^Teapot: will not touch sg-debug-open \(event was a string\) \(function refuser v1, invocation inv-[0-9a-f]+, FAILED in \d+ ms\)$/,
  );
  const detail = x.steps[3]!.detail as { invocationId: string; status: string; error: { type: string; code: string } };
  assert.equal(detail.status, 'FAILED');
  assert.deepEqual(detail.error.code, 'Teapot');
  const inv = await engine.invocations.get(detail.invocationId);
  assert.deepEqual(inv.source, { type: 'remediation', id: x.executionId });
  assert.equal(inv.idempotencyKey, `execution:${x.executionId}`);
  assert.equal(typeof inv.input, 'string', 'the event is a JSON text, as Function Compute passes it');
  const rule = await engine.rules.get('fn-refuser');
  assert.deepEqual(JSON.parse(inv.input as string), [
    {
      provider: 'sandbox',
      accountId: ACCOUNT,
      regionId: 'cn-hangzhou',
      resourceId: SG,
      resourceType: 'ACS::ECS::SecurityGroup',
      configRuleId: rule.ruleId,
      configRuleName: 'fn-refuser',
    },
  ]);
  assert.ok(inv.logs.some((l) => l.message.includes('asked to fix sg-debug-open')));
  // Found by its source, as a "which invocations did this execution make" lookup.
  assert.deepEqual(
    (await engine.invocations.list({ sourceType: 'remediation', sourceId: x.executionId })).map((i) => i.invocationId),
    [inv.invocationId],
  );
});

test('a function that runs past its timeout fails the execution with the timeout', async () => {
  const x = await runOnce('fn-sleeper');
  assert.equal(x.status, 'FAILED');
  assert.equal(x.errorCode, 'FunctionTimedOut');
  assert.match(x.errorMessage!, /ran longer than its timeout of 1 s/);
  assert.match(x.errorMessage!, /function sleeper v1, invocation inv-[0-9a-f]+, TIMED_OUT/);
});

test('a function that succeeds but leaves the resource non-compliant fails the postcondition', async () => {
  const x = await runOnce('fn-idler');
  assert.equal(x.status, 'FAILED');
  assert.deepEqual(
    x.steps.map((s) => [s.name, s.status]),
    [
      ['reread', 'SUCCEEDED'],
      ['reevaluate', 'SUCCEEDED'],
      ['preview', 'SUCCEEDED'],
      ['invoke', 'SUCCEEDED'],
      ['confirm', 'FAILED'],
    ],
  );
  assert.match(x.steps[3]!.message, /SUCCEEDED in \d+ ms, returning \{"looked":1,"changed":0\}/);
  assert.equal(x.errorCode, 'PostconditionFailed');
  assert.match(
    x.errorMessage!,
    /function idler succeeded \(invocation inv-[0-9a-f]+\), but fn-idler still reports NON_COMPLIANT: .*sgr-debug-ssh-world.*; it returned \{"looked":1,"changed":0\}/,
  );
});

test('automatic retries queue new executions, each with its own invocation, until the attempts run out', async () => {
  const r = await engine.rules.get('fn-refuser');
  const first = await engine.executions.enqueue({ ruleId: r.ruleId, key: KEY, action: r.remediation!.action, trigger: 'AUTOMATIC' });
  await engine.worker.drain();
  const one = await engine.executions.get(first.executionId);
  assert.equal(one.status, 'FAILED');
  assert.match(one.errorMessage!, /\(attempt 1 of 2; retrying in 1 s\)$/);
  const retry = (await engine.executions.list({ ruleId: r.ruleId, status: 'QUEUED' }))[0]!;
  assert.equal(retry.attempt, 2);
  assert.equal(retry.action, 'function:refuser');
  await new Promise((ok) => setTimeout(ok, Math.max(0, Date.parse(retry.notBefore) - Date.now()) + 50));
  await engine.worker.drain();
  const two = await engine.executions.get(retry.executionId);
  assert.equal(two.status, 'FAILED');
  assert.equal(two.errorCode, 'RemediationRefused');
  assert.match(two.errorMessage!, /attempt 2 of 2: automatic remediation leaves this resource alone/);
  assert.deepEqual(await engine.executions.list({ ruleId: r.ruleId, status: 'QUEUED' }), [], 'no third attempt');
  const invoked = await Promise.all(
    [one, two].map(async (x) => (await engine.invocations.list({ sourceType: 'remediation', sourceId: x.executionId }))[0]!.invocationId),
  );
  assert.notEqual(invoked[0], invoked[1], 'each attempt is a new invocation');
});

test('function executions cannot be rolled back: refused when asked, and by the worker', async () => {
  const [x] = await engine.executions.list({ ruleId: (await engine.rules.get('fn-idler')).ruleId });
  await assert.rejects(
    startRollback(engine, x!.executionId),
    (e: Error) => e instanceof StartError && /invoked function idler: .*cannot be rolled back/.test(e.message),
  );
  // Queued by hand, past the check: the worker refuses it before touching anything.
  const r = await engine.rules.get('fn-idler');
  const rb = await engine.executions.enqueue({ ruleId: r.ruleId, key: KEY, action: 'function:idler', trigger: 'MANUAL', rollbackOf: x!.executionId });
  await engine.worker.drain();
  const done = await engine.executions.get(rb.executionId);
  assert.equal(done.status, 'FAILED');
  assert.equal(done.errorCode, 'RollbackUnsupported');
  assert.deepEqual(done.steps, []);
});
