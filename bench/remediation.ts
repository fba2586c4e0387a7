/**
 * The benchmark of remediation on the embedded default (PGlite persisted in a
 * data directory), wired as the running service wires it (createEngine; the
 * evaluator follows the recorder; automatic remediation follows the
 * evaluator; the recorder follows the change feed; the worker runs):
 *
 * 1. change → COMPLIANT again: on a generated estate with the seed rules, one
 *    change at a time opens SSH to 0.0.0.0/0 on a compliant security group
 *    and times how long until sg-disallow-risky-ports-for-all-ips says
 *    COMPLIANT again, through detection, automatic queueing and the worker.
 * 2. bulk remediation: an estate of N resources all non-compliant under one
 *    rule, queued at once by turning the rule's remediation to AUTO_EXECUTION
 *    (--bulk-start automatic, the default) or with startRemediation
 *    (allNonCompliant; --bulk-start manual), and drained by the worker within
 *    the rule's controls (--bulk-concurrency, --bulk-per-minute); remediations
 *    per second, the most in progress at once and started in a minute,
 *    outcomes, results afterwards.
 *
 * Both phases set the rule's execution controls out of the way, so they
 * measure the machinery, not the throttle. The bulk drain stops after
 * --drain-seconds (default 180; 0 waits for all) and then reports the rate
 * over what finished, with the queue still thousands deep.
 *
 *   node --import tsx bench/remediation.ts                  # or: npm run bench -- --only remediation
 *   node --import tsx bench/remediation.ts --resources 2000 --changes 500 --mass 10000 --mass-type bucket --worker-concurrency 16 --drain-seconds 180 --json
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { fileURLToPath } from 'node:url';
import { openStore, type Db } from '../src/store/index.js';
import { generateEstate } from '../src/providers/sandbox/index.js';
import { createEngine, type Engine } from '../src/engine.js';
import type { ComplianceChange } from '../src/evaluation/evaluator.js';
import { applyPolicy } from '../src/policy/plan.js';
import { readPolicyDocuments, type PolicyDocument } from '../src/policy/files.js';
import { attachAutoRemediation } from '../src/remediation/auto.js';
import { startRemediation } from '../src/remediation/start.js';
import { EXAMPLE_POLICIES } from '../src/service.js';
import { progressBar } from '../src/cli/progress.js';
import { createLogger } from '../src/util/log.js';
import { Rng } from '../src/util/random.js';

/** Options of this bench (run.ts routes arguments by them). */
export const remediationOptions = {
  resources: { type: 'string', default: '2000' },
  accounts: { type: 'string', default: '10' },
  changes: { type: 'string', default: '500' },
  warmup: { type: 'string', default: '5' },
  mass: { type: 'string', default: '10000' },
  'mass-type': { type: 'string', default: 'bucket' },
  'worker-concurrency': { type: 'string', default: '16' },
  'drain-seconds': { type: 'string', default: '180' },
  'bulk-start': { type: 'string', default: 'automatic' },
  'bulk-concurrency': { type: 'string', default: '1000' },
  'bulk-per-minute': { type: 'string', default: '100000' },
  seed: { type: 'string', default: '1' },
  json: { type: 'boolean', default: false },
} as const satisfies ParseArgsConfig['options'];

/** What each --mass-type remediates in bulk: the resource type, its seed rule, the rule's action. */
const MASS_TYPES = {
  bucket: { resourceType: 'ACS::OSS::Bucket', rule: 'oss-bucket-public-read-prohibited', breakage: 'public-read or public-read-write ACL' },
  sg: { resourceType: 'ACS::ECS::SecurityGroup', rule: 'sg-disallow-risky-ports-for-all-ips', breakage: 'a risky port open to 0.0.0.0/0 or ::/0' },
} as const;
type MassType = keyof typeof MASS_TYPES;

const SG_RULE = 'sg-disallow-risky-ports-for-all-ips';
/** Out of the way of the measurement (the schema's maximum concurrency is 1,000). */
const LATENCY_CONTROLS = { concurrency: 100, perMinute: 100_000, errorPercentage: 100 };
const BULK_CONTROLS = { concurrency: 1000, perMinute: 100_000, errorPercentage: 100 };
/** How long one change may take to come back COMPLIANT before it counts as a timeout. */
const CHANGE_TIMEOUT_MS = 15_000;
/** A bulk drain that makes no progress for this long is abandoned (and said so). */
const STALL_MS = 120_000;

export interface RemediationBenchOptions {
  resources: number;
  accounts: number;
  changes: number;
  warmup: number;
  mass: number;
  massType: MassType;
  workerConcurrency: number;
  /** Stop draining after this long (0: until every execution has finished). */
  drainSeconds: number;
  /** How the bulk is started: the rule turned to AUTO_EXECUTION over what is non-compliant, or remediate --all-non-compliant. */
  bulkStart: 'automatic' | 'manual';
  /** The bulk rule's execution controls (defaults out of the way of the measurement). */
  bulkConcurrency: number;
  bulkPerMinute: number;
  seed: number;
}

