/**
 * The benchmark of the pipeline on the embedded default (PGlite persisted in
 * a data directory): generate an estate, load it, record it, evaluate the
 * four seed rules over it, and measure change latencies one change at a time.
 *
 *   npm run bench                                  # 100,000 resources, 1,000 changes
 *   npm run bench -- --resources 20000 --changes 500 --json
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openStore } from '../src/store/index.js';
import { SandboxCloud, generateEstate } from '../src/providers/sandbox/index.js';
import { Inventory, Recorder, type RecordedEvent } from '../src/inventory/index.js';
import { ExceptionStore } from '../src/remediation/exceptions.js';
import { RuleStore } from '../src/rules/store.js';
import { Evaluator, type ComplianceChange } from '../src/evaluation/evaluator.js';
import { applyPolicy } from '../src/policy/plan.js';
import { readPolicyDocuments } from '../src/policy/files.js';
import { EXAMPLE_POLICIES } from '../src/service.js';
import { Rng } from '../src/util/random.js';
import { FunctionStore } from '../src/functions/store.js';
import { AccountGroupStore } from '../src/accounts/groups.js';

const { values } = parseArgs({
  options: {
    resources: { type: 'string', default: '100000' },
    accounts: { type: 'string', default: '50' },
    changes: { type: 'string', default: '1000' },
    seed: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
  },
});
const N = Number(values.resources);
const CHANGES = Number(values.changes);

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const ms = (x: number) => +x.toFixed(2);
const log = (s: string) => process.stderr.write(s + '\n');
const fmt = (n: number) => Math.round(n).toLocaleString('en');

/** Waits for the first event on `emitter` that `match` accepts, failing after 10 s. */
function waitFor<T>(emitter: NodeJS.EventEmitter, event: string, match: (e: T) => boolean): Promise<T> {
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => {
      emitter.off(event, on);
      fail(new Error(`no matching ${event} within 10 s`));
    }, 10_000);
    const on = (e: T) => {
      if (!match(e)) return;
      clearTimeout(timer);
      emitter.off(event, on);
      ok(e);
    };
    emitter.on(event, on);
  });
}

