/**
 * Remediation workers killed in the middle of their actions: `confix worker`
 * processes share one PostgreSQL queue, the sandbox slowed down so that each
 * action takes a while. Worker A is SIGKILLed just after a change landed (before
 * it heard back), worker B just before one landed; worker C takes their
 * executions over once the leases run out and is then stopped gracefully with
 * SIGTERM; an in-process worker finishes the rest. Nothing is lost, nothing is
 * applied twice, every resource ends compliant.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';

/** Workers on a PostgreSQL store need the key that seals stored credentials. */
const WORKER_SECRET_KEY = randomBytes(32).toString('base64');
import { freshDb, postgresUrl } from '../helpers/db.js';
import { createEngine } from '../../src/engine.js';
import { validateRule } from '../../src/rules/model.js';
import { compileRule } from '../../src/evaluation/compiled.js';
import { startRemediation } from '../../src/remediation/start.js';
import type { Step } from '../../src/remediation/executions.js';
import { CLI } from '../helpers/cli.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const N = 60;
/** Each sandbox call takes this long (half before the change lands, half after): the window the kill aims at. */
const LATENCY_MS = 600;
const LEASE_SECONDS = 2;
const ACCOUNT = '100931896542';
const REGION = 'cn-hangzhou';
const TYPE = 'ACS::ECS::SecurityGroup';
const RULE = 'sg-disallow-risky-ports-for-all-ips';
const ids = Array.from({ length: N }, (_, i) => `sg-kill-${String(i).padStart(3, '0')}`);

/** N security groups, each with SSH open to the world (to be revoked) and HTTPS open to the world (to be kept). */
function estate() {
  return {
    accounts: [{ id: ACCOUNT, name: 'management', regions: [REGION] }],
    resources: ids.map((id, i) => ({
      account: ACCOUNT,
      region: REGION,
      type: TYPE,
      id,
      tags: {},
      configuration: {
        SecurityGroupName: id,
        Permissions: {
          Permission: [
            { SecurityGroupRuleId: `sgr-ssh-${i}`, Direction: 'ingress', Policy: 'Accept', IpProtocol: 'TCP', PortRange: '22/22', SourceCidrIp: '0.0.0.0/0' },
            {
              SecurityGroupRuleId: `sgr-https-${i}`,
              Direction: 'ingress',
              Policy: 'Accept',
              IpProtocol: 'TCP',
              PortRange: '443/443',
              SourceCidrIp: '0.0.0.0/0',
            },
          ],
        },
      },
    })),
  };
}