export function parseRemediationArgs(args: string[]): RemediationBenchOptions & { json: boolean } {
  const { values: v } = parseArgs({ args, options: remediationOptions, strict: true, allowPositionals: false });
  const int = (name: string, s: string, min: number) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be a whole number of at least ${min} (got "${s}")`);
    return n;
  };
  if (v['bulk-start'] !== 'automatic' && v['bulk-start'] !== 'manual') throw new Error(`--bulk-start must be automatic or manual (got "${v['bulk-start']}")`);
  if (!(v['mass-type'] in MASS_TYPES)) throw new Error(`--mass-type must be one of ${Object.keys(MASS_TYPES).join(', ')} (got "${v['mass-type']}")`);
  return {
    resources: int('resources', v.resources, 1),
    accounts: int('accounts', v.accounts, 1),
    changes: int('changes', v.changes, 1),
    warmup: int('warmup', v.warmup, 0),
    mass: int('mass', v.mass, 1),
    massType: v['mass-type'] as MassType,
    workerConcurrency: int('worker-concurrency', v['worker-concurrency'], 1),
    drainSeconds: int('drain-seconds', v['drain-seconds'], 0),
    bulkStart: v['bulk-start'] as 'automatic' | 'manual',
    bulkConcurrency: int('bulk-concurrency', v['bulk-concurrency'], 1),
    bulkPerMinute: int('bulk-per-minute', v['bulk-per-minute'], 1),
    seed: int('seed', v.seed, 0),
    json: v.json,
  };
}

interface Dist {
  n: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

export interface RemediationBenchResult {
  bench: 'remediation';
  store: string;
  changeToCompliant: {
    dataset: { resources: number; accounts: number; seed: number; rules: number; securityGroups: number; candidates: number };
    rule: string;
    action: string;
    executionControls: typeof LATENCY_CONTROLS;
    workerConcurrency: number;
    changes: number;
    warmupChanges: number;
    timeouts: number;
    /** The change made → the rule's result NON_COMPLIANT (recorder and evaluator). */
    changeToNonCompliant: Dist;
    /** The change made → the rule's result COMPLIANT again (the whole loop). */
    changeToCompliant: Dist;
    /** Execution queued → claimed by the worker (database clock). */
    queuedToStarted: Dist;
    /** Execution claimed → finished (database clock). */
    executionRun: Dist;
    over1s: number;
    executions: Record<string, number>;
    seconds: number;
  };
  bulk: {
    dataset: { resources: number; accounts: number; seed: number; resourceType: string; breakage: string; nonCompliantBefore: number };
    rule: string;
    action: string;
    executionControls: typeof BULK_CONTROLS;
    workerConcurrency: number;
    /** automatic: the rule turned to AUTO_EXECUTION queued them; manual: remediate --all-non-compliant. */
    start: 'automatic' | 'manual';
    /** The most executions seen in progress at once (sampled every half second), and the most started within any 60 s: both within the controls. */
    peakInProgress: number;
    maxStartedInAMinute: number;
    queued: number;
    notQueued: number;
    queueSeconds: number;
    /** Whether every execution finished (false: the drain budget ran out first). */
    complete: boolean;
    drainBudgetSeconds: number;
    finished: number;
    /** Still queued or in progress when the budget ran out. */
    left: number;
    /** From the first execution queued to the last one finished (or the budget's end). */
    totalSeconds: number;
    /** Finished executions over totalSeconds. */
    remediationsPerSecond: number;
    /** Results turned COMPLIANT after queueing ended, over the time since (the worker alone). */
    drainPerSecond: number;
    /** All of them at remediationsPerSecond (when the budget cut the drain short). */
    projectedTotalSeconds: number;
    /** [seconds since queueing began, results turned COMPLIANT so far], about every 10 s. */
    progress: [number, number][];
    succeeded: number;
    failed: number;
    cancelled: number;
    failures: Record<string, number>;
    executionRun: Dist;
    compliantAfter: number;
    nonCompliantAfter: number;
    stalled: boolean;
  };
  peakRssMiB: number;
}

const log = (s: string) => process.stderr.write(s + '\n');
const fmt = (n: number) => Math.round(n).toLocaleString('en');
const r2 = (x: number) => +x.toFixed(2);
const secs = (ms: number) => (ms / 1000).toFixed(1);
const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

function dist(xs: number[]): Dist {
  if (xs.length === 0) return { n: 0, p50Ms: 0, p99Ms: 0, maxMs: 0, meanMs: 0 };
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
  return { n: s.length, p50Ms: r2(at(50)), p99Ms: r2(at(99)), maxMs: r2(s[s.length - 1]!), meanMs: r2(s.reduce((a, b) => a + b, 0) / s.length) };
}

/** Progress on stderr: a bar on a terminal, a line every tenth otherwise. */
function progress(label: string, total: number) {
  const bar = progressBar(label, total);
  const tty = process.stderr.isTTY && total >= 1000;
  let nextLine = total / 10;
  return {
    update(n: number) {
      bar.update(n);
      if (!tty && n >= nextLine && n < total) {
        log(`  ${label}: ${fmt(n)}/${fmt(total)}`);
        while (nextLine <= n) nextLine += total / 10;
      }
    },
    stop: () => bar.stop(),
  };
}

/** The seed policies, with one rule's remediation changed (grace period and controls). */
function seedPolicies(rule: string, remediation: Record<string, unknown>): PolicyDocument[] {
  const docs = readPolicyDocuments([EXAMPLE_POLICIES]);
  const doc = docs.find((d) => d.body.name === rule);
  if (!doc) throw new Error(`no seed policy declares rule ${rule} (in ${EXAMPLE_POLICIES})`);
  if (!doc.body.remediation) throw new Error(`seed rule ${rule} has no remediation`);
  doc.body = { ...doc.body, remediation: { ...(doc.body.remediation as object), ...remediation } };
  return docs;
}

/** Temporary data directories, removed even when the bench is interrupted. */
const tempDirs = new Set<string>();
const onSignal = (signal: NodeJS.Signals) => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  process.stderr.write(`\n${signal}: removed the bench's temporary data directories\n`);
  process.exit(130);
};

