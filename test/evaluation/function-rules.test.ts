// Custom rules judged by deployed functions: the function gets the
// configuration item and the rule's parameters, and its answer becomes the
// result; a change is judged again; a failure or a bad answer is
// INSUFFICIENT_DATA saying why; an undeployed function says so.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { freshDb } from '../helpers/db.js';
import { createEngine, type Engine } from '../../src/engine.js';
import { parseEstateText } from '../../src/providers/sandbox/index.js';
import { validateRule, RuleValidationError } from '../../src/rules/model.js';
import { verdictOf } from '../../src/evaluation/function-rules.js';
import { planPolicy, PolicyValidationError } from '../../src/policy/plan.js';

const SEED = 'examples/estates/seed-000.yaml';
const A = '100931896542';
const B = '178366182654';
const REGION = 'cn-hangzhou';
const TYPE = 'ACS::ECS::Instance';
const B_INSTANCE = 'i-bp1seed000memberb001';
let engine: Engine;

before(async () => {
  engine = createEngine(await freshDb(), { functionWorker: { pollMs: 100, heartbeatMs: 100 } });
  const { raw } = parseEstateText(await readFile(SEED, 'utf8'), SEED);
  await engine.sandbox.loadEstate(raw, { source: SEED });
  await engine.recorder.snapshot('sandbox');
  engine.functionWorker.start();
});
after(async () => {
  engine.evaluator.detach(engine.recorder);
  await engine.recorder.stop();
  await engine.functionWorker.stop();
  engine.functionRules.detach();
  await engine.db.close();
});

const result = async (accountId: string, resourceId: string, rule = 'agent-by-function') =>
  (
    await engine.compliance.results({
      ruleId: (await engine.rules.get(rule)).ruleId,
      resource: { accountId, regionId: REGION, resourceType: TYPE, resourceId },
    })
  ).items[0];

const AGENT_CHECK = `interface Event {
  configRuleName: string;
  ruleParameters: { status: string };
  invokingEvent: { messageType: string; configurationItem: { resourceId: string; configuration: { MonitoringAgentStatus?: string } } };
}
export async function handler(event: Event, context: { logger: { info(...a: unknown[]): void } }) {
  const item = event.invokingEvent.configurationItem;
  const status = item.configuration.MonitoringAgentStatus ?? 'absent';
  context.logger.info(event.configRuleName, item.resourceId, status, event.invokingEvent.messageType);
  if (status === event.ruleParameters.status) return { complianceType: 'COMPLIANT', annotation: 'the agent is ' + status };
  return { complianceType: 'NON_COMPLIANT', annotation: 'the agent is ' + status + ', not ' + event.ruleParameters.status };
}
`;

test('a rule needs its resource types and a function name', () => {
  assert.throws(
    () => validateRule({ name: 'x', source: { function: 'agent-check' } }),
    (e: unknown) => e instanceof RuleValidationError && /scope\.resourceTypes: a custom rule needs/.test(e.message),
  );
  assert.throws(() => validateRule({ name: 'x', source: { function: '1bad' }, scope: { resourceTypes: [TYPE] } }), /source/);
  assert.deepEqual(validateRule({ name: 'x', source: { function: 'agent-check' }, scope: { resourceTypes: [TYPE] } }).source, { function: 'agent-check' });
});

test('a function judges each resource with the rule parameters; a change is judged again', async () => {
  const { functions, rules, evaluator, functionRules, invocations } = engine;
  await functions.deploy({ name: 'agent-check', fileName: 'agent-check.ts', source: AGENT_CHECK });
  await rules.create(
    validateRule({
      name: 'agent-by-function',
      source: { function: 'agent-check' },
      scope: { resourceTypes: [TYPE], accounts: [A, B] },
      parameters: { status: 'running' },
    }),
  );
  const summary = await evaluator.evaluateRules(['agent-by-function']);
  assert.equal(summary.evaluations, 2);
  await functionRules.idle();
  assert.equal((await result(A, 'i-bp1seed000mgmt00001'))?.complianceType, 'COMPLIANT');
  const b = await result(B, B_INSTANCE);
  assert.deepEqual([b?.complianceType, b?.annotation], ['NON_COMPLIANT', 'the agent is not_installed, not running']);
  const runs = await invocations.list({ functionName: 'agent-check' });
  assert.equal(runs.length, 2);
  assert.ok(runs.every((i) => i.status === 'SUCCEEDED' && i.source.type === 'rule'));
  assert.match(runs[0]!.logs[0]!.message, /^agent-by-function i-bp1seed000\w+ \w+ ScheduledNotification$/);

  // Evaluating again judges nothing anew: same rule, function version and configuration.
  await evaluator.evaluateRules(['agent-by-function']);
  await functionRules.idle();
  assert.equal((await invocations.list({ functionName: 'agent-check' })).length, 2);

  // The agent is installed: the change is judged by the function, and B becomes compliant.
  evaluator.attach(engine.recorder, { schedulerMs: 0 });
  engine.recorder.start(60_000);
  await engine.sandbox.call('cms:InstallMonitoringAgent', { accountId: B, regionId: REGION }, { InstanceIds: [B_INSTANCE] });
  await engine.recorder.drain('sandbox');
  await functionRules.idle();
  const fixed = await result(B, B_INSTANCE);
  assert.deepEqual([fixed?.complianceType, fixed?.annotation], ['COMPLIANT', 'the agent is running']);
  const last = (await invocations.list({ functionName: 'agent-check', limit: 1 }))[0]!;
  assert.match(last.logs[0]!.message, /ConfigurationItemChangeNotification$/);
});

