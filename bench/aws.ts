/**
 * The AWS benchmark: confix's AWS provider (AWS SDK v3) against moto, the AWS
 * emulator, at a few estate sizes. For each size N, on a moto_server of its
 * own (started here on a free 127.0.0.1 port, stopped at the end, on an error
 * and on SIGINT/SIGTERM too):
 *
 * 0. seeding (not counted in the phases): N security groups, every other one
 *    with SSH (22) open to 0.0.0.0/0; N/2 instances launched in batches
 *    (RunInstances MinCount = MaxCount), a quarter of them from an AMI that is
 *    not approved; N/10 buckets, every third one public-read. With the SDK's
 *    own clients, --seed-concurrency requests at a time.
 * 1. discovery: engine.recorder.snapshot('aws') on a fresh embedded store.
 * 2. evaluation: three managed rules (sg-risky-ports-check ports 22,3389,
 *    approved-amis-by-id, oss-bucket-public-read-prohibited on AWS types),
 *    then engine.evaluator.evaluateRules().
 * 3. remediation: the security-group rule's AWS-DisablePublicAccessForSecurityGroup,
 *    started for every NON_COMPLIANT group (remediate --all-non-compliant) and
 *    run by the engine's worker until every execution has finished.
 *
 * Per phase: wall time, throughput, peak RSS and heap of this process
 * (sampled), this process's CPU time, moto_server's CPU time (utime+stime of
 * its process group from /proc/<pid>/stat) as a share of the wall time, and
 * the requests the SDK made to moto: how many, the sum of their times and the
 * share of the wall time at least one was in flight (measured innermost in
 * each client's middleware stack: one HTTP attempt, to the response headers,
 * not the wait for the provider's per-account slot). The provider's clients
 * are instrumented by wrapping Clients.prototype.get for the bench's run.
 *
 *   npm run bench -- --only aws                        # N = 1000 and 5000
 *   npm run bench -- --only aws --n 200 --json
 *   node --import tsx bench/aws.ts --sizes 1000,5000 --worker-concurrency 16 --concurrency-per-account 4 --page-size 1000
 *
 * Not in `npm run bench`'s default set (pipeline and remediation): it needs
 * moto_server on PATH and takes minutes — on 2 CPUs about 2 min at N = 1000
 * and 13-17 min at N = 5000, a quarter of it seeding.
 *
 * moto is single-process Python: its CPU share near 100% of one core means
 * moto, not confix, sets the pace (the machine's other load shows there too).
 * At N = 5000 moto answers the one-page DescribeInstances and
 * DescribeSecurityGroups in over 60 s, so the SDK warns that a request
 * exceeded its requestTimeout (a warning only; --page-size pages them).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { fileURLToPath } from 'node:url';
import Table from 'cli-table3';
import { openStore, type Db } from '../src/store/index.js';
import { createEngine } from '../src/engine.js';
import type { AwsProvider } from '../src/providers/aws/index.js';
import type { Clients } from '../src/providers/aws/clients.js';
import { validateRule } from '../src/rules/model.js';
import { startRemediation } from '../src/remediation/start.js';
import { progressBar } from '../src/cli/progress.js';
import { createLogger } from '../src/util/log.js';
import { Semaphore } from '../src/util/semaphore.js';
// The tests' moto: one moto_server on a free 127.0.0.1 port, its process group killed however this process ends.
import { MOTO_CREDENTIALS, startMoto, type Moto } from '../test/helpers/moto.js';

/**
 * The AWS SDK and the AWS provider, loaded when the bench runs: run.ts imports
 * this file for its options, and the other benches should not pay for the SDK
 * (src/providers loads it on demand too).
 */
let sdk: {
  ec2: typeof import('@aws-sdk/client-ec2');
  s3: typeof import('@aws-sdk/client-s3');
  provider: typeof import('../src/providers/aws/index.js');
  clients: typeof import('../src/providers/aws/clients.js');
};
async function loadSdk(): Promise<void> {
  // The SDK warns once per process that its 2027 releases need Node 22.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const [ec2, s3, provider, clients] = await Promise.all([
    import('@aws-sdk/client-ec2'),
    import('@aws-sdk/client-s3'),
    import('../src/providers/aws/index.js'),
    import('../src/providers/aws/clients.js'),
  ]);
  sdk = { ec2, s3, provider, clients };
}

/** Options of this bench (run.ts routes arguments by them). */
export const awsOptions = {
  n: { type: 'string' },
  sizes: { type: 'string' },
  'worker-concurrency': { type: 'string', default: '16' },
  'concurrency-per-account': { type: 'string', default: '4' },
  'page-size': { type: 'string' },
  'seed-concurrency': { type: 'string', default: '16' },
  'stall-seconds': { type: 'string', default: '120' },
  json: { type: 'boolean', default: false },
} as const satisfies ParseArgsConfig['options'];

export const DEFAULT_SIZES = [1000, 5000];

export interface AwsBenchOptions {
  sizes: number[];
  /** The remediation worker's executions at once. */
  workerConcurrency: number;
  /** The provider's requests in flight per account (its default is 4). */
  concurrencyPerAccount: number;
  /** The provider's page size of EC2 list calls (5–1000); undefined: the API's (moto then answers with every item at once). */
  pageSize?: number;
  /** Seeding requests in flight. */
  seedConcurrency: number;
  /** A remediation drain with no execution finishing for this long is abandoned (and said so). */
  stallSeconds: number;
}

