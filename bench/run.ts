/**
 * npm run bench: the pipeline benchmark, then the remediation benchmark.
 *
 *   npm run bench                                        # both, with their defaults
 *   npm run bench -- --only pipeline --resources 20000 --changes 500
 *   npm run bench -- --only remediation --resources 2000 --changes 500 --mass 10000 --worker-concurrency 16
 *   npm run bench -- --json                              # one JSON object: { pipeline, remediation }
 *
 * With --only, every other argument goes to that bench. With both, the
 * pipeline's arguments (--resources, --accounts, --changes, --seed) go to the
 * pipeline as they always did, the remediation bench's own ones (--mass,
 * --mass-type, --worker-concurrency, --warmup, --drain-seconds, --bulk-start, --bulk-concurrency, --bulk-per-minute) go to it, and --seed and
 * --json go to both; size the remediation bench's estate with --only remediation.
 * With --only pipeline --json the output is the pipeline's JSON as before.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { remediationOptions, parseRemediationArgs, runRemediationBench, printRemediationResult } from './remediation.js';

/** bench/pipeline.ts's options (it parses process.argv itself when imported). */
const pipelineOptions = {
  resources: { type: 'string' },
  accounts: { type: 'string' },
  changes: { type: 'string' },
  seed: { type: 'string' },
  json: { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

const BENCHES = ['pipeline', 'remediation'] as const;
type Bench = (typeof BENCHES)[number];

const USAGE = `usage: npm run bench -- [--only pipeline|remediation] [options]
  pipeline:     --resources N (100000) --accounts N (50) --changes N (1000) --seed N --json
  remediation:  --resources N (2000) --accounts N (10) --changes N (500) --warmup N (5)
                --mass N (10000) --mass-type bucket|sg (bucket) --worker-concurrency N (16)
                --drain-seconds N (180; 0: until all finished) --seed N --json
                --bulk-start automatic|manual (automatic: the rule turned to AUTO_EXECUTION queues the bulk)
                --bulk-concurrency N (1000) --bulk-per-minute N (100000): the bulk rule's execution controls
  With both benches, --resources, --accounts and --changes go to the pipeline only.`;

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}

// Every option either bench knows (both benches' value options take a value), plus --only.
const known = { ...remediationOptions, ...pipelineOptions, only: { type: 'string' } } as const;
/** The option tokens parseArgs gives (kind, name, the name as written, its value). */
interface Token {
  kind: string;
  name?: string;
  rawName?: string;
  value?: string;
}
let tokens: Token[] = [];
try {
  const strip = Object.fromEntries(Object.entries(known).map(([k, v]) => [k, { type: v.type }])) as ParseArgsConfig['options'];
  tokens = (parseArgs({ args: argv, options: strip, strict: true, allowPositionals: false, tokens: true }).tokens ?? []) as Token[];
} catch (err) {
  fail((err as Error).message);
}

let only: Bench[] = [...BENCHES];
const toPipeline: string[] = [];
const toRemediation: string[] = [];
const routed: { name: string; args: string[] }[] = [];
for (const t of tokens) {
  if (t.kind !== 'option' || !t.name || !t.rawName) continue;
  const args = t.value === undefined ? [t.rawName] : [t.rawName, t.value];
  if (t.name === 'only') {
    const names = (t.value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const bad = names.filter((n) => !(BENCHES as readonly string[]).includes(n));
    if (!names.length || bad.length) fail(`--only takes ${BENCHES.join(' or ')} (got "${t.value ?? ''}")`);
    only = BENCHES.filter((b) => names.includes(b));
    continue;
  }
  routed.push({ name: t.name, args });
}
const both = only.length === BENCHES.length;
for (const { name, args } of routed) {
  const forPipeline = name in pipelineOptions;
  const forRemediation = name in remediationOptions && (!both || !forPipeline || name === 'seed' || name === 'json');
  if (forPipeline && only.includes('pipeline')) toPipeline.push(...args);
  if (forRemediation && only.includes('remediation')) toRemediation.push(...args);
  if (!forPipeline && only.length === 1 && only[0] === 'pipeline') fail(`--${name} is not an option of the pipeline bench`);
  if (!(name in remediationOptions) && only.length === 1 && only[0] === 'remediation') fail(`--${name} is not an option of the remediation bench`);
}
const json = routed.some((r) => r.name === 'json');

// Check the remediation bench's arguments now, not after the pipeline ran for minutes.
const remediation = only.includes('remediation') ? parseRemediationArgs(toRemediation) : undefined;

let pipelineJson: unknown;
if (only.includes('pipeline')) {
  // pipeline.ts reads process.argv when imported.
  process.argv = [process.argv[0]!, new URL('./pipeline.ts', import.meta.url).pathname, ...toPipeline];
  if (json && both) {
    // Its one JSON line goes into the combined object.
    const print = console.log;
    const lines: string[] = [];
    console.log = (...a: unknown[]) => void lines.push(a.map(String).join(' '));
    try {
      await import('./pipeline.js');
    } finally {
      console.log = print;
    }
    pipelineJson = JSON.parse(lines.filter((l) => l.trim().startsWith('{')).pop() ?? 'null');
  } else await import('./pipeline.js');
}

if (remediation) {
  const { json: _json, ...opts } = remediation;
  const result = await runRemediationBench(opts);
  if (json && both) console.log(JSON.stringify({ pipeline: pipelineJson, remediation: result }));
  else if (json) console.log(JSON.stringify(result));
  else printRemediationResult(result);
}
