/**
 * npm run bench: the pipeline benchmark, then the remediation benchmark; the
 * AWS benchmark (bench/aws.ts: the AWS provider on moto) only when named.
 *
 *   npm run bench                                        # pipeline and remediation, with their defaults
 *   npm run bench -- --only pipeline --resources 20000 --changes 500
 *   npm run bench -- --only remediation --resources 2000 --changes 500 --mass 10000 --worker-concurrency 16
 *   npm run bench -- --json                              # one JSON object: { pipeline, remediation }
 *   npm run bench -- --only aws [--n N | --sizes 1000,5000] [--json]   # needs moto_server on PATH; minutes per size
 *
 * With --only, every other argument goes to that bench. With both, the
 * pipeline's arguments (--resources, --accounts, --changes, --seed) go to the
 * pipeline as they always did, the remediation bench's own ones (--mass,
 * --mass-type, --worker-concurrency, --warmup, --drain-seconds, --bulk-start, --bulk-concurrency, --bulk-per-minute) go to it, and --seed and
 * --json go to both; size the remediation bench's estate with --only remediation.
 * With --only pipeline --json the output is the pipeline's JSON as before.
 *
 * The aws bench is not in the default set (it starts moto_server and takes
 * several minutes at its default sizes): it runs with --only aws, or named
 * with others (--only pipeline,remediation,aws). Its options (--n, --sizes,
 * --concurrency-per-account, --page-size, --seed-concurrency, --stall-seconds and
 * --worker-concurrency, --json) go to it when it runs; --worker-concurrency
 * goes to the remediation bench too when both run. With more than one bench
 * and --json, the one JSON object has a member per bench that ran.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { remediationOptions, parseRemediationArgs, runRemediationBench, printRemediationResult } from './remediation.js';
import { awsOptions, parseAwsArgs, runAwsBench, printAwsResult } from './aws.js';

/** bench/pipeline.ts's options (it parses process.argv itself when imported). */
const pipelineOptions = {
  resources: { type: 'string' },
  accounts: { type: 'string' },
  changes: { type: 'string' },
  seed: { type: 'string' },
  json: { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

const BENCHES = ['pipeline', 'remediation', 'aws'] as const;
type Bench = (typeof BENCHES)[number];
/** What runs without --only: the aws bench needs moto_server and minutes, so it runs only when named. */
const DEFAULT_BENCHES: readonly Bench[] = ['pipeline', 'remediation'];
const OPTIONS: Record<Bench, Record<string, unknown>> = { pipeline: pipelineOptions, remediation: remediationOptions, aws: awsOptions };

const USAGE = `usage: npm run bench -- [--only pipeline|remediation|aws[,…]] [options]
  pipeline:     --resources N (100000) --accounts N (50) --changes N (1000) --seed N --json
  remediation:  --resources N (2000) --accounts N (10) --changes N (500) --warmup N (5)
                --mass N (10000) --mass-type bucket|sg (bucket) --worker-concurrency N (16)
                --drain-seconds N (180; 0: until all finished) --seed N --json
                --bulk-start automatic|manual (automatic: the rule turned to AUTO_EXECUTION queues the bulk)
                --bulk-concurrency N (1000) --bulk-per-minute N (100000): the bulk rule's execution controls
  aws:          --n N | --sizes N,N (1000,5000) --worker-concurrency N (16) --concurrency-per-account N (4)
                --page-size N (EC2 list calls, 5-1000; default the API's) --seed-concurrency N (16) --stall-seconds N (120) --json
                (the AWS provider on moto: starts moto_server itself, which must be on PATH)
  Without --only, pipeline and remediation run; aws runs only when named (--only aws, or --only remediation,aws).
  With both pipeline and remediation, --resources, --accounts and --changes go to the pipeline only.`;

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
const known = { ...awsOptions, ...remediationOptions, ...pipelineOptions, only: { type: 'string' } } as const;
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

let only: Bench[] = [...DEFAULT_BENCHES];
const toPipeline: string[] = [];
const toRemediation: string[] = [];
const toAws: string[] = [];
const routed: { name: string; args: string[] }[] = [];
for (const t of tokens) {
  if (t.kind !== 'option' || !t.name || !t.rawName) continue;
  const args = t.value === undefined ? [t.rawName] : [t.rawName, t.value];
  if (t.name === 'only') {
    const names = (t.value ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const bad = names.filter((n) => !(BENCHES as readonly string[]).includes(n));
    if (!names.length || bad.length) fail(`--only takes ${BENCHES.join(', ')} or several of them comma-separated (got "${t.value ?? ''}")`);
    only = BENCHES.filter((b) => names.includes(b));
    continue;
  }
  routed.push({ name: t.name, args });
}
/** Pipeline and remediation together (the default): their shared options are routed as they always were. */
const both = only.includes('pipeline') && only.includes('remediation');
/** More than one bench: with --json, one object with a member for each. */
const several = only.length > 1;
for (const { name, args } of routed) {
  const forPipeline = name in pipelineOptions;
  const forRemediation = name in remediationOptions && (!both || !forPipeline || name === 'seed' || name === 'json');
  if (forPipeline && only.includes('pipeline')) toPipeline.push(...args);
  if (forRemediation && only.includes('remediation')) toRemediation.push(...args);
  if (name in awsOptions && only.includes('aws')) toAws.push(...args);
  if (!forPipeline && only.length === 1 && only[0] === 'pipeline') fail(`--${name} is not an option of the pipeline bench`);
  if (!(name in remediationOptions) && only.length === 1 && only[0] === 'remediation') fail(`--${name} is not an option of the remediation bench`);
  if (!(name in awsOptions) && only.length === 1 && only[0] === 'aws') fail(`--${name} is not an option of the aws bench`);
  if (!only.some((b) => name in OPTIONS[b]))
    fail(`--${name} is an option of the ${BENCHES.filter((b) => name in OPTIONS[b]).join(' and ')} bench, which is not running (name it with --only)`);
}
const json = routed.some((r) => r.name === 'json');

// Check the remediation and aws benches' arguments now, not after the pipeline ran for minutes.
const remediation = only.includes('remediation') ? parseRemediationArgs(toRemediation) : undefined;
let aws: ReturnType<typeof parseAwsArgs> | undefined;
try {
  aws = only.includes('aws') ? parseAwsArgs(toAws) : undefined;
} catch (err) {
  fail((err as Error).message);
}

let pipelineJson: unknown;
if (only.includes('pipeline')) {
  // pipeline.ts reads process.argv when imported.
  process.argv = [process.argv[0]!, new URL('./pipeline.ts', import.meta.url).pathname, ...toPipeline];
  if (json && several) {
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

let remediationJson: unknown;
if (remediation) {
  const { json: _json, ...opts } = remediation;
  const result = await runRemediationBench(opts);
  if (json && several) remediationJson = result;
  else if (json) console.log(JSON.stringify(result));
  else printRemediationResult(result);
}

let awsJson: unknown;
if (aws) {
  const { json: _json, ...opts } = aws;
  const result = await runAwsBench(opts);
  if (json && several) awsJson = result;
  else if (json) console.log(JSON.stringify(result));
  else printAwsResult(result);
}

if (json && several) {
  const out: Record<string, unknown> = {};
  if (only.includes('pipeline')) out.pipeline = pipelineJson;
  if (only.includes('remediation')) out.remediation = remediationJson;
  if (only.includes('aws')) out.aws = awsJson;
  console.log(JSON.stringify(out));
}