export function parseAwsArgs(args: string[]): AwsBenchOptions & { json: boolean } {
  const { values: v } = parseArgs({ args, options: awsOptions, strict: true, allowPositionals: false });
  const int = (name: string, s: string, min: number) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be a whole number of at least ${min} (got "${s}")`);
    return n;
  };
  if (v.n !== undefined && v.sizes !== undefined) throw new Error('give --n or --sizes, not both');
  const sizes =
    v.n !== undefined
      ? [int('n', v.n, 10)]
      : v.sizes !== undefined
        ? v.sizes
            .split(',')
            .filter((s) => s.trim())
            .map((s) => int('sizes', s, 10))
        : DEFAULT_SIZES;
  if (!sizes.length) throw new Error('--sizes needs at least one size, e.g. --sizes 1000,5000');
  return {
    sizes,
    workerConcurrency: int('worker-concurrency', v['worker-concurrency'], 1),
    concurrencyPerAccount: int('concurrency-per-account', v['concurrency-per-account'], 1),
    ...(v['page-size'] !== undefined ? { pageSize: int('page-size', v['page-size'], 5) } : {}),
    seedConcurrency: int('seed-concurrency', v['seed-concurrency'], 1),
    stallSeconds: int('stall-seconds', v['stall-seconds'], 1),
    json: v.json,
  };
}

// --- results -------------------------------------------------------------------------

/** What every phase reports about where its time went. */
export interface PhaseCost {
  seconds: number;
  /** This process's CPU time (user + system) over the wall time (1 = one core busy). */
  benchCpuShare: number;
  /** moto_server's CPU time (its process group's utime + stime) over the wall time. */
  motoCpuShare: number;
  motoCpuSeconds: number;
  /** SDK requests (HTTP attempts) to moto in the phase. */
  sdkRequests: number;
  /** The sum of their times (concurrent ones add up). */
  sdkRequestSeconds: number;
  /** The share of the wall time with at least one request in flight. */
  sdkInFlightShare: number;
  /** Mean time of one request, ms. */
  sdkMeanMs: number;
  /** The most requests in flight at once. */
  sdkPeakInFlight: number;
  /** Peak RSS and V8 heap of this process while the phase ran (sampled every 50 ms, and at its ends). */
  peakRssMiB: number;
  peakHeapMiB: number;
}

export interface AwsSizeResult {
  n: number;
  seeding: PhaseCost & {
    securityGroups: number;
    worldOpenGroups: number;
    instances: number;
    unapprovedInstances: number;
    runInstancesBatch: number;
    buckets: number;
    publicBuckets: number;
    concurrency: number;
    itemsPerSecond: number;
    /** Wall seconds of each kind's seeding (the first EC2 call also pays moto's EC2 backend start-up). */
    secondsByKind: Record<'securityGroups' | 'instances' | 'buckets', number>;
  };
  discovery: PhaseCost & {
    scopes: number;
    resources: number;
    byType: Record<string, number>;
    resourcesPerSecond: number;
    refused: number;
  };
  evaluation: PhaseCost & {
    rules: { name: string; managed: string; resourceType: string; compliant: number; nonCompliant: number }[];
    ruleCreateMs: number;
    resources: number;
    evaluations: number;
    evaluationsPerSecond: number;
    nonCompliant: number;
  };
  remediation: PhaseCost & {
    rule: string;
    action: string;
    workerConcurrency: number;
    nonCompliantBefore: number;
    queued: number;
    notQueued: number;
    queueSeconds: number;
    complete: boolean;
    stalled: boolean;
    finished: number;
    succeeded: number;
    failed: number;
    cancelled: number;
    failures: Record<string, number>;
    /** From queueing the first to the last one finished (database clock); the phase's seconds add the wait to notice it. */
    drainSeconds: number;
    /** Finished executions over drainSeconds. */
    executionsPerSecond: number;
    /** One execution, claimed → finished (database clock). */
    executionP50Ms: number;
    executionP99Ms: number;
    nonCompliantAfter: number;
    /** Groups moto still shows with 22 open to 0.0.0.0/0 (0 when every execution worked). */
    worldOpenOnMotoAfter: number;
  };
  /** This process's peak RSS over the size (the kernel's maxrss, MiB; cumulative over the process). */
  processMaxRssMiB: number;
  /** moto_server's peak RSS (VmHWM), MiB. */
  motoPeakRssMiB: number;
}

export interface AwsBenchResult {
  bench: 'aws';
  store: string;
  emulator: string;
  node: string;
  cpus: number;
  options: AwsBenchOptions;
  sizes: AwsSizeResult[];
}

// --- small helpers ------------------------------------------------------------------------

const log = (s: string) => process.stderr.write(s + '\n');
const fmt = (n: number) => Math.round(n).toLocaleString('en');
const r2 = (x: number) => +x.toFixed(2);
const r3 = (x: number) => +x.toFixed(3);
const secs = (ms: number) => (ms / 1000).toFixed(1);
const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));
const MiB = (bytes: number) => Math.round(bytes / 1024 / 1024);

/** Progress on stderr: a bar on a terminal, a line every tenth otherwise. */
function progress(label: string, total: number) {
  const bar = progressBar(label, total);
  const tty = process.stderr.isTTY && total >= 1000;
  let nextLine = total / 10;
  let last = 0;
  return {
    update(n: number) {
      last = n;
      bar.update(n);
      if (!tty && n >= nextLine && n < total) {
        log(`  ${label}: ${fmt(n)}/${fmt(total)}`);
        while (nextLine <= n) nextLine += total / 10;
      }
    },
    stop() {
      bar.stop();
      if (!tty) log(`  ${label}: ${fmt(last)}/${fmt(total)}`);
    },
  };
}

/** `limit` tasks at a time over 0..count-1. */
async function pool(count: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  const slots = new Semaphore(limit);
  await Promise.all(Array.from({ length: count }, (_, i) => slots.run(() => fn(i))));
}

function percentile(xs: number[], p: number): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return r2(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!);
}

// --- moto ------------------------------------------------------------------------------

const REGION = 'us-east-1';

function motoVersion(): string {
  try {
    const r = spawnSyncText('python3', ['-c', 'import moto; print(moto.__version__)']);
    return r ? `moto ${r}` : 'moto';
  } catch {
    return 'moto';
  }
}

function spawnSyncText(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
  return r.status === 0 ? r.stdout.trim() : '';
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    const t = Number(spawnSyncText('getconf', ['CLK_TCK']));
    clockTicks = Number.isFinite(t) && t > 0 ? t : 100;
  }
  return clockTicks;
}

/** CPU seconds of a process group so far (its live members' utime + stime, and their reaped children's). */
function groupCpuSeconds(pgid: number): number {
  let ticks = 0;
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return NaN;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${e}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after "(comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime …
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(f[2]) !== pgid) continue;
    ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  }
  return ticks / ticksPerSecond();
}

/** moto's peak RSS (the group leader's VmHWM), MiB. */
function motoPeakRss(pid: number): number {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

// --- the SDK's requests ---------------------------------------------------------------------------

/** Counts and times every HTTP attempt of the clients it is added to. */
class RequestMeter {
  requests = 0;
  requestMs = 0;
  busyMs = 0;
  inFlight = 0;
  peak = 0;
  private busySince = 0;

  readonly middleware = (next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
    const t = performance.now();
    if (this.inFlight++ === 0) this.busySince = t;
    this.peak = Math.max(this.peak, this.inFlight);
    try {
      return await next(args);
    } finally {
      const now = performance.now();
      this.requests++;
      this.requestMs += now - t;
      if (--this.inFlight === 0) this.busyMs += now - this.busySince;
    }
  };

  /** Busy time so far, counting a request in flight now up to now. */
  busyNow(): number {
    return this.busyMs + (this.inFlight > 0 ? performance.now() - this.busySince : 0);
  }

  /** Adds the meter innermost to a client's stack: after the provider's per-account slot, around the HTTP handler. */
  instrument(client: { middlewareStack: unknown }): void {
    (client.middlewareStack as { add(mw: unknown, opts: Record<string, unknown>): void }).add(this.middleware, {
      step: 'deserialize',
      priority: 'low',
      name: 'confixBenchRequestMeter',
    });
  }
}

const meter = new RequestMeter();

/** Meters every client the AWS provider makes (Clients.get), until the returned function undoes it. */
function meterProviderClients(): () => void {
  const { Clients } = sdk.clients;
  const original = Clients.prototype.get;
  const metered = new WeakSet<object>();
  Clients.prototype.get = function (this: Clients, ...args: Parameters<Clients['get']>) {
    const client = original.apply(this, args) as unknown as { middlewareStack: unknown };
    if (!metered.has(client)) {
      metered.add(client);
      meter.instrument(client);
    }
    return client as never;
  } as Clients['get'];
  return () => void (Clients.prototype.get = original);
}

// --- phase accounting ------------------------------------------------------------------------

/** Peak memory since the last reset, sampled every 50 ms. */
const memory = {
  rss: 0,
  heap: 0,
  sample() {
    const m = process.memoryUsage();
    this.rss = Math.max(this.rss, m.rss);
    this.heap = Math.max(this.heap, m.heapUsed);
  },
  reset() {
    this.rss = 0;
    this.heap = 0;
    this.sample();
  },
};

/** Starts a phase's accounting; the returned function ends it and says what it cost. */
function phase(moto: Moto): () => PhaseCost {
  memory.reset();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const moto0 = groupCpuSeconds(moto.pid);
  const m0 = { requests: meter.requests, requestMs: meter.requestMs, busyMs: meter.busyNow() };
  meter.peak = meter.inFlight;
  return () => {
    memory.sample();
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const motoCpu = groupCpuSeconds(moto.pid) - moto0;
    const requests = meter.requests - m0.requests;
    const requestMs = meter.requestMs - m0.requestMs;
    return {
      seconds: r2(wall),
      benchCpuShare: r3((cpu.user + cpu.system) / 1e6 / wall),
      motoCpuShare: r3(motoCpu / wall),
      motoCpuSeconds: r2(motoCpu),
      sdkRequests: requests,
      sdkRequestSeconds: r2(requestMs / 1000),
      sdkInFlightShare: r3((meter.busyNow() - m0.busyMs) / 1000 / wall),
      sdkMeanMs: r2(requests ? requestMs / requests : 0),
      sdkPeakInFlight: meter.peak,
      peakRssMiB: MiB(memory.rss),
      peakHeapMiB: MiB(memory.heap),
    };
  };
}

/** A line on stderr every few seconds while a long phase runs (timers may fire late while the store is busy). */
function heartbeat(every: number, line: () => string): () => void {
  const t = setInterval(() => log(line()), every);
  return () => clearInterval(t);
}

// --- seeding -----------------------------------------------------------------------------------

const WORLD_SSH = [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'bench: SSH from anywhere' }] }];
const RUN_BATCH = 100;

async function seed(moto: Moto, n: number, concurrency: number, label: string) {
  const base = { endpoint: moto.endpoint, region: REGION, credentials: MOTO_CREDENTIALS, maxAttempts: 5 };
  const { EC2Client, AuthorizeSecurityGroupIngressCommand, CreateSecurityGroupCommand, DescribeImagesCommand, RunInstancesCommand } = sdk.ec2;
  const { S3Client, CreateBucketCommand, PutBucketAclCommand } = sdk.s3;
  const ec2 = new EC2Client(base);
  const s3 = new S3Client({ ...base, forcePathStyle: true });
  meter.instrument(ec2);
  meter.instrument(s3);
  try {
    const images = (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] })))
      .Images!.map((i) => i.ImageId!)
      .filter(Boolean)
      .sort();
    if (images.length < 2) throw new Error(`moto lists ${images.length} amazon images; the bench needs two`);
    const [approved, unapproved] = [images[0]!, images[1]!];

    const groups = n;
    const instances = Math.floor(n / 2);
    const buckets = Math.max(1, Math.floor(n / 10));
    const total = groups + instances + buckets;
    let done = 0;
    const bar = progress(`${label} seeding moto`, total);

    const took: Record<'securityGroups' | 'instances' | 'buckets', number> = { securityGroups: 0, instances: 0, buckets: 0 };
    let t = performance.now();
    // Security groups: every other one opens SSH to the world.
    let worldOpen = 0;
    await pool(groups, concurrency, async (i) => {
      const name = `bench-sg-${String(i).padStart(6, '0')}`;
      const out = await ec2.send(
        new CreateSecurityGroupCommand({
          GroupName: name,
          Description: `bench group ${i}`,
          TagSpecifications: [
            {
              ResourceType: 'security-group',
              Tags: [
                { Key: 'bench', Value: 'aws' },
                { Key: 'Name', Value: name },
              ],
            },
          ],
        }),
      );
      if (i % 2 === 0) {
        await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: out.GroupId!, IpPermissions: WORLD_SSH }));
        worldOpen++;
      }
      bar.update(++done);
    });

    took.securityGroups = r2((performance.now() - t) / 1000);
    t = performance.now();
    // Instances, RUN_BATCH a call at most; a quarter of them from the unapproved AMI.
    const unapprovedCount = instances >= 4 ? Math.floor(instances / 4) : 0;
    const runs: { ami: string; count: number }[] = [];
    for (const [ami, count] of [
      [approved, instances - unapprovedCount],
      [unapproved, unapprovedCount],
    ] as const)
      for (let left = count; left > 0; left -= RUN_BATCH) runs.push({ ami, count: Math.min(RUN_BATCH, left) });
    await pool(runs.length, Math.min(concurrency, 4), async (b) => {
      const { ami, count } = runs[b]!;
      const out = await ec2.send(
        new RunInstancesCommand({
          ImageId: ami,
          MinCount: count,
          MaxCount: count,
          InstanceType: 't3.micro',
          TagSpecifications: [
            {
              ResourceType: 'instance',
              Tags: [
                { Key: 'bench', Value: 'aws' },
                { Key: 'Name', Value: `bench-run-${b}` },
              ],
            },
          ],
        }),
      );
      if ((out.Instances?.length ?? 0) !== count) throw new Error(`RunInstances launched ${out.Instances?.length ?? 0} instances, not ${count}`);
      done += count;
      bar.update(done);
    });

    took.instances = r2((performance.now() - t) / 1000);
    t = performance.now();
    // Buckets: every third one public-read.
    let publicBuckets = 0;
    await pool(buckets, concurrency, async (i) => {
      const Bucket = `confix-bench-${n}-${String(i).padStart(6, '0')}`;
      await s3.send(new CreateBucketCommand({ Bucket }));
      if (i % 3 === 0) {
        await s3.send(new PutBucketAclCommand({ Bucket, ACL: 'public-read' }));
        publicBuckets++;
      }
      bar.update(++done);
    });
    took.buckets = r2((performance.now() - t) / 1000);
    bar.stop();
    return {
      secondsByKind: took,
      securityGroups: groups,
      worldOpenGroups: worldOpen,
      instances,
      unapprovedInstances: unapprovedCount,
      runInstancesBatch: RUN_BATCH,
      buckets,
      publicBuckets,
      concurrency,
      approvedAmi: approved,
    };
  } finally {
    ec2.destroy();
    s3.destroy();
  }
}

// --- one size ----------------------------------------------------------------------------

const RULES = {
  sg: { name: 'aws-sg-risky-ports', managed: 'sg-risky-ports-check', resourceType: 'AWS::EC2::SecurityGroup' },
  ami: { name: 'aws-approved-amis', managed: 'approved-amis-by-id', resourceType: 'AWS::EC2::Instance' },
  bucket: { name: 'aws-s3-public-read', managed: 'oss-bucket-public-read-prohibited', resourceType: 'AWS::S3::Bucket' },
} as const;
const SG_ACTION = 'AWS-DisablePublicAccessForSecurityGroup';
const ACTIVE = ['QUEUED', 'AWAITING_APPROVAL', 'IN_PROGRESS'];

/** Temporary data directories, removed even when the bench is interrupted. */
const tempDirs = new Set<string>();

async function resultCounts(db: Db, ruleId: string): Promise<Record<string, number>> {
  const rows = await db.query<{ c: string; n: number }>(
    `SELECT compliance_type AS c, count(*)::int AS n FROM evaluation_results WHERE rule_id = $1 GROUP BY 1`,
    [ruleId],
  );
  return Object.fromEntries(rows.map((r) => [r.c, r.n]));
}

async function statusCounts(db: Db, ruleId: string): Promise<Record<string, number>> {
  const rows = await db.query<{ s: string; n: number }>(`SELECT status AS s, count(*)::int AS n FROM remediation_executions WHERE rule_id = $1 GROUP BY 1`, [
    ruleId,
  ]);
  return Object.fromEntries(rows.map((r) => [r.s, r.n]));
}

async function runSize(n: number, o: AwsBenchOptions, index: number): Promise<AwsSizeResult> {
  const label = `[aws N=${fmt(n)} ${index + 1}/${o.sizes.length}]`;
  log(`${label} starting moto_server`);
  const moto = await startMoto();
  let dir: string | undefined;
  let db: Db | undefined;
  let aws: AwsProvider | undefined;
  let engine: ReturnType<typeof createEngine> | undefined;
  try {
    log(
      `${label} moto at ${moto.endpoint} (pid ${moto.pid}); seeding ${fmt(n)} security groups, ${fmt(n / 2)} instances, ${fmt(Math.max(1, Math.floor(n / 10)))} buckets, ${o.seedConcurrency} requests at a time`,
    );

    // 0. seeding
    let end = phase(moto);
    const seeded = await seed(moto, n, o.seedConcurrency, label);
    let cost = end();
    const { approvedAmi, ...seedFacts } = seeded;
    const seedItems = seedFacts.securityGroups + seedFacts.instances + seedFacts.buckets;
    const seeding = { ...cost, ...seedFacts, itemsPerSecond: r2(seedItems / cost.seconds) };
    log(
      `${label} seeded ${fmt(seedItems)} resources with ${fmt(cost.sdkRequests)} requests in ${cost.seconds} s (${fmt(seeding.itemsPerSecond)}/s: ` +
        `groups ${seeding.secondsByKind.securityGroups} s, instances ${seeding.secondsByKind.instances} s, buckets ${seeding.secondsByKind.buckets} s; moto CPU ${Math.round(cost.motoCpuShare * 100)}% of the wall time)`,
    );

    // The engine on a fresh embedded store, governing the sandbox (empty) and moto.
    dir = mkdtempSync(join(tmpdir(), 'confix-bench-aws-'));
    tempDirs.add(dir);
    db = await openStore({ dataDir: dir });
    aws = new sdk.provider.AwsProvider({
      endpoint: moto.endpoint,
      credentials: MOTO_CREDENTIALS,
      region: REGION,
      regions: [REGION],
      organization: false,
      concurrencyPerAccount: o.concurrencyPerAccount,
      ...(o.pageSize ? { pageSize: o.pageSize } : {}),
    });
    const provider = aws;
    engine = createEngine(db, {
      log: createLogger({ level: 'warn' }),
      worker: { concurrency: o.workerConcurrency },
      providers: (sandbox) => [sandbox, provider],
    });
    const { recorder, rules, evaluator, worker } = engine;

    // 1. discovery
    log(`${label} discovery: recorder.snapshot('${aws.name}')`);
    let scopesDone = 0;
    let scopes = 0;
    let found = 0;
    const t1 = performance.now();
    const reqAt = meter.requests;
    const stopBeat = heartbeat(
      process.stderr.isTTY ? 2000 : 10_000,
      () =>
        `  discovery: ${secs(performance.now() - t1)} s, ${fmt(meter.requests - reqAt)} requests to moto, ${scopesDone}/${scopes || '?'} scopes, ${fmt(found)} resources so far`,
    );
    end = phase(moto);
    let snap;
    try {
      snap = await recorder.snapshot(aws.name, {
        onProgress: (p) => {
          [scopesDone, scopes, found] = [p.scopesDone, p.scopes, p.resources];
          if (p.scope)
            log(
              `  discovery: ${p.scope.resourceType}: ${p.refused ? `refused (${p.refused.code})` : `${fmt(p.found ?? 0)} resources`} at ${secs(performance.now() - t1)} s`,
            );
        },
      });
    } finally {
      stopBeat();
    }
    cost = end();
    const byType = Object.fromEntries(
      (
        await db.query<{ t: string; n: number }>(
          `SELECT resource_type AS t, count(*)::int AS n FROM resources WHERE provider = $1 AND status <> 'ResourceDeleted' GROUP BY 1 ORDER BY 1`,
          [aws.name],
        )
      ).map((r) => [r.t, r.n]),
    );
    const discovery = {
      ...cost,
      scopes: snap.scopes,
      resources: snap.resources,
      byType,
      resourcesPerSecond: r2(snap.resources / cost.seconds),
      refused: snap.refused?.length ?? 0,
    };
    log(
      `${label} discovered ${fmt(snap.resources)} resources in ${cost.seconds} s: ${fmt(discovery.resourcesPerSecond)}/s (${fmt(cost.sdkRequests)} requests; moto CPU ${Math.round(cost.motoCpuShare * 100)}%)`,
    );

    // 2. evaluation
    end = phase(moto);
    const tr = performance.now();
    const created = {
      sg: await rules.create(
        validateRule({
          name: RULES.sg.name,
          source: { managed: RULES.sg.managed },
          parameters: { ports: '22,3389' },
          scope: { resourceTypes: [RULES.sg.resourceType] },
          remediation: {
            action: SG_ACTION,
            invokeType: 'MANUAL_EXECUTION',
            // Out of the way of the measurement (the schema's maximum concurrency is 1,000).
            executionControls: { concurrency: 1000, perMinute: 100_000, errorPercentage: 100 },
          },
        }),
      ),
      ami: await rules.create(
        validateRule({
          name: RULES.ami.name,
          source: { managed: RULES.ami.managed },
          parameters: { amiIds: approvedAmi },
          scope: { resourceTypes: [RULES.ami.resourceType] },
        }),
      ),
      bucket: await rules.create(
        validateRule({ name: RULES.bucket.name, source: { managed: RULES.bucket.managed }, scope: { resourceTypes: [RULES.bucket.resourceType] } }),
      ),
    };
    const ruleCreateMs = performance.now() - tr;
    log(`${label} evaluation: ${Object.keys(created).length} rules created in ${Math.round(ruleCreateMs)} ms; evaluator.evaluateRules()`);
    let bar: ReturnType<typeof progress> | undefined;
    const ev = await evaluator.evaluateRules(undefined, {
      onProgress: (d, total) => {
        bar ??= progress(`${label} evaluated`, total);
        bar.update(d);
      },
    });
    bar?.stop();
    cost = end();
    const perRule = [];
    for (const [k, r] of Object.entries(created) as [keyof typeof RULES, (typeof created)[keyof typeof RULES]][]) {
      const c = await resultCounts(db, r.ruleId);
      perRule.push({
        name: r.name,
        managed: RULES[k].managed,
        resourceType: RULES[k].resourceType,
        compliant: c.COMPLIANT ?? 0,
        nonCompliant: c.NON_COMPLIANT ?? 0,
      });
    }
    const evaluation = {
      ...cost,
      rules: perRule,
      ruleCreateMs: Math.round(ruleCreateMs),
      resources: ev.resources,
      evaluations: ev.evaluations,
      evaluationsPerSecond: r2(ev.evaluations / cost.seconds),
      nonCompliant: perRule.reduce((a, r) => a + r.nonCompliant, 0),
    };
    log(
      `${label} ${fmt(ev.evaluations)} evaluations in ${cost.seconds} s: ${fmt(evaluation.evaluationsPerSecond)}/s, ${perRule.map((r) => `${r.name} ${fmt(r.nonCompliant)} NON_COMPLIANT`).join(', ')}`,
    );

    // 3. remediation: every NON_COMPLIANT group, drained by the worker.
    const sgRule = created.sg;
    const nonCompliantBefore = perRule[0]!.nonCompliant;
    end = phase(moto);
    const t3 = performance.now();
    const t3Wall = Date.now();
    const started = await startRemediation(engine, { rule: sgRule.name, allNonCompliant: true });
    const queueMs = performance.now() - t3;
    log(
      `${label} remediation: queued ${fmt(started.queued.length)} ${SG_ACTION} executions in ${secs(queueMs)} s${started.failed.length ? ` (${started.failed.length} refused: ${started.failed[0]!.reason})` : ''}; worker concurrency ${o.workerConcurrency}`,
    );
    worker.start();
    const queued = started.queued.length;
    const rbar = progress(`${label} remediated`, queued);
    let counts: Record<string, number> = {};
    let lastDone = -1;
    let lastProgressAt = performance.now();
    let stalled = false;
    const doneOf = (c: Record<string, number>) => (c.SUCCEEDED ?? 0) + (c.FAILED ?? 0) + (c.CANCELLED ?? 0);
    const activeOf = (c: Record<string, number>) => ACTIVE.reduce((a, k) => a + (c[k] ?? 0), 0);
    for (;;) {
      counts = await statusCounts(db, sgRule.ruleId);
      const done = doneOf(counts);
      rbar.update(done);
      if (activeOf(counts) === 0) break;
      const now = performance.now();
      if (done !== lastDone) [lastDone, lastProgressAt] = [done, now];
      else if (now - lastProgressAt > o.stallSeconds * 1000) {
        stalled = true;
        log(`  no execution finished for ${o.stallSeconds} s with ${activeOf(counts)} still active (${JSON.stringify(counts)}); giving up`);
        break;
      }
      await sleep(250);
    }
    await worker.stop();
    rbar.stop();
    counts = await statusCounts(db, sgRule.ruleId);
    // To the last execution's end by the database clock (the loop above may notice late while the worker keeps the event loop busy).
    const [{ last } = { last: null }] = await db.query<{ last: Date | null }>(
      'SELECT max(finished_at) AS last FROM remediation_executions WHERE rule_id = $1',
      [sgRule.ruleId],
    );
    cost = end();
    const drainSeconds = last ? Math.max(0.001, (new Date(last).getTime() - t3Wall) / 1000) : cost.seconds;
    const runs = (
      await db.query<{ ms: number }>(
        `SELECT extract(epoch FROM finished_at - started_at)::float8 * 1000 AS ms FROM remediation_executions WHERE rule_id = $1 AND finished_at IS NOT NULL AND started_at IS NOT NULL`,
        [sgRule.ruleId],
      )
    ).map((r) => r.ms);
    const failures = Object.fromEntries(
      (
        await db.query<{ code: string; n: number }>(
          `SELECT coalesce(error_code, '(none)') AS code, count(*)::int AS n FROM remediation_executions WHERE rule_id = $1 AND status = 'FAILED' GROUP BY 1 ORDER BY 2 DESC`,
          [sgRule.ruleId],
        )
      ).map((r) => [r.code, r.n]),
    );
    const after = await resultCounts(db, sgRule.ruleId);
    // What moto says now: groups with 22 open to the world (one request, outside the phase).
    const check = new sdk.ec2.EC2Client({ endpoint: moto.endpoint, region: REGION, credentials: MOTO_CREDENTIALS });
    const stillOpen = await check
      .send(
        new sdk.ec2.DescribeSecurityGroupsCommand({
          Filters: [
            { Name: 'ip-permission.cidr', Values: ['0.0.0.0/0'] },
            { Name: 'ip-permission.from-port', Values: ['22'] },
          ],
        }),
      )
      .finally(() => check.destroy());
    const finished = doneOf(counts);
    const remediation = {
      ...cost,
      drainSeconds: r2(drainSeconds),
      rule: sgRule.name,
      action: SG_ACTION,
      workerConcurrency: o.workerConcurrency,
      nonCompliantBefore,
      queued,
      notQueued: started.failed.length,
      queueSeconds: r2(queueMs / 1000),
      complete: activeOf(counts) === 0,
      stalled,
      finished,
      succeeded: counts.SUCCEEDED ?? 0,
      failed: counts.FAILED ?? 0,
      cancelled: counts.CANCELLED ?? 0,
      failures,
      executionsPerSecond: r2(finished / drainSeconds),
      executionP50Ms: percentile(runs, 50),
      executionP99Ms: percentile(runs, 99),
      nonCompliantAfter: after.NON_COMPLIANT ?? 0,
      worldOpenOnMotoAfter: stillOpen.SecurityGroups?.length ?? 0,
    };
    log(
      `${label} ${fmt(finished)} executions in ${remediation.drainSeconds} s: ${fmt(remediation.executionsPerSecond)}/s, ${fmt(remediation.succeeded)} SUCCEEDED, ${fmt(remediation.failed)} FAILED; moto CPU ${Math.round(cost.motoCpuShare * 100)}%`,
    );

    return {
      n,
      seeding,
      discovery,
      evaluation,
      remediation,
      processMaxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      motoPeakRssMiB: motoPeakRss(moto.pid),
    };
  } finally {
    if (engine) {
      await engine.worker.stop().catch(() => undefined);
      await engine.evaluator.idle().catch(() => undefined);
    }
    await aws?.close().catch(() => undefined);
    await db?.close().catch(() => undefined);
    if (dir) {
      rmSync(dir, { recursive: true, force: true });
      tempDirs.delete(dir);
    }
    await moto.stop();
  }
}

// --- the whole bench ----------------------------------------------------------------------

let stopping = false;
const onSignal = (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`\n${signal}: stopping moto_server and removing the bench's temporary data directories\n`);
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  // The 'exit' handler kills every moto_server group this process started.
  process.exit(130);
};