test('a failing function, a bad answer and an undeployed function give INSUFFICIENT_DATA saying why', async () => {
  const { functions, rules, evaluator, functionRules } = engine;
  await functions.deploy({ name: 'throws', fileName: 't.js', source: 'export function handler() { throw new TypeError("no luck"); }\n' });
  await rules.create(validateRule({ name: 'thrower', source: { function: 'throws' }, scope: { resourceTypes: [TYPE], accounts: [B] } }));
  await rules.create(validateRule({ name: 'ghost', source: { function: 'never-deployed' }, scope: { resourceTypes: [TYPE], accounts: [B] } }));
  await evaluator.evaluateRules(['thrower', 'ghost']);
  await functionRules.idle();
  const t = await result(B, B_INSTANCE, 'thrower');
  assert.equal(t?.complianceType, 'INSUFFICIENT_DATA');
  assert.equal(t?.annotation, 'function throws (version 1) failed: TypeError: no luck');
  const g = await result(B, B_INSTANCE, 'ghost');
  assert.equal(g?.complianceType, 'INSUFFICIENT_DATA');
  assert.match(g!.annotation, /function never-deployed is not deployed; deploy it with `confix function deploy never-deployed/);

  const bad = verdictOf({ status: 'SUCCEEDED', result: { ok: true }, error: null, functionName: 'f', version: 3 });
  assert.equal(bad.complianceType, 'INSUFFICIENT_DATA');
  assert.match(bad.annotation, /function f \(version 3\) answered \{"ok":true\}; a rule's function returns \{ complianceType/);
  assert.deepEqual(verdictOf({ status: 'SUCCEEDED', result: 'NOT_APPLICABLE', error: null, functionName: 'f', version: 1 }), {
    complianceType: 'NOT_APPLICABLE',
    annotation: 'judged by function f (version 1)',
  });
  assert.equal(
    verdictOf({ status: 'TIMED_OUT', result: null, error: { type: 'FunctionTimeout', message: 'slow' }, functionName: 'f', version: 1 }).annotation,
    'function f (version 1) timed out: FunctionTimeout: slow',
  );
});

test('policy files may name only deployed functions, as judge or as remediation', async () => {
  const docs = [
    { source: 'r.yaml', kind: 'Rule', body: { name: 'judged', source: { function: 'not-here' }, scope: { resourceTypes: [TYPE] } } },
    { source: 'r.yaml#2', kind: 'Rule', body: { name: 'fixed', source: { managed: 'ecs-instance-monitor-enabled' }, remediation: { function: 'nor-here' } } },
    { source: 'r.yaml#3', kind: 'Rule', body: { name: 'fine', source: { function: 'agent-check' }, scope: { resourceTypes: [TYPE] } } },
  ];
  const err = await planPolicy(engine, docs).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof PolicyValidationError);
  assert.deepEqual(
    err.issues.map((i) => `${i.source}: ${i.path.join('.')}: ${i.message}`),
    [
      'r.yaml: source.function: no function named "not-here" is deployed; deploy it first (confix function deploy not-here --file …)',
      'r.yaml#2: remediation.function: no function named "nor-here" is deployed; deploy it first (confix function deploy nor-here --file …)',
    ],
  );
  assert.equal((await planPolicy(engine, [docs[2]!])).create.length, 1);
});