interface Worker {
  name: string;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

interface Row {
  execution_id: string;
  resource_id: string;
  status: string;
  lease_owner: string | null;
  steps: Step[];
  started_at: Date | null;
  /** The sandbox has a change for the execution's group (each group is changed once at most). */
  changed: boolean;
}

test('workers SIGKILLed mid-action: their executions are taken over, none lost, none applied twice, every resource ends compliant', {
  skip: postgresUrl
    ? false
    : 'needs CONFIX_TEST_DATABASE_URL: worker processes share the queue through a PostgreSQL server (scripts/test.mjs starts one where PostgreSQL is installed; in CI it is always set)',
  timeout: 300_000,
}, async (t) => {
  const db = await freshDb('postgres');
  const workers: Worker[] = [];
  // Should this process end before the finally below runs (a timeout, a crash), take the workers with it.
  const killAll = () => {
    for (const w of workers) if (alive(w)) w.child.kill('SIGKILL');
  };
  process.once('exit', killAll);
  try {
    // --- a fresh schema with N non-compliant groups, evaluated, one execution queued per group
    const engine = createEngine(db);
    await engine.sandbox.loadEstate(estate());
    await engine.recorder.snapshot('sandbox');
    // Seed 003 (examples/policies/seed-003-sg-risky-ports.yaml), invoked by hand.
    const rule = await engine.rules.create(
      validateRule({
        name: RULE,
        source: { managed: 'sg-risky-ports-check' },
        parameters: { ports: '22,3389' },
        scope: { resourceTypes: [TYPE] },
        triggers: ['ConfigurationChange'],
        riskLevel: 1,
        remediation: { action: 'ACS-ECS-RevokeSecurityGroupRules', parameters: { ports: '22,3389' }, invokeType: 'MANUAL_EXECUTION' },
      }),
    );
    await engine.evaluator.evaluateRules();
    const started = await startRemediation(engine, { rule: RULE, allNonCompliant: true });
    assert.deepEqual(started.failed, []);
    assert.equal(started.queued.length, N);
    const queued = new Set(started.queued.map((x) => x.executionId));

    // --- the worker processes: `confix worker` on this test's schema, the sandbox slowed down
    const [{ schema }] = (await db.query<{ schema: string }>('SELECT current_schema() AS schema')) as [{ schema: string }];
    const urlFor = (app: string) => {
      const u = new URL(postgresUrl!);
      u.searchParams.set('options', `-c search_path=${schema}`);
      u.searchParams.set('application_name', app);
      return u.toString();
    };
    const spawnWorker = (name: string, args: string[]): Worker => {
      const child = spawn(
        process.execPath,
        [...CLI, 'worker', '--database-url', urlFor(`${schema}-${name}`), '--lease-seconds', String(LEASE_SECONDS), '--poll-ms', '100', ...args],
        {
          cwd: ROOT,
          env: { ...process.env, CONFIX_SANDBOX_LATENCY_MS: String(LATENCY_MS), CONFIX_LOG_LEVEL: 'info', CONFIX_SECRET_KEY: WORKER_SECRET_KEY },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) => child.once('exit', (code, signal) => ok({ code, signal })));
      const w = { name, child, exited, output: () => out };
      workers.push(w);
      return w;
    };

    const rows = () =>
      db.query<Row>(
        `SELECT x.execution_id, x.resource_id, x.status, x.lease_owner, x.steps, x.started_at,
             EXISTS (SELECT 1 FROM sandbox_changes c WHERE c.resource_id = x.resource_id) AS changed
           FROM remediation_executions x ORDER BY x.execution_id`,
      );
    const counts = (rs: Row[]) => {
      const m: Record<string, number> = {};
      for (const r of rs) m[r.status] = (m[r.status] ?? 0) + 1;
      return m;
    };
    const active = (r: Row) => ['QUEUED', 'AWAITING_APPROVAL', 'IN_PROGRESS'].includes(r.status);
    /** In the middle of its action: the last step saved is the preview, the apply step has not come back. */
    const inAction = (r: Row) => r.status === 'IN_PROGRESS' && r.steps.at(-1)?.name === 'preview';
    const heldBy = (w: Worker) => (r: Row) => r.lease_owner?.includes(`:${w.child.pid}:`) === true;
    /** Polls until the condition holds; a worker that should be running and died fails the wait at once. */
    const waitFor = async (what: string, cond: (rs: Row[]) => boolean, running: Worker[], timeoutMs = 120_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const rs = await rows();
        if (cond(rs)) return rs;
        const dead = running.find((w) => !alive(w));
        const why = dead
          ? `worker ${dead.name} exited (${dead.child.exitCode ?? dead.child.signalCode})`
          : Date.now() > deadline
            ? `timed out after ${timeoutMs / 1000} s`
            : undefined;
        if (why)
          throw new Error(
            `${why} waiting for ${what}; executions: ${JSON.stringify(counts(rs))}\n${running.map((w) => `--- worker ${w.name}:\n${w.output().slice(-4000)}`).join('\n')}`,
          );
        await sleep(50);
      }
    };
    /** Waits until none of the worker's connections is left on the server: whatever it had sent has run to its end. */
    const gone = async (w: Worker) => {
      const deadline = Date.now() + 60_000;
      while (
        (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [`${schema}-${w.name}`]))[0]!.n > 0
      ) {
        if (Date.now() > deadline) throw new Error(`worker ${w.name}'s connections are still open a minute after it exited`);
        await sleep(50);
      }
    };

    /**
     * SIGKILLs the worker once it has finished executions of its own and is in
     * the middle of an action whose change has (landed) or has not yet been
     * made; answers with the executions it left IN_PROGRESS, as they were.
     */
    const orphanedBy = new Map<string, { at: number; row: Row }>();
    const killMidAction = async (w: Worker, landed: boolean) => {
      const what = landed ? 'after the change landed, before the worker heard back' : 'before the change landed';
      const mine = heldBy(w);
      await waitFor(
        `worker ${w.name} to have finished executions and to be in the middle of an action, ${what}`,
        (rs) => rs.filter((r) => r.status === 'SUCCEEDED').length >= 3 && rs.some((r) => mine(r) && inAction(r) && r.changed === landed),
        [w],
      );
      w.child.kill('SIGKILL');
      const at = Date.now();
      assert.equal((await w.exited).signal, 'SIGKILL');
      await gone(w);
      const rs = await rows();
      // Executions of a worker killed earlier may still wait for their lease to run out: those stay its orphans.
      const orphans = rs.filter((r) => r.status === 'IN_PROGRESS' && mine(r));
      t.diagnostic(
        `${w.name} killed ${((at - began) / 1000).toFixed(1)} s in: ${JSON.stringify(counts(rs))}; ${w.name} left ${orphans.length} IN_PROGRESS, in their action ` +
          `${orphans.filter((r) => inAction(r) && r.changed).length} with the change made, ${orphans.filter((r) => inAction(r) && !r.changed).length} without`,
      );
      assert.ok(
        orphans.some((r) => inAction(r) && r.changed === landed),
        `the kill hit an execution in the middle of its action, ${what}`,
      );
      for (const o of orphans) orphanedBy.set(o.execution_id, { at, row: o });
      return orphans;
    };
    const began = Date.now();

    // --- A, then B, are killed in the middle of actions: once after the change landed, once before
    const a = spawnWorker('A', ['--concurrency', '4']);
    await killMidAction(a, true);
    const b = spawnWorker('B', ['--concurrency', '4']);
    await killMidAction(b, false);

    // --- C takes the orphans over once their lease runs out, then is stopped gracefully with work in hand
    const c = spawnWorker('C', ['--concurrency', '2']);
    await waitFor('worker C to take over and finish every orphaned execution', (rs) => rs.every((r) => !orphanedBy.has(r.execution_id) || !active(r)), [c]);
    const atTerm = await waitFor('worker C to have an execution under way (or nothing left)', (rs) => rs.some(heldBy(c)) || !rs.some(active), [c]);
    c.child.kill('SIGTERM');
    const termAt = Date.now();
    const cExit = await Promise.race([c.exited, sleep(60_000, undefined, { ref: false })]);
    assert.ok(cExit, `worker C did not stop within a minute of SIGTERM:\n${c.output().slice(-4000)}`);
    assert.deepEqual(cExit, { code: 0, signal: null }, c.output().slice(-4000));
    await gone(c);
    const afterTerm = await rows();
    t.diagnostic(
      `C stopped ${Date.now() - termAt} ms after SIGTERM with ${atTerm.filter(heldBy(c)).length} under way; then ${JSON.stringify(counts(afterTerm))}`,
    );
    assert.equal(afterTerm.filter((r) => r.status === 'IN_PROGRESS').length, 0, 'a gracefully stopped worker finishes what it runs and claims nothing more');
    assert.match(c.output(), /stopping: finishing the executions under way/);

    // --- what is left: an in-process worker, until no execution is active
    const d = createEngine(db, { worker: { owner: 'kill-test-D', leaseMs: LEASE_SECONDS * 1000, pollMs: 100 } }).worker;
    for (let deadline = Date.now() + 120_000; ; ) {
      await d.drain();
      const rs = await rows();
      if (!rs.some(active)) break;
      if (Date.now() > deadline) throw new Error(`executions still active after two minutes: ${JSON.stringify(counts(rs))}`);
      await sleep(100);
    }
    const final = await rows();
    t.diagnostic(`all done ${((Date.now() - began) / 1000).toFixed(1)} s after worker A started: ${JSON.stringify(counts(final))}`);

    // --- none lost: exactly the queued executions, every one ended, and ended well
    assert.deepEqual(new Set(final.map((r) => r.execution_id)), queued, 'the executions are exactly those queued');
    assert.deepEqual(final.filter(active), [], 'every execution is in a terminal status');
    const notOk = final.filter((r) => r.status !== 'SUCCEEDED');
    assert.deepEqual(
      notOk.map((r) => [r.resource_id, r.status, r.steps]),
      [],
      'every execution SUCCEEDED',
    );

    // --- taken over: first claimed before a kill, its steps start again after it; a change already made is not made again
    const byId = new Map(final.map((r) => [r.execution_id, r]));
    for (const [id, { at, row: o }] of orphanedBy) {
      const x = byId.get(id)!;
      assert.ok(x.started_at && x.started_at.getTime() < at, `${id} was first claimed before the kill`);
      assert.ok(Date.parse(x.steps[0]!.startedAt) > at, `${id}'s steps start again after the kill: ${JSON.stringify(x.steps)}`);
      if (!inAction(o)) continue;
      const names = x.steps.map((s) => s.name);
      if (o.changed) {
        assert.deepEqual(names, ['reread', 'reevaluate'], `${o.resource_id}: the change landed before the kill, so the new run changes nothing`);
        assert.match(x.steps[1]!.message, /already COMPLIANT/);
      } else {
        assert.ok(
          names.includes('apply') && x.steps.every((s) => s.status === 'SUCCEEDED'),
          `${o.resource_id}: the change had not landed, so the new run makes it: ${JSON.stringify(x.steps)}`,
        );
      }
    }

    // --- never applied twice: one effective revoke per group, and no other change at all
    const changes = await db.query<{ resource_id: string; action: string; change_type: string }>(
      'SELECT resource_id, action, change_type FROM sandbox_changes ORDER BY seq',
    );
    assert.deepEqual(
      changes.filter((ch) => ch.action !== 'ecs:RevokeSecurityGroup' || ch.change_type !== 'update'),
      [],
      'the only changes made are revocations',
    );
    const perGroup = new Map<string, number>();
    for (const ch of changes) perGroup.set(ch.resource_id, (perGroup.get(ch.resource_id) ?? 0) + 1);
    assert.deepEqual(
      [...perGroup.entries()].filter(([, n]) => n !== 1),
      [],
      'one revoke per group, never two',
    );
    assert.equal(perGroup.size, N, 'every group was changed once');

    // --- every group compliant: in the cloud, with HTTPS kept, and in confix's results once the change feed is followed (as the service does)
    const compiled = compileRule(rule);
    for (const id of ids) {
      const s = (await engine.sandbox.describe({ accountId: ACCOUNT, regionId: REGION, resourceType: TYPE, resourceId: id }))!;
      const v = compiled.evaluate({
        accountId: ACCOUNT,
        regionId: REGION,
        resourceType: TYPE,
        resourceId: id,
        resourceName: s.resourceName ?? null,
        tags: s.tags,
        configuration: s.configuration,
      });
      assert.equal(v.complianceType, 'COMPLIANT', `${id}: ${v.annotation}`);
      const ports = (s.configuration as { Permissions: { Permission: { PortRange: string }[] } }).Permissions.Permission.map((p) => p.PortRange);
      assert.deepEqual(ports, ['443/443'], `${id}: only SSH was revoked`);
    }
    const stale = await engine.compliance.results({ ruleId: rule.ruleId, complianceType: 'NON_COMPLIANT', limit: 1000 });
    t.diagnostic(`results still NON_COMPLIANT before following the change feed: ${stale.total}`);
    engine.evaluator.attach(engine.recorder, { schedulerMs: 0 });
    await engine.recorder.drain('sandbox');
    await engine.evaluator.idle();
    engine.evaluator.detach(engine.recorder);
    const results = await engine.compliance.results({ ruleId: rule.ruleId, limit: 1000 });
    assert.equal(results.total, N);
    assert.deepEqual(
      results.items.filter((r) => r.complianceType !== 'COMPLIANT').map((r) => [r.resourceId, r.complianceType]),
      [],
    );
  } finally {
    killAll();
    await Promise.all(workers.map((w) => w.exited));
    process.off('exit', killAll);
    await db.close();
  }

  function alive(w: Worker) {
    return w.child.exitCode === null && w.child.signalCode === null;
  }
});