export async function runAwsBench(o: AwsBenchOptions): Promise<AwsBenchResult> {
  const sampler = setInterval(() => memory.sample(), 50);
  sampler.unref();
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  let unmeter = () => {};
  try {
    await loadSdk();
    unmeter = meterProviderClients();
    const sizes: AwsSizeResult[] = [];
    for (const [i, n] of o.sizes.entries()) sizes.push(await runSize(n, o, i));
    return {
      bench: 'aws',
      store: 'PGlite (embedded, persisted)',
      emulator: motoVersion(),
      node: process.version,
      cpus: availableParallelism(),
      options: o,
      sizes,
    };
  } finally {
    unmeter();
    clearInterval(sampler);
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

export function printAwsResult(r: AwsBenchResult): void {
  console.log(
    `\nconfix AWS benchmark — AwsProvider (AWS SDK v3) on ${r.emulator} (one moto_server per size, 127.0.0.1), ${r.store}, node ${r.node}, ${r.cpus} CPUs`,
  );
  console.log(
    `  provider: organization false, regions ${REGION}, ${r.options.concurrencyPerAccount} requests in flight per account, EC2 page size ${r.options.pageSize ?? "the API's"}; worker concurrency ${r.options.workerConcurrency}; seeding ${r.options.seedConcurrency} requests at a time`,
  );
  for (const s of r.sizes) {
    const sd = s.seeding;
    const d = s.discovery;
    const e = s.evaluation;
    const m = s.remediation;
    console.log(
      `\n  N = ${fmt(s.n)}: ${fmt(sd.securityGroups)} security groups (${fmt(sd.worldOpenGroups)} with 22 open to 0.0.0.0/0), ${fmt(sd.instances)} instances (${fmt(sd.unapprovedInstances)} from an unapproved AMI, ${sd.runInstancesBatch} a RunInstances), ${fmt(sd.buckets)} buckets (${fmt(sd.publicBuckets)} public-read)` +
        `; seeded in ${sd.secondsByKind.securityGroups} + ${sd.secondsByKind.instances} + ${sd.secondsByKind.buckets} s`,
    );
    const t = new Table({
      head: ['phase', 'wall s', 'throughput', 'SDK reqs', 'mean ms', 'in flight', 'moto CPU', 'confix CPU', 'peak RSS', 'peak heap'],
      style: { head: [], border: [], compact: true },
      colAligns: ['left', 'right', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    });
    const row = (name: string, c: PhaseCost, throughput: string) => [
      name,
      c.seconds.toFixed(1),
      throughput,
      fmt(c.sdkRequests),
      c.sdkMeanMs.toFixed(1),
      pct(c.sdkInFlightShare),
      pct(c.motoCpuShare),
      pct(c.benchCpuShare),
      `${c.peakRssMiB} MiB`,
      `${c.peakHeapMiB} MiB`,
    ];
    t.push(row('seeding (not counted)', sd, `${fmt(sd.itemsPerSecond)} resources/s`));
    t.push(row('discovery', d, `${fmt(d.resourcesPerSecond)} resources/s`));
    t.push(row('evaluation', e, `${fmt(e.evaluationsPerSecond)} evaluations/s`));
    t.push(row('remediation', m, `${r2(m.executionsPerSecond)} executions/s`));
    console.log(t.toString().replace(/^/gm, '  '));
    console.log(
      `  discovery     ${fmt(d.resources)} resources in ${d.scopes} scopes (${Object.entries(d.byType)
        .map(([k, v]) => `${fmt(v)} ${k}`)
        .join(', ')})${d.refused ? `, ${d.refused} scopes refused` : ''}`,
    );
    console.log(
      `  evaluation    ${fmt(e.evaluations)} evaluations of ${fmt(e.resources)} resources, ${fmt(e.nonCompliant)} NON_COMPLIANT: ${e.rules.map((x) => `${x.name} (${x.managed}) ${fmt(x.nonCompliant)}/${fmt(x.compliant + x.nonCompliant)}`).join(', ')}; rules created in ${e.ruleCreateMs} ms`,
    );
    console.log(
      `  remediation   ${m.action}: ${fmt(m.finished)} executions in ${m.drainSeconds} s from the first queued to the last finished; ${fmt(m.queued)} queued in ${m.queueSeconds} s${m.notQueued ? ` (${fmt(m.notQueued)} refused)` : ''}, ${m.complete ? 'all finished' : `INCOMPLETE${m.stalled ? ' (stalled)' : ''}: ${fmt(m.finished)} finished`} — ${fmt(m.succeeded)} SUCCEEDED, ${fmt(m.failed)} FAILED${
        Object.keys(m.failures).length
          ? ` (${Object.entries(m.failures)
              .map(([k, v]) => `${fmt(v)} ${k}`)
              .join(', ')})`
          : ''
      }, ${fmt(m.cancelled)} CANCELLED`,
    );
    console.log(
      `                one execution p50 ${m.executionP50Ms} ms, p99 ${m.executionP99Ms} ms; afterwards ${fmt(m.nonCompliantAfter)} NON_COMPLIANT, ${fmt(m.worldOpenOnMotoAfter)} groups open to the world on moto`,
    );
    console.log(
      `  memory        this process's peak RSS ${s.processMaxRssMiB} MiB (kernel maxrss, over the run so far); moto_server's ${s.motoPeakRssMiB} MiB`,
    );
  }
  console.log(
    `\n  in flight: the share of the phase's wall time with at least one SDK request to moto open (innermost in the SDK's stack, to the response headers); moto CPU / confix CPU: CPU time over wall time (100% = one core).`,
  );
}

// Run directly: node --import tsx bench/aws.ts [options]
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  let opts: ReturnType<typeof parseAwsArgs>;
  try {
    opts = parseAwsArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  const { json, ...rest } = opts;
  const result = await runAwsBench(rest);
  if (json) console.log(JSON.stringify(result));
  else printAwsResult(result);
}