const dir = mkdtempSync(join(tmpdir(), 'confix-bench-'));
try {
  let t = performance.now();
  const estate = generateEstate({ accounts: Number(values.accounts), resources: N, seed: Number(values.seed) });
  log(`generated ${fmt(N)} resources in ${values.accounts} accounts (${((performance.now() - t) / 1000).toFixed(1)} s)`);
  const db = await openStore({ dataDir: dir });
  const sandbox = new SandboxCloud(db);
  const recorder = new Recorder(db, [sandbox]);
  const rules = new RuleStore(db);
  const evaluator = new Evaluator(db, rules);

  t = performance.now();
  await sandbox.loadEstate(estate);
  const loadMs = performance.now() - t;
  log(`estate loaded (${(loadMs / 1000).toFixed(1)} s)`);
  t = performance.now();
  const snap = await recorder.snapshot('sandbox');
  const snapMs = performance.now() - t;
  log(`first snapshot recorded (${(snapMs / 1000).toFixed(1)} s)`);
  t = performance.now();
  await recorder.snapshot('sandbox');
  const resnapMs = performance.now() - t;

  await applyPolicy(
    {
      db,
      rules,
      exceptions: new ExceptionStore(db),
      inventory: new Inventory(db),
      groups: new AccountGroupStore(db, sandbox),
      sandbox,
      functions: new FunctionStore(db),
    },
    readPolicyDocuments([EXAMPLE_POLICIES]),
  );
  t = performance.now();
  const firstEval = await evaluator.evaluateRules();
  const evalMs = performance.now() - t;
  log(`first full evaluation: ${fmt(firstEval.evaluations)} evaluations (${(evalMs / 1000).toFixed(1)} s)`);
  t = performance.now();
  const reEval = await evaluator.evaluateRules();
  const reEvalMs = performance.now() - t;

  // Change latencies, one change at a time, on security groups that are
  // compliant to begin with: opening port 22 to the world flips the result,
  // revoking it flips it back; every change is a compliance change.
  const [{ n: sgCompliant } = { n: 0 }] = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM evaluation_results WHERE compliance_type = 'COMPLIANT' AND resource_type = 'ACS::ECS::SecurityGroup'`,
  );
  const groups = await db.query<{ account_id: string; region_id: string; resource_id: string }>(
    `SELECT e.account_id, e.region_id, e.resource_id FROM evaluation_results e
     JOIN resources r USING (account_id, region_id, resource_type, resource_id) JOIN configuration_items c ON c.id = r.ci_id
     WHERE e.compliance_type = 'COMPLIANT' AND e.resource_type = 'ACS::ECS::SecurityGroup' AND (c.configuration->>'ServiceManaged') IS DISTINCT FROM 'true'
     ORDER BY e.resource_id LIMIT 2000`,
  );
  if (!groups.length) throw new Error(`no compliant security group to flip (${sgCompliant})`);
  const rng = new Rng(42);
  evaluator.attach(recorder, { schedulerMs: 0 });
  recorder.start(60_000);
  const toItem: number[] = [];
  const toResult: number[] = [];
  const open = new Set<string>();
  for (let i = 0; i < CHANGES; i++) {
    const g = rng.pick(groups);
    const action = open.has(g.resource_id) ? 'ecs:RevokeSecurityGroup' : 'ecs:AuthorizeSecurityGroup';
    const recorded = waitFor<RecordedEvent>(recorder, 'recorded', (e) => e.resourceId === g.resource_id);
    const judged = waitFor<ComplianceChange>(evaluator, 'compliance-change', (e) => e.resourceId === g.resource_id);
    const start = performance.now();
    await sandbox.call(
      action,
      { accountId: g.account_id, regionId: g.region_id },
      { SecurityGroupId: g.resource_id, IpProtocol: 'TCP', PortRange: '22/22', SourceCidrIp: '0.0.0.0/0' },
    );
    await recorded;
    toItem.push(performance.now() - start);
    await judged;
    toResult.push(performance.now() - start);
    if (open.has(g.resource_id)) open.delete(g.resource_id);
    else open.add(g.resource_id);
  }
  evaluator.detach(recorder);
  await recorder.stop();
  await db.close();
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);

  const result = {
    dataset: { resources: N, accounts: Number(values.accounts), seed: Number(values.seed), rules: 4 },
    store: 'PGlite (embedded, persisted)',
    estateLoadMs: Math.round(loadMs),
    recording: {
      firstSnapshotMs: Math.round(snapMs),
      resourcesRecordedPerSecond: Math.round(N / (snapMs / 1000)),
      configurationItems: snap.created,
      unchangedSnapshotMs: Math.round(resnapMs),
    },
    evaluation: {
      firstFullMs: Math.round(evalMs),
      evaluations: firstEval.evaluations,
      evaluationsPerSecond: Math.round(firstEval.evaluations / (evalMs / 1000)),
      resultsPersisted: firstEval.changed,
      unchangedFullMs: Math.round(reEvalMs),
      unchangedEvaluationsPerSecond: Math.round(reEval.evaluations / (reEvalMs / 1000)),
    },
    changeToConfigurationItem: { changes: toItem.length, p50Ms: ms(pct(toItem, 50)), p99Ms: ms(pct(toItem, 99)) },
    changeToResult: { changes: toResult.length, p50Ms: ms(pct(toResult, 50)), p99Ms: ms(pct(toResult, 99)), maxMs: ms(Math.max(...toResult)) },
    peakRssMiB: Math.round(peakRss / 1024 / 1024),
  };
  if (values.json) console.log(JSON.stringify(result));
  else {
    const r = result;
    console.log(`\nconfix benchmark — ${fmt(N)} resources, ${values.accounts} accounts, 4 seed rules, embedded PGlite`);
    console.log(`  estate load                ${(r.estateLoadMs / 1000).toFixed(1)} s`);
    console.log(`  first snapshot             ${fmt(r.recording.resourcesRecordedPerSecond)} resources recorded/s (${(snapMs / 1000).toFixed(1)} s)`);
    console.log(`  unchanged re-snapshot      ${(resnapMs / 1000).toFixed(1)} s`);
    console.log(
      `  first full evaluation      ${fmt(r.evaluation.evaluationsPerSecond)} evaluations/s, results persisted (${fmt(r.evaluation.evaluations)} in ${(evalMs / 1000).toFixed(1)} s)`,
    );
    console.log(`  unchanged full evaluation  ${fmt(r.evaluation.unchangedEvaluationsPerSecond)} evaluations/s (${(reEvalMs / 1000).toFixed(1)} s)`);
    console.log(`  change → recorded CI       p50 ${r.changeToConfigurationItem.p50Ms} ms, p99 ${r.changeToConfigurationItem.p99Ms} ms (${CHANGES} changes)`);
    console.log(`  change → persisted result  p50 ${r.changeToResult.p50Ms} ms, p99 ${r.changeToResult.p99Ms} ms, max ${r.changeToResult.maxMs} ms`);
    console.log(`  peak memory (RSS)          ${r.peakRssMiB} MiB`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