/** An engine on a fresh embedded store in a temporary data directory, started the way startService does. */
/** Loads the estate, records and evaluates it, applies the policies and evaluates them: the service's start, in one place. */
async function prepare(engine: Engine, estate: unknown, docs: Parameters<typeof applyPolicy>[1]): Promise<void> {
  const { sandbox, recorder, evaluator } = engine;
  await sandbox.loadEstate(estate);
  evaluator.attach(recorder);
  await recorder.snapshot(sandbox.name);
  await evaluator.idle();
  await applyPolicy(engine, docs);
  await evaluator.evaluateRules();
}

async function openEngine(workerConcurrency: number) {
  const dir = mkdtempSync(join(tmpdir(), 'confix-bench-remediation-'));
  tempDirs.add(dir);
  let db: Db;
  try {
    db = await openStore({ dataDir: dir });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
    throw err;
  }
  // Warnings and errors of the engine are worth seeing; its info lines are not.
  const engine = createEngine(db, { log: createLogger({ level: 'warn' }), worker: { concurrency: workerConcurrency } });
  let detachAuto = () => {};
  let started = false;
  return {
    dir,
    engine,
    /** As startService after its initial snapshot and evaluation: automatic remediation, the change feed, the worker. */
    start() {
      detachAuto = attachAutoRemediation(engine.evaluator, engine);
      engine.recorder.start();
      engine.worker.start();
      started = true;
    },
    async close() {
      try {
        detachAuto();
        engine.evaluator.detach(engine.recorder);
        if (started) {
          await engine.worker.stop();
          await engine.recorder.stop();
        }
        await engine.evaluator.idle();
        await db.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
        tempDirs.delete(dir);
      }
    },
  };
}

