/**
 * Recorder benchmark on the embedded default (PGlite persisted in a data
 * directory): load a generated estate, take the first snapshot, then measure
 * the time from a sandbox change to its recorded configuration item.
 *
 *   npm run bench                      # 100,000 resources, 1,000 changes
 *   npm run bench -- --resources 20000 --changes 2000
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openStore } from '../src/store/index.js';
import { SandboxCloud, generateEstate } from '../src/providers/sandbox/index.js';
import { Recorder, type RecordedEvent } from '../src/inventory/index.js';
import { Rng } from '../src/util/random.js';

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
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 50);
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MiB`;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const log = (s: string) => process.stderr.write(s + '\n');

const dir = mkdtempSync(join(tmpdir(), 'confix-bench-'));
try {
  let t = performance.now();
  const estate = generateEstate({ accounts: Number(values.accounts), resources: N, seed: Number(values.seed) });
  const genMs = performance.now() - t;
  log(`generated ${N} resources in ${values.accounts} accounts (${(genMs / 1000).toFixed(1)} s)`);

  t = performance.now();
  const db = await openStore({ dataDir: dir });
  const openMs = performance.now() - t;
  const sandbox = new SandboxCloud(db);
  const recorder = new Recorder(db, [sandbox]);

  t = performance.now();
  await sandbox.loadEstate(estate);
  const loadMs = performance.now() - t;
  log(`loaded into the sandbox in ${(loadMs / 1000).toFixed(1)} s`);

  t = performance.now();
  const snap = await recorder.snapshot('sandbox');
  const snapMs = performance.now() - t;
  log(`first snapshot: ${snap.created} configuration items in ${(snapMs / 1000).toFixed(1)} s`);

  t = performance.now();
  const again = await recorder.snapshot('sandbox');
  const resnapMs = performance.now() - t;

  // Change latency: flip a port-22 rule on random security groups, one change
  // at a time, from the call's start to the 'recorded' event for that group.
  const groups = estate.resources!.filter((r) => r.type === 'ACS::ECS::SecurityGroup' && !(r.configuration as { ServiceManaged?: boolean }).ServiceManaged);
  const rng = new Rng(42);
  recorder.start(60_000);
  const latencies: number[] = [];
  const open = new Set<string>();
  for (let i = 0; i < CHANGES; i++) {
    const g = rng.pick(groups);
    const action = open.has(g.id) ? 'ecs:RevokeSecurityGroup' : 'ecs:AuthorizeSecurityGroup';
    let on: (e: RecordedEvent) => void = () => undefined;
    const recorded = new Promise<RecordedEvent>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`change to ${g.id} not recorded within 10 s`)), 10_000);
      on = (e: RecordedEvent) => {
        if (e.resourceId === g.id) {
          clearTimeout(timer);
          recorder.off('recorded', on);
          ok(e);
        }
      };
      recorder.on('recorded', on);
    });
    const start = performance.now();
    // Port 2222 from anywhere: a rule no generated group has, so every call is a real change.
    const res = await sandbox.call(action, { accountId: g.account, regionId: g.region }, { SecurityGroupId: g.id, IpProtocol: 'TCP', PortRange: '2222/2222', SourceCidrIp: '0.0.0.0/0' });
    if (!res.changed) throw new Error(`${action} on ${g.id} changed nothing`);
    await recorded;
    latencies.push(performance.now() - start);
    if (open.has(g.id)) open.delete(g.id);
    else open.add(g.id);
  }
  await recorder.stop();
  await db.close();
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);

  const result = {
    dataset: { resources: N, accounts: Number(values.accounts), seed: Number(values.seed) },
    store: 'PGlite (embedded, persisted)',
    openStoreMs: Math.round(openMs),
    estateLoadMs: Math.round(loadMs),
    firstSnapshot: { ms: Math.round(snapMs), resourcesPerSecond: Math.round(N / (snapMs / 1000)), configurationItems: snap.created },
    unchangedSnapshot: { ms: Math.round(resnapMs), resourcesPerSecond: Math.round(N / (resnapMs / 1000)), newItems: again.created + again.updated },
    changeToItem: { changes: latencies.length, p50Ms: +pct(latencies, 50).toFixed(2), p99Ms: +pct(latencies, 99).toFixed(2), maxMs: +Math.max(...latencies).toFixed(2) },
    peakRssMiB: Math.round(peakRss / 1024 / 1024),
  };
  if (values.json) console.log(JSON.stringify(result));
  else {
    console.log(`\nconfix recorder benchmark — ${N.toLocaleString('en')} resources, ${values.accounts} accounts, embedded PGlite`);
    console.log(`  first snapshot        ${result.firstSnapshot.resourcesPerSecond.toLocaleString('en')} resources recorded/s  (${(snapMs / 1000).toFixed(1)} s, ${snap.created.toLocaleString('en')} configuration items)`);
    console.log(`  unchanged re-snapshot ${result.unchangedSnapshot.resourcesPerSecond.toLocaleString('en')} resources/s  (${(resnapMs / 1000).toFixed(1)} s, ${result.unchangedSnapshot.newItems} new items)`);
    console.log(`  estate load           ${(loadMs / 1000).toFixed(1)} s`);
    console.log(`  change → recorded CI  p50 ${result.changeToItem.p50Ms} ms, p99 ${result.changeToItem.p99Ms} ms, max ${result.changeToItem.maxMs} ms  (${latencies.length} changes)`);
    console.log(`  peak memory (RSS)     ${mb(peakRss)}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