async function countsByStatus(db: Db, ruleId: string, since?: Date): Promise<Record<string, number>> {
  const rows = await db.query<{ status: string; n: number }>(
    `SELECT status, count(*)::int AS n FROM remediation_executions WHERE rule_id = $1 AND ($2::timestamptz IS NULL OR created_at >= $2) GROUP BY status`,
    [ruleId, since ?? null],
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

async function resultCounts(db: Db, ruleId: string): Promise<Record<string, number>> {
  const rows = await db.query<{ c: string; n: number }>(
    `SELECT compliance_type AS c, count(*)::int AS n FROM evaluation_results WHERE rule_id = $1 GROUP BY compliance_type`,
    [ruleId],
  );
  return Object.fromEntries(rows.map((r) => [r.c, r.n]));
}

/** The generator's estate, with both lists (the estate input type has them optional). */
function generate(opts: Parameters<typeof generateEstate>[0]) {
  const e = generateEstate(opts);
  return { accounts: e.accounts ?? [], resources: e.resources ?? [] };
}

const ACTIVE = new Set(['QUEUED', 'AWAITING_APPROVAL', 'IN_PROGRESS']);

// --- 1. change → COMPLIANT again ---------------------------------------------

async function changeToCompliant(o: RemediationBenchOptions): Promise<RemediationBenchResult['changeToCompliant']> {
  const phaseStart = performance.now();
  let t = performance.now();
  const estate = generate({ accounts: o.accounts, resources: o.resources, seed: o.seed });
  log(`[remediation 1/2] generated ${fmt(estate.resources.length)} resources in ${o.accounts} accounts (${secs(performance.now() - t)} s)`);
  const env = await openEngine(o.workerConcurrency);
  const { engine } = env;
  const { db, sandbox, recorder, rules, evaluator } = engine;
  try {
    t = performance.now();
    const docs = seedPolicies(SG_RULE, { invokeType: 'AUTO_EXECUTION', delaySeconds: 0, executionControls: LATENCY_CONTROLS });
    await prepare(engine, estate, docs);
    env.start();
    const rule = await rules.get(SG_RULE);
    log(`[remediation 1/2] estate loaded, recorded and evaluated under ${docs.length} seed rules (${secs(performance.now() - t)} s)`);

    // Compliant, not service-managed (the sandbox refuses to revoke rules of those) Alibaba groups.
    const [{ n: securityGroups } = { n: 0 }] = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM resources WHERE resource_type = 'ACS::ECS::SecurityGroup' AND status <> 'ResourceDeleted'`,
    );
    const groups = await db.query<{ account_id: string; region_id: string; resource_id: string }>(
      `SELECT e.account_id, e.region_id, e.resource_id FROM evaluation_results e
       JOIN resources r USING (account_id, region_id, resource_type, resource_id) JOIN configuration_items c ON c.id = r.ci_id
       WHERE e.rule_id = $1 AND e.compliance_type = 'COMPLIANT' AND e.resource_type = 'ACS::ECS::SecurityGroup'
         AND (c.configuration->>'ServiceManaged') IS DISTINCT FROM 'true'
       ORDER BY e.resource_id`,
      [rule.ruleId],
    );
    if (!groups.length) throw new Error(`no compliant Alibaba security group to break among ${securityGroups}; use more --resources`);

    const rng = new Rng(o.seed + 42);
    const toNonCompliant: number[] = [];
    const toCompliant: number[] = [];
    const queuedToStarted: number[] = [];
    const run: number[] = [];
    const executions: Record<string, number> = {};
    let timeouts = 0;
    const total = o.warmup + o.changes;
    const bar = progress('change → COMPLIANT', o.changes);
    let measuredFrom = new Date();
    for (let i = 0; i < total; i++) {
      if (i === o.warmup) measuredFrom = new Date();
      const g = rng.pick(groups);
      const key = { accountId: g.account_id, regionId: g.region_id, resourceType: 'ACS::ECS::SecurityGroup', resourceId: g.resource_id };
      let nonCompliantAt = 0;
      let on: (c: ComplianceChange) => void = () => {};
      let timer: NodeJS.Timeout | undefined;
      const compliantAt = new Promise<number>((ok, fail) => {
        on = (c) => {
          if (c.ruleId !== rule.ruleId || c.resourceId !== key.resourceId || c.accountId !== key.accountId || c.regionId !== key.regionId) return;
          const now = performance.now();
          if (c.current === 'NON_COMPLIANT' && !nonCompliantAt) nonCompliantAt = now;
          if (c.current === 'COMPLIANT' && nonCompliantAt) ok(now);
        };
        timer = setTimeout(() => fail(new Error('timeout')), CHANGE_TIMEOUT_MS);
        evaluator.on('compliance-change', on);
      });
      const start = performance.now();
      try {
        await sandbox.call(
          'ecs:AuthorizeSecurityGroup',
          { accountId: key.accountId, regionId: key.regionId },
          {
            SecurityGroupId: key.resourceId,
            IpProtocol: 'TCP',
            PortRange: '22/22',
            SourceCidrIp: '0.0.0.0/0',
            Description: 'bench: SSH opened to the world',
          },
        );
        const done = await compliantAt;
        if (i >= o.warmup) {
          toNonCompliant.push(nonCompliantAt - start);
          toCompliant.push(done - start);
        }
      } catch (err) {
        if ((err as Error).message !== 'timeout') throw err;
        timeouts++;
        log(
          `  change ${i + 1}: ${key.resourceId} not COMPLIANT again within ${CHANGE_TIMEOUT_MS / 1000} s${nonCompliantAt ? '' : ' (never seen NON_COMPLIANT)'}`,
        );
      } finally {
        clearTimeout(timer);
        evaluator.off('compliance-change', on);
      }
      // One change at a time: let its execution finish and the feed and evaluator settle before the next.
      const settleBy = performance.now() + CHANGE_TIMEOUT_MS;
      for (;;) {
        const [x] = await db.query<{ status: string; created_at: Date; started_at: Date | null; finished_at: Date | null }>(
          `SELECT status, created_at, started_at, finished_at FROM remediation_executions
           WHERE rule_id = $1 AND account_id = $2 AND region_id = $3 AND resource_type = $4 AND resource_id = $5 ORDER BY created_at DESC LIMIT 1`,
          [rule.ruleId, key.accountId, key.regionId, key.resourceType, key.resourceId],
        );
        if (x && !ACTIVE.has(x.status)) {
          if (i >= o.warmup) {
            executions[x.status] = (executions[x.status] ?? 0) + 1;
            if (x.started_at) queuedToStarted.push(new Date(x.started_at).getTime() - new Date(x.created_at).getTime());
            if (x.started_at && x.finished_at) run.push(new Date(x.finished_at).getTime() - new Date(x.started_at).getTime());
          }
          break;
        }
        if (performance.now() > settleBy) {
          log(`  change ${i + 1}: the execution for ${key.resourceId} is ${x?.status ?? 'missing'} after ${CHANGE_TIMEOUT_MS / 1000} s; going on`);
          break;
        }
        await sleep(2);
      }
      await recorder.drain(sandbox.name);
      await evaluator.idle();
      if (i >= o.warmup) bar.update(i - o.warmup + 1);
    }
    bar.stop();
    // Every execution since measuring began, whatever the per-change loop saw (extras would be a bug).
    const all = await countsByStatus(db, rule.ruleId, measuredFrom);
    const counted = Object.values(executions).reduce((a, b) => a + b, 0);
    const allN = Object.values(all).reduce((a, b) => a + b, 0);
    if (allN !== counted) log(`  note: ${allN} executions were created while measuring, for ${counted} changes counted`);
    const result = {
      dataset: { resources: estate.resources.length, accounts: o.accounts, seed: o.seed, rules: docs.length, securityGroups, candidates: groups.length },
      rule: SG_RULE,
      action: rule.remediation!.action,
      executionControls: LATENCY_CONTROLS,
      workerConcurrency: o.workerConcurrency,
      changes: toCompliant.length,
      warmupChanges: o.warmup,
      timeouts,
      changeToNonCompliant: dist(toNonCompliant),
      changeToCompliant: dist(toCompliant),
      queuedToStarted: dist(queuedToStarted),
      executionRun: dist(run),
      over1s: toCompliant.filter((x) => x > 1000).length,
      executions: all,
      seconds: r2((performance.now() - phaseStart) / 1000),
    };
    log(`[remediation 1/2] ${fmt(result.changes)} changes: COMPLIANT again p50 ${result.changeToCompliant.p50Ms} ms, p99 ${result.changeToCompliant.p99Ms} ms`);
    return result;
  } finally {
    await env.close();
  }
}

// --- 2. bulk remediation -------------------------------------------------------

async function bulk(o: RemediationBenchOptions): Promise<RemediationBenchResult['bulk']> {
  const m = MASS_TYPES[o.massType];
  let t = performance.now();
  // The generator with every resource broken, kept to the one type; the same seed
  // with more resources gives the same accounts and a longer list, so grow until enough.
  let estate: ReturnType<typeof generate> = { accounts: [], resources: [] };
  for (let factor = 7.5; ; factor *= 1.5) {
    const e = generate({ accounts: o.accounts, resources: Math.ceil(o.mass * factor), seed: o.seed, misconfiguredShare: 1 });
    estate = { accounts: e.accounts, resources: e.resources.filter((r) => r.type === m.resourceType).slice(0, o.mass) };
    if (estate.resources.length >= o.mass) break;
    if (factor > 100) throw new Error(`the generator gives too few ${m.resourceType}`);
  }
  const accounts = estate.accounts;
  log(
    `[remediation 2/2] generated ${fmt(estate.resources.length)} ${m.resourceType} with ${m.breakage}, in ${accounts.length} accounts (${secs(performance.now() - t)} s)`,
  );

  const env = await openEngine(o.workerConcurrency);
  const { engine } = env;
  const { db, sandbox, recorder, rules, evaluator, executions } = engine;
  try {
    t = performance.now();
    const controls = { ...BULK_CONTROLS, concurrency: Math.min(1000, o.bulkConcurrency), perMinute: Math.min(100_000, o.bulkPerMinute) };
    await prepare(engine, estate, seedPolicies(m.rule, { delaySeconds: 0, invokeType: 'MANUAL_EXECUTION', executionControls: controls }));
    env.start();
    const rule = await rules.get(m.rule);
    const before = await resultCounts(db, rule.ruleId);
    const nonCompliantBefore = before.NON_COMPLIANT ?? 0;
    log(`[remediation 2/2] estate loaded, recorded and evaluated: ${fmt(nonCompliantBefore)} NON_COMPLIANT under ${m.rule} (${secs(performance.now() - t)} s)`);

    // Progress, the timeline and the budget are driven by the evaluator's
    // compliance-change events, not by timers: on the embedded store a busy
    // worker keeps the event loop in promise continuations, and timers (and
    // I/O) wait until it runs out of work.
    const doneOf = (c: Record<string, number>) => (c.SUCCEEDED ?? 0) + (c.FAILED ?? 0) + (c.CANCELLED ?? 0);
    const activeOf = (c: Record<string, number>) => [...ACTIVE].reduce((n, k) => n + (c[k] ?? 0), 0);
    let remediated = 0;
    let budgetEnd = Infinity;
    let outOfTime = false;
    let nextSample = 10_000;
    const timeline: [number, number][] = [[0, 0]];
    const bar = progress('remediated (COMPLIANT again)', nonCompliantBefore);
    const start = performance.now();
    const startWall = Date.now();
    const outOfBudget = () => {
      if (outOfTime) return;
      outOfTime = true;
      // Stop claiming; what is under way finishes.
      void engine.worker.stop();
    };
    const onChange = (c: ComplianceChange) => {
      if (c.ruleId !== rule.ruleId || c.current !== 'COMPLIANT') return;
      remediated++;
      bar.update(remediated);
      const now = performance.now();
      if (now - start >= nextSample) {
        timeline.push([r2((now - start) / 1000), remediated]);
        while (nextSample <= now - start) nextSample += 10_000;
      }
      if (now >= budgetEnd) outOfBudget();
    };
    evaluator.on('compliance-change', onChange);

    // Queue them all at once: by turning automatic remediation on, as `confix apply` of the rule with
    // invokeType AUTO_EXECUTION does; or as `confix remediate --rule R --all-non-compliant` does (10,000 a call at most).
    let queued = 0;
    let notQueued = 0;
    let queueMs = 0;
    try {
      if (o.bulkStart === 'automatic') {
        await applyPolicy(engine, seedPolicies(m.rule, { delaySeconds: 0, invokeType: 'AUTO_EXECUTION', executionControls: controls }));
        await evaluator.evaluateRules([m.rule]);
        await engine.auto.idle();
        const c = await countsByStatus(db, rule.ruleId);
        queued = activeOf(c) + doneOf(c);
      } else {
        const first = await startRemediation(engine, { rule: m.rule, allNonCompliant: true });
        queued = first.queued.length;
        notQueued = first.failed.length;
        if (nonCompliantBefore > queued + notQueued) {
          // Past startRemediation's page: the rest straight into the queue.
          const rest = await db.query<{ account_id: string; region_id: string; resource_type: string; resource_id: string }>(
            `SELECT e.account_id, e.region_id, e.resource_type, e.resource_id FROM evaluation_results e
           WHERE e.rule_id = $1 AND e.compliance_type = 'NON_COMPLIANT' AND NOT EXISTS (
             SELECT 1 FROM remediation_executions x WHERE x.rule_id = e.rule_id AND x.account_id = e.account_id
               AND x.region_id = e.region_id AND x.resource_type = e.resource_type AND x.resource_id = e.resource_id)`,
            [rule.ruleId],
          );
          for (const r of rest) {
            await executions.enqueue({
              ruleId: rule.ruleId,
              key: { accountId: r.account_id, regionId: r.region_id, resourceType: r.resource_type, resourceId: r.resource_id },
              action: rule.remediation!.action,
              trigger: 'MANUAL',
            });
            queued++;
          }
          engine.worker.wake();
        }
      }
      queueMs = performance.now() - start;
      budgetEnd = o.drainSeconds > 0 ? performance.now() + o.drainSeconds * 1000 : Infinity;
      log(
        `[remediation 2/2] queued ${fmt(queued)} executions in ${secs(queueMs)} s${notQueued ? ` (${notQueued} refused)` : ''} (${fmt(remediated)} already remediated meanwhile); draining with ${o.workerConcurrency} at a time${o.drainSeconds ? `, for ${o.drainSeconds} s at most` : ''}`,
      );
    } catch (err) {
      evaluator.off('compliance-change', onChange);
      throw err;
    }
    const queuedAt = performance.now();
    const remediatedAtQueued = remediated;

    // Done when nothing is active (this runs once the worker lets the event loop breathe).
    let counts: Record<string, number> = {};
    let stalled = false;
    let lastDone = -1;
    let lastProgressAt = performance.now();
    let peakInProgress = 0;
    for (;;) {
      counts = await countsByStatus(db, rule.ruleId);
      peakInProgress = Math.max(peakInProgress, counts.IN_PROGRESS ?? 0);
      if (activeOf(counts) === 0) break;
      const now = performance.now();
      if (now >= budgetEnd) outOfBudget();
      if (outOfTime) break;
      const done = doneOf(counts);
      if (done !== lastDone) [lastDone, lastProgressAt] = [done, now];
      else if (now - lastProgressAt > STALL_MS) {
        stalled = true;
        log(`  no execution finished for ${STALL_MS / 1000} s with ${activeOf(counts)} still active (${JSON.stringify(counts)}); giving up`);
        outOfBudget();
        break;
      }
      await sleep(500);
    }
    await engine.worker.stop();
    evaluator.off('compliance-change', onChange);
    bar.stop();
    counts = await countsByStatus(db, rule.ruleId);
    const complete = activeOf(counts) === 0;
    if (!complete && !stalled)
      log(`  drain budget of ${o.drainSeconds} s used up: ${fmt(doneOf(counts))} of ${fmt(queued)} finished (--drain-seconds 0 drains them all)`);
    // To the last execution's end, by the database clock (the loop above notices late when the worker hogs the event loop).
    const [{ last } = { last: null }] = await db.query<{ last: Date | null }>(
      'SELECT max(finished_at) AS last FROM remediation_executions WHERE rule_id = $1',
      [rule.ruleId],
    );
    const endMs = last ? start + (new Date(last).getTime() - startWall) : performance.now();
    const totalMs = endMs - start;
    timeline.push([r2(totalMs / 1000), remediated]);
    await recorder.drain(sandbox.name);
    await evaluator.idle();

    const failures = Object.fromEntries(
      (
        await db.query<{ code: string; n: number }>(
          `SELECT coalesce(error_code, '(none)') AS code, count(*)::int AS n FROM remediation_executions WHERE rule_id = $1 AND status = 'FAILED' GROUP BY 1 ORDER BY 2 DESC`,
          [rule.ruleId],
        )
      ).map((r) => [r.code, r.n]),
    );
    const runs = await db.query<{ ms: number }>(
      `SELECT extract(epoch FROM finished_at - started_at)::float8 * 1000 AS ms FROM remediation_executions WHERE rule_id = $1 AND finished_at IS NOT NULL AND started_at IS NOT NULL`,
      [rule.ruleId],
    );
    // The most started in any 60 s window (a sliding window over the start times).
    const starts = (
      await db.query<{ t: Date }>('SELECT started_at AS t FROM remediation_executions WHERE rule_id = $1 AND started_at IS NOT NULL ORDER BY started_at', [
        rule.ruleId,
      ])
    ).map((r) => new Date(r.t).getTime());
    let maxStartedInAMinute = 0;
    for (let i = 0, j = 0; j < starts.length; j++) {
      while (starts[j]! - starts[i]! >= 60_000) i++;
      maxStartedInAMinute = Math.max(maxStartedInAMinute, j - i + 1);
    }
    const after = await resultCounts(db, rule.ruleId);
    const finished = doneOf(counts);
    const rate = finished / (totalMs / 1000);
    const result = {
      dataset: {
        resources: estate.resources.length,
        accounts: accounts.length,
        seed: o.seed,
        resourceType: m.resourceType,
        breakage: m.breakage,
        nonCompliantBefore,
      },
      rule: m.rule,
      action: rule.remediation!.action,
      executionControls: controls,
      workerConcurrency: o.workerConcurrency,
      start: o.bulkStart,
      peakInProgress,
      maxStartedInAMinute,
      queued,
      notQueued,
      queueSeconds: r2(queueMs / 1000),
      complete,
      drainBudgetSeconds: o.drainSeconds,
      finished,
      left: activeOf(counts),
      totalSeconds: r2(totalMs / 1000),
      remediationsPerSecond: r2(rate),
      drainPerSecond: r2((remediated - remediatedAtQueued) / ((endMs - queuedAt) / 1000)),
      projectedTotalSeconds: r2(rate > 0 ? queued / rate : 0),
      progress: timeline,
      succeeded: counts.SUCCEEDED ?? 0,
      failed: counts.FAILED ?? 0,
      cancelled: counts.CANCELLED ?? 0,
      failures,
      executionRun: dist(runs.map((r) => r.ms)),
      compliantAfter: after.COMPLIANT ?? 0,
      nonCompliantAfter: after.NON_COMPLIANT ?? 0,
      stalled,
    };
    log(`[remediation 2/2] ${fmt(finished)} remediations in ${secs(totalMs)} s: ${fmt(result.remediationsPerSecond)}/s`);
    return result;
  } finally {
    await env.close();
  }
}

// --- the whole bench -------------------------------------------------------------

export async function runRemediationBench(o: RemediationBenchOptions): Promise<RemediationBenchResult> {
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  try {
    const latency = await changeToCompliant(o);
    const mass = await bulk(o);
    return {
      bench: 'remediation',
      store: 'PGlite (embedded, persisted)',
      changeToCompliant: latency,
      bulk: mass,
      peakRssMiB: Math.round(peakRss / 1024 / 1024),
    };
  } finally {
    clearInterval(sampler);
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
}

export function printRemediationResult(r: RemediationBenchResult): void {
  const a = r.changeToCompliant;
  const b = r.bulk;
  const d = (x: Dist) => `p50 ${x.p50Ms} ms, p99 ${x.p99Ms} ms, max ${x.maxMs} ms`;
  const counts = (c: Record<string, number>) =>
    Object.entries(c)
      .map(([k, n]) => `${fmt(n)} ${k}`)
      .join(', ') || 'none';
  console.log(`\nconfix remediation benchmark — embedded PGlite, wired as the service (auto-remediation, change feed, worker)`);
  console.log(
    `  1. change → COMPLIANT again: ${fmt(a.dataset.resources)} resources (${fmt(a.dataset.securityGroups)} security groups, ${fmt(a.dataset.candidates)} compliant Alibaba ones to break) in ${a.dataset.accounts} accounts, ${a.dataset.rules} seed rules`,
  );
  console.log(
    `     rule ${a.rule} → ${a.action}, AUTO_EXECUTION, delaySeconds 0, controls ${JSON.stringify(a.executionControls)}, worker concurrency ${a.workerConcurrency}`,
  );
  console.log(
    `  changes measured             ${fmt(a.changes)} one at a time (SSH 22 opened to 0.0.0.0/0; ${a.warmupChanges} warm-up changes not counted), ${a.timeouts} timeouts`,
  );
  console.log(`  change → NON_COMPLIANT       ${d(a.changeToNonCompliant)}`);
  console.log(`  change → COMPLIANT again     ${d(a.changeToCompliant)}  (aim: p99 < 1000 ms; ${a.over1s} over 1 s)`);
  console.log(`    queued → claimed           ${d(a.queuedToStarted)}  (database clock, ms resolution)`);
  console.log(`    claimed → finished         ${d(a.executionRun)}`);
  console.log(`  executions                   ${counts(a.executions)}  (${a.seconds} s for the phase)`);
  console.log(
    `  2. bulk remediation: ${fmt(b.dataset.resources)} ${b.dataset.resourceType} in ${b.dataset.accounts} accounts, all with ${b.dataset.breakage}: ${fmt(b.dataset.nonCompliantBefore)} NON_COMPLIANT`,
  );
  console.log(`     rule ${b.rule} → ${b.action}, controls ${JSON.stringify(b.executionControls)}, worker concurrency ${b.workerConcurrency}`);
  console.log(
    `  queued at once               ${fmt(b.queued)} executions in ${b.queueSeconds} s${b.notQueued ? ` (${fmt(b.notQueued)} refused)` : ''}, ${b.start === 'automatic' ? 'by turning the rule to AUTO_EXECUTION' : 'by remediate --all-non-compliant'}`,
  );
  console.log(
    `  within the controls          at most ${fmt(b.peakInProgress)} in progress at once (concurrency ${fmt(b.executionControls.concurrency)}), at most ${fmt(b.maxStartedInAMinute)} started in any minute (perMinute ${fmt(b.executionControls.perMinute)})`,
  );
  if (b.complete)
    console.log(
      `  drained                      ${r2(b.remediationsPerSecond)} remediations/s: all ${fmt(b.finished)} in ${b.totalSeconds} s from the first queued to the last finished (${r2(b.drainPerSecond)}/s after queueing ended)`,
    );
  else
    console.log(
      `  drained (INCOMPLETE)         ${r2(b.remediationsPerSecond)} remediations/s: ${fmt(b.finished)} of ${fmt(b.queued)} in ${b.totalSeconds} s, then the ${b.drainBudgetSeconds} s budget ran out with ${fmt(b.left)} left` +
        `${b.stalled ? ' — STALLED, gave up' : ''}; all would take ~${fmt(b.projectedTotalSeconds)} s at this rate (${r2(b.drainPerSecond)}/s after queueing ended)`,
    );
  const shown = b.progress.filter((_, i) => i % Math.ceil(b.progress.length / 10) === 0 || i === b.progress.length - 1);
  console.log(`  COMPLIANT again over time    ${shown.map(([t, n]) => `${Math.round(t)} s: ${fmt(n)}`).join(', ')}`);
  console.log(
    `  outcomes                     ${fmt(b.succeeded)} SUCCEEDED, ${fmt(b.failed)} FAILED${Object.keys(b.failures).length ? ` (${counts(b.failures)})` : ''}, ${fmt(b.cancelled)} CANCELLED`,
  );
  console.log(`  one execution                ${d(b.executionRun)}`);
  console.log(`  results afterwards           ${fmt(b.compliantAfter)} COMPLIANT, ${fmt(b.nonCompliantAfter)} NON_COMPLIANT`);
  console.log(`  peak memory (RSS)            ${r.peakRssMiB} MiB`);
}

// Run directly: node --import tsx bench/remediation.ts [options]
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { json, ...opts } = parseRemediationArgs(process.argv.slice(2));
  const result = await runRemediationBench(opts);
  if (json) console.log(JSON.stringify(result));
  else printRemediationResult(result);
}
