/**
 * The function runtime: runs a function's `handler(event, context)` the way
 * Function Compute and Lambda do, one invocation per process, with its memory
 * and time limits enforced, its logs captured and its result or error
 * returned. No database here: recording invocations is the caller's business.
 *
 * ## Why a process per invocation, not a worker thread
 *
 * A worker thread's resourceLimits do not contain every out-of-memory: one
 * large allocation (`new Array(5e7).fill(0)` under a 64 MB limit) ends in
 * V8's FatalProcessOutOfMemory and aborts the whole process, confix with it
 * (nodejs/node#47224, still open). A child process with --max-old-space-size
 * dies alone, and the process boundary brings the rest: its own environment,
 * Node's permission model, a kill that always works. Cold start is about the
 * same (~50 ms either way).
 *
 * ## Isolation: what it does
 *
 * - Each invocation gets a fresh `node` process (`-e`, the program in
 *   sandbox-program.ts): its own memory, nothing of confix's (database
 *   handles, keys in memory, loaded modules) is reachable from it.
 * - Its real environment is empty (TZ excepted): the function's env exists
 *   only as the `process.env` of its context, so variables such as
 *   NODE_OPTIONS or LD_PRELOAD set on a function change nothing about how
 *   Node starts. Nothing of confix's environment (CONFIX_SECRET_KEY, database
 *   URLs) is passed.
 * - Node's permission model is on: the file system is readable and writable
 *   in the invocation's private temp directory only (context.tmpDir, removed
 *   afterwards) and readable in the allowed packages' directories; spawning
 *   processes is refused by Node itself, whatever the code does.
 * - Memory: --max-old-space-size is the function's memory setting (plus a
 *   small young generation); past it V8 ends the process (FAILED,
 *   "exceeded its memory limit of N MB"). On Linux the process's whole data
 *   segment (RLIMIT_DATA: heap, Buffers, ArrayBuffers, thread stacks) is
 *   limited to the memory setting plus RUNTIME_OVERHEAD_MB for Node itself,
 *   so an allocation outside the heap past it is refused, and the function
 *   fails with MemoryLimitExceeded.
 * - The channel: the process reports on fd 3, a plain pipe, every line
 *   signed with a per-invocation key given on stdin (see sandbox-program.ts).
 *   The code can write to the descriptor, but not sign: a forged or
 *   malformed line fails that invocation (RuntimeProtocolViolation), and
 *   nothing it writes is parsed by anything that can throw in confix.
 * - Time: a wall-clock timer kills the process at the deadline, even in a
 *   synchronous endless loop (TIMED_OUT); `cancel()` kills it too (CANCELLED).
 *   A watchdog thread inside the process kills it shortly after the deadline
 *   should confix itself be gone.
 * - The code runs in a vm context of its own with a curated global: console,
 *   a `process` whose env is the function's env and whose exit() refuses,
 *   timers, fetch and the web globals (URL, TextEncoder, AbortController,
 *   crypto, Buffer, …), and a `require` (which ESM imports compile to)
 *   limited to ALLOWED_BUILTINS and ALLOWED_PACKAGES: no child_process,
 *   worker_threads, net, vm, module, os, … Dynamic import() compiles to that
 *   require; import() in eval'd code has no loader in the context and fails.
 * - Before the code runs, the process removes Function.prototype.constructor
 *   (the classic escape from a vm context goes through it) and
 *   process.binding/_linkedBinding/dlopen/getBuiltinModule/kill/abort from
 *   its real process object.
 *
 * ## Isolation: what it does not do
 *
 * It is not a security boundary against hostile code the way a container or
 * a microVM is: the process runs as confix's user on confix's host, and a V8
 * or Node bug, a hole in the experimental permission model or a way back to
 * the process's realm we did not close would give code what that user can
 * do outside the file system rules. The network is not restricted: fetch
 * reaches any address the host can, internal ones included. CPU is bounded by
 * the timeout only. Outside Linux, memory outside the V8 heap is not
 * limited. Run only code from people who may already run code on the confix
 * host; for untrusted tenants run this runtime inside a container or VM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, readdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CLIENTS_SOURCE } from './clients.js';
import { SANDBOX_PROGRAM } from './sandbox-program.js';
import { compileFunctionCode, FunctionCodeError, mapStack, type CompiledCode } from './transpile.js';
import type { FunctionCredentials, LogLevel } from './types.js';

export type { FunctionCredentials, FunctionContext, Handler, LogLevel } from './types.js';
export { FunctionCodeError } from './transpile.js';

/** Node built-in modules function code may require or import (with or without node:); fs reaches context.tmpDir only. */
export const ALLOWED_BUILTINS = [
  'assert',
  'assert/strict',
  'buffer',
  'crypto',
  'events',
  'fs',
  'fs/promises',
  'path',
  'path/posix',
  'querystring',
  'stream',
  'stream/promises',
  'stream/web',
  'string_decoder',
  'timers',
  'timers/promises',
  'url',
  'util',
  'util/types',
  'zlib',
] as const;

/** Packages of confix's own that function code may import (seed 003's remediation selects rules with JMESPath). */
export const ALLOWED_PACKAGES = ['jmespath'] as const;

/** The globals a function's context gets from its process, besides the language's own. */
const GLOBALS = [
  'fetch',
  'Blob',
  'URL',
  'URLSearchParams',
  'TextEncoder',
  'TextDecoder',
  'AbortController',
  'AbortSignal',
  'Event',
  'EventTarget',
  'DOMException',
  'atob',
  'btoa',
  'structuredClone',
  'queueMicrotask',
  'setTimeout',
  'clearTimeout',
  'setInterval',
  'clearInterval',
  'setImmediate',
  'clearImmediate',
  'Buffer',
  'crypto',
  'performance',
];
/** Globals whose first read loads undici (~30 ms): given to the context as lazy getters. */
const LAZY_GLOBALS = ['Headers', 'Request', 'Response', 'FormData'];

export type InvocationStatus = 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'CANCELLED';

/** A function as the runtime needs it: its code and settings. */
export interface FunctionDefinition {
  name: string;
  /** Shown to the code as context.functionVersion; '$LATEST' when not given. */
  version?: string;
  /** handler.ts, handler.js, …: the language and the name in stack traces. */
  fileName: string;
  source: string;
  /** The exported function to call; 'handler' when not given. */
  handler?: string;
  timeoutSeconds: number;
  memoryMb: number;
  /** The function's environment: all that process.env shows it. */
  env?: Record<string, string>;
}

export interface InvokeOptions {
  /** JSON-serialisable; a string stays a string (Function Compute passes seeds 000/003 a JSON text). */
  event?: unknown;
  requestId?: string;
  /** Already assumed by the caller; context.credentials and the default signer of context.cloud. */
  credentials?: FunctionCredentials;
  /** Where context.confix and context.cloud send their calls: the confix service's base URL (without /api/v1); the token goes with both as a bearer. */
  api?: { baseUrl: string; token?: string; cloudBaseUrl?: string };
  /** Told each log line kept, as it comes (the worker saves them while the invocation runs). */
  onLog?: (line: LogLine) => void;
  /** Cap on captured log text (default 256 KiB); lines past it are counted in logsTruncated. */
  maxLogBytes?: number;
  /** Cap on the JSON of the result (default 6 MiB, as Lambda's). */
  maxResultBytes?: number;
}

export interface LogLine {
  /** ISO 8601 */
  time: string;
  level: LogLevel;
  message: string;
}

export interface InvocationError {
  /** The error's name (Error, TypeError, ApiCallError, …) or the runtime's: FunctionTimeout, MemoryLimitExceeded, Cancelled, SyntaxError, HandlerNotFound, ResultNotSerializable, ResultTooLarge, RuntimeExited, RuntimeError. */
  type: string;
  message: string;
  /** The error's code property, when it had one (e.g. an API error code). */
  code?: string;
  /** With the positions in the author's file. */
  stack?: string;
}

export interface InvocationResult {
  requestId: string;
  status: InvocationStatus;
  /** The handler's return value, for SUCCEEDED (absent when it returned undefined). */
  result?: unknown;
  error?: InvocationError;
  logs: LogLine[];
  /** Log lines dropped past the cap (at least this many when the process was stopped). */
  logsTruncated: number;
  durationMs: number;
  /** From the invocation's start until the handler was called: compile, process start, module load. */
  initDurationMs?: number;
  /** The V8 heap of the function's process at the end, when it finished by itself. */
  heapUsedMb?: number;
  /** The peak resident memory of the function's process (runtime included, ~40 MB of it), when it finished by itself. */
  maxRssMb?: number;
}

export interface InvocationHandle {
  requestId: string;
  done: Promise<InvocationResult>;
  /** Stops the invocation (CANCELLED); false when it had already finished. */
  cancel(reason?: string): boolean;
}

export type CodeCheck =
  | { ok: true; exports: string[] }
  | { ok: false; error: InvocationError & { file?: string; line?: number; column?: number; lineText?: string } };

const DEFAULT_MAX_LOG_BYTES = 256 * 1024;
const DEFAULT_MAX_RESULT_BYTES = 6 * 1024 * 1024;
const MAX_LINE_CHARS = 16 * 1024;
const MIN_MEMORY_MB = 16;
const MAX_TIMEOUT_SECONDS = 86_400;

let packagePaths: Record<string, string> | undefined;
/** The allowed packages' entry files (the process may read their directories). */
function resolvePackages(): Record<string, string> {
  if (packagePaths) return packagePaths;
  const req = createRequire(import.meta.url);
  const out: Record<string, string> = {};
  for (const p of ALLOWED_PACKAGES) {
    try {
      out[p] = realpathSync(req.resolve(p));
    } catch {
      /* not installed: refused like any other */
    }
  }
  return (packagePaths = out);
}

/** Node 20 spells the permission model --experimental-permission; later versions --permission. */
const PERMISSION_FLAG = process.allowedNodeEnvironmentFlags.has('--permission') ? '--permission' : '--experimental-permission';

/** What an invocation's process may read: its temp directory and the allowed packages' directories. */
function readableDirs(tmpDir: string, packages: Record<string, string>): string[] {
  return [tmpDir, ...new Set(Object.values(packages).map((f) => dirname(f)))];
}

/** The node flags of an invocation's process: memory limits and the permission model. */
function nodeFlags(memoryMb: number, tmpDir: string, packages: Record<string, string>): string[] {
  const readable = readableDirs(tmpDir, packages);
  return [
    `--max-old-space-size=${memoryMb}`,
    `--max-semi-space-size=${Math.max(1, Math.min(16, Math.floor(memoryMb / 32)))}`,
    PERMISSION_FLAG,
    ...readable.map((p) => `--allow-fs-read=${p}`),
    `--allow-fs-write=${tmpDir}`,
    // The watchdog thread; the code itself cannot reach worker_threads.
    '--allow-worker',
    '--no-warnings',
  ];
}

/** How long after the deadline the watchdog inside the process kills it, should nobody else. */
const WATCHDOG_GRACE_MS = 2000;

/**
 * What the runtime itself needs besides the function's memory (Node, the
 * watchdog thread, the vm context: about 64 MB of data segment when idle).
 * The process's whole data segment (RLIMIT_DATA: the V8 heap, Buffers and
 * ArrayBuffers, thread stacks) is limited to the function's memory plus this.
 */
export const RUNTIME_OVERHEAD_MB = 96;

/**
 * The command that starts an invocation's process: on Linux through the
 * shell's `ulimit -d`, so that memory outside the V8 heap is limited too (an
 * allocation past the limit fails in the function as MemoryLimitExceeded).
 */
function command(memoryMb: number, args: string[]): { file: string; args: string[] } {
  if (process.platform !== 'linux') return { file: process.execPath, args };
  const kb = (memoryMb + RUNTIME_OVERHEAD_MB) * 1024;
  return { file: '/bin/sh', args: ['-c', `ulimit -d ${kb} && exec "$0" "$@"`, process.execPath, ...args] };
}

/** Temp directories are named confix-fn-<pid of the service>-…, so that a later service can tell its dead predecessors' leftovers. */
const TMP_PREFIX = 'confix-fn-';
let swept = false;
/**
 * Removes the temp directories of invocations whose service died (a SIGKILL
 * leaves them behind); directories of a live process are left alone, and
 * unnamed ones (older versions) once they are a day old.
 */
export function sweepTempDirs(dir = tmpdir()): number {
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.startsWith(TMP_PREFIX));
  } catch {
    return 0;
  }
  for (const name of names) {
    const path = join(dir, name);
    const pid = /^confix-fn-(\d+)-/.exec(name)?.[1];
    try {
      if (pid !== undefined) {
        if (Number(pid) === process.pid || alive(Number(pid))) continue;
      } else if (Date.now() - statSync(path).mtimeMs < 86_400_000) continue;
      rmSync(path, { recursive: true, force: true, maxRetries: 2 });
      removed++;
    } catch {
      /* another process tidied it first, or it is not ours */
    }
  }
  return removed;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Longest line accepted on the channel, as a multiple of the result limit (JSON escaping of the result text). */
const MAX_MESSAGE_FACTOR = 7;

const LOG_LEVELS = new Set<string>(['debug', 'info', 'warn', 'error']);

/** Why a message is not one the program writes, or undefined when it is well formed. */
function malformed(m: unknown): string | undefined {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return 'not an object';
  const o = m as Record<string, unknown>;
  const str = (k: string, required = false) => (o[k] === undefined ? !required : typeof o[k] === 'string');
  const num = (k: string) => o[k] === undefined || (typeof o[k] === 'number' && Number.isFinite(o[k]));
  switch (o.t) {
    case 'log':
      return str('time', true) && typeof o.level === 'string' && LOG_LEVELS.has(o.level) && str('message', true) ? undefined : 'a bad log line';
    case 'dropped':
      return num('n') ? undefined : 'a bad count';
    case 'loaded':
      return undefined;
    case 'done': {
      if (typeof o.ok !== 'boolean' || !str('resultJson') || !num('n') || !num('heapMb') || !num('maxRssMb')) return 'a bad end';
      if (o.exports !== undefined && !(Array.isArray(o.exports) && o.exports.every((x) => typeof x === 'string'))) return 'bad exports';
      if (o.phase !== undefined && o.phase !== 'load' && o.phase !== 'handler') return 'a bad phase';
      if (o.error !== undefined) {
        const e = o.error as Record<string, unknown>;
        if (typeof e !== 'object' || e === null || typeof e.type !== 'string' || typeof e.message !== 'string') return 'a bad error';
        if ((e.code !== undefined && typeof e.code !== 'string') || (e.stack !== undefined && typeof e.stack !== 'string')) return 'a bad error';
      }
      return undefined;
    }
    default:
      return 'an unknown kind of message';
  }
}

interface ProgramMessage {
  t: 'log' | 'dropped' | 'loaded' | 'done';
  time?: string;
  level?: LogLevel;
  message?: string;
  n?: number;
  ok?: boolean;
  phase?: 'load' | 'handler';
  error?: InvocationError;
  resultJson?: string;
  exports?: string[];
  heapMb?: number;
  maxRssMb?: number;
}

interface RunSpec {
  fn: FunctionDefinition;
  opts: InvokeOptions;
  requestId: string;
  checkOnly: boolean;
}

/** Starts one invocation; the handle's done settles with its result, never rejects for the function's faults. */
export function invoke(fn: FunctionDefinition, opts: InvokeOptions = {}): InvocationHandle {
  validate(fn);
  let eventJson: string | undefined;
  try {
    eventJson = opts.event === undefined ? undefined : JSON.stringify(opts.event);
  } catch (err) {
    throw new TypeError(`the event is not JSON-serialisable: ${(err as Error).message}`);
  }
  const requestId = opts.requestId ?? randomUUID();
  const run = new Invocation({ fn, opts, requestId, checkOnly: false }, eventJson);
  return { requestId, done: run.done, cancel: (reason) => run.cancel(reason) };
}

/** Runs one invocation to its end. */
export function runFunction(fn: FunctionDefinition, opts: InvokeOptions = {}): Promise<InvocationResult> {
  return invoke(fn, opts).done;
}

/**
 * Deploy-time check: the code compiles and, once loaded in the runtime (its
 * top-level code runs, as at a cold start, under a short timeout), exports
 * the handler. Errors carry the file, line and column.
 */
export async function checkFunctionCode(
  source: string,
  fileName: string,
  opts: { handler?: string; memoryMb?: number; timeoutSeconds?: number; env?: Record<string, string> } = {},
): Promise<CodeCheck> {
  try {
    await compileFunctionCode(source, fileName);
  } catch (err) {
    if (err instanceof FunctionCodeError) return { ok: false, error: { type: err.type, message: err.message, ...err.location } };
    throw err;
  }
  const fn: FunctionDefinition = {
    name: fileName,
    fileName,
    source,
    handler: opts.handler,
    memoryMb: opts.memoryMb ?? 256,
    timeoutSeconds: opts.timeoutSeconds ?? 10,
    env: opts.env,
  };
  validate(fn);
  const run = new Invocation({ fn, opts: {}, requestId: randomUUID(), checkOnly: true }, undefined);
  const r = await run.done;
  if (r.status === 'SUCCEEDED') return { ok: true, exports: run.exports ?? [] };
  const error = r.error ?? { type: 'Error', message: `the code could not be loaded (${r.status})` };
  const at = error.stack ? new RegExp(`${fileName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:(\\d+):(\\d+)`).exec(error.stack) : null;
  return { ok: false, error: at ? { ...error, line: Number(at[1]), column: Number(at[2]) } : error };
}

function validate(fn: FunctionDefinition): void {
  if (!fn.name) throw new TypeError('a function needs a name');
  if (!(fn.timeoutSeconds > 0 && fn.timeoutSeconds <= MAX_TIMEOUT_SECONDS))
    throw new RangeError(`${fn.name}: timeoutSeconds must be more than 0 and at most ${MAX_TIMEOUT_SECONDS}`);
  if (!(fn.memoryMb >= MIN_MEMORY_MB)) throw new RangeError(`${fn.name}: memoryMb must be at least ${MIN_MEMORY_MB}`);
  for (const [k, v] of Object.entries(fn.env ?? {})) if (typeof v !== 'string') throw new TypeError(`${fn.name}: environment variable ${k} must be a string`);
}

class Invocation {
  readonly done: Promise<InvocationResult>;
  /** What the module exports (checkOnly). */
  exports?: string[];
  private resolve!: (r: InvocationResult) => void;
  private readonly started = performance.now();
  private readonly logs: LogLine[] = [];
  private readonly maxLogBytes: number;
  private logBytes = 0;
  private dropped = 0;
  private programDropped = 0;
  private stderr = '';
  private loadedAt?: number;
  private child?: ChildProcess;
  private tmpDir?: string;
  private compiled?: CompiledCode;
  private readonly timer: NodeJS.Timeout;
  /** Authenticates the program's messages: sent to it on stdin, never seen by the function's code. */
  private readonly key = randomBytes(32);
  private channelBuffer = '';
  /** The outcome, decided by the first of: the program's answer, the timeout, a cancel, the process's end. */
  private ending?: { status: InvocationStatus; fields: Partial<InvocationResult> };
  private settled = false;

  constructor(
    private readonly spec: RunSpec,
    private readonly eventJson: string | undefined,
  ) {
    this.maxLogBytes = spec.opts.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES;
    this.done = new Promise((r) => (this.resolve = r));
    // The deadline counts from the start: compiling, starting the process and loading the code are part of the time.
    this.timer = setTimeout(
      () =>
        this.end('TIMED_OUT', {
          error: { type: 'FunctionTimeout', message: `the function ran longer than its timeout of ${spec.fn.timeoutSeconds} s and was stopped` },
        }),
      spec.fn.timeoutSeconds * 1000,
    );
    void this.start();
  }

  cancel(reason?: string): boolean {
    if (this.ending) return false;
    this.end('CANCELLED', { error: { type: 'Cancelled', message: `the invocation was cancelled${reason ? `: ${reason}` : ''}` } });
    return true;
  }

  private async start(): Promise<void> {
    const { fn, opts, requestId, checkOnly } = this.spec;
    try {
      this.compiled = await compileFunctionCode(fn.source, fn.fileName);
    } catch (err) {
      const error =
        err instanceof FunctionCodeError
          ? { type: err.type, message: err.message }
          : { type: 'RuntimeError', message: `the function could not be compiled: ${(err as Error).message}` };
      this.end('FAILED', { error });
    }
    if (this.ending) return this.settle(); // failed to compile, cancelled or timed out meanwhile: no process to wait for
    const compiled = this.compiled!;
    const deadline = Math.round(Date.now() + Math.max(0, fn.timeoutSeconds * 1000 - (performance.now() - this.started)));
    const packages = resolvePackages();
    if (!swept) {
      swept = true;
      sweepTempDirs();
    }
    let child: ChildProcess;
    try {
      this.tmpDir = realpathSync(mkdtempSync(join(tmpdir(), `${TMP_PREFIX}${process.pid}-`)));
      const cmd = command(fn.memoryMb, [...nodeFlags(fn.memoryMb, this.tmpDir, packages), '-e', SANDBOX_PROGRAM]);
      child = spawn(cmd.file, cmd.args, {
        cwd: this.tmpDir,
        // The function's env is given to its context only: nothing here changes how node starts.
        env: fn.env?.TZ ? { TZ: fn.env.TZ } : {},
        // stdin: the invocation, then kept open (its end tells the process confix is gone); fd 3: the program's messages.
        stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      });
    } catch (err) {
      this.end('FAILED', { error: { type: 'RuntimeError', message: `the function's process could not be started: ${(err as Error).message}` } });
      return this.settle();
    }
    this.child = child;
    child.stdout!.setEncoding('utf8').on('data', (s: string) => this.streamLog('info', s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      if (this.stderr.length < 64 * 1024) this.stderr += s;
    });
    const channel = child.stdio[3] as NodeJS.ReadableStream;
    channel.setEncoding('utf8');
    channel.on('data', (s: string) => this.onChannel(s));
    channel.on('error', () => undefined); // the process's end says what happened
    child.stdin!.on('error', () => undefined); // written to a process that already ended
    child.on('error', (err) => this.end('FAILED', { error: { type: 'RuntimeError', message: `the function's process failed: ${err.message}` } }));
    child.on('close', (code, signal) => {
      this.end('FAILED', this.exitError(code, signal));
      this.settle();
    });
    const setup = {
      key: this.key.toString('hex'),
      readable: readableDirs(this.tmpDir, packages),
      code: compiled.code,
      fileName: fn.fileName,
      tmpDir: this.tmpDir,
      handlerName: fn.handler ?? 'handler',
      checkOnly,
      functionName: fn.name,
      env: fn.env ?? {},
      deadline,
      graceMs: WATCHDOG_GRACE_MS,
      contextJson: JSON.stringify({
        requestId,
        functionName: fn.name,
        functionVersion: fn.version ?? '$LATEST',
        memoryLimitInMB: fn.memoryMb,
        timeoutSeconds: fn.timeoutSeconds,
        deadline,
        credentials: opts.credentials,
      }),
      eventJson: this.eventJson,
      api: opts.api ? { baseUrl: opts.api.baseUrl, cloudBaseUrl: opts.api.cloudBaseUrl, token: opts.api.token } : undefined,
      clientsSource: CLIENTS_SOURCE,
      globals: GLOBALS,
      lazyGlobals: LAZY_GLOBALS,
      allowedBuiltins: ALLOWED_BUILTINS,
      packages,
      maxLogBytes: this.maxLogBytes,
      maxLineChars: MAX_LINE_CHARS,
    };
    child.stdin!.write(`${JSON.stringify(setup)}\n`);
  }

  /**
   * Lines from the program's channel: each `<hex MAC> <json>`. A line the
   * program did not write (the function's code can write to the descriptor
   * too), a malformed one or one past the size limit fails the invocation;
   * nothing that arrives here can throw in the service.
   */
  private onChannel(chunk: string): void {
    if (this.ending) return;
    this.channelBuffer += chunk;
    const max = (this.spec.opts.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES) * MAX_MESSAGE_FACTOR + 64 * 1024;
    let nl: number;
    while (!this.ending && (nl = this.channelBuffer.indexOf('\n')) >= 0) {
      const line = this.channelBuffer.slice(0, nl);
      this.channelBuffer = this.channelBuffer.slice(nl + 1);
      const why = this.acceptLine(line);
      if (why) {
        this.protocolViolation(why);
        return;
      }
    }
    if (this.channelBuffer.length > max) this.protocolViolation(`a message longer than ${max} characters`);
  }

  /** Handles one channel line; answers why it was refused, if it was. */
  private acceptLine(line: string): string | undefined {
    const space = line.indexOf(' ');
    if (space !== 64) return "a message without the runtime's signature";
    const json = line.slice(space + 1);
    const want = createHmac('sha256', this.key).update(json).digest();
    const got = Buffer.from(line.slice(0, space), 'hex');
    if (got.length !== want.length || !timingSafeEqual(got, want)) return 'a message the runtime did not sign';
    let m: unknown;
    try {
      m = JSON.parse(json);
    } catch {
      return 'a message that is not JSON';
    }
    const bad = malformed(m);
    if (bad) return bad;
    this.onMessage(m as ProgramMessage);
    return undefined;
  }

  private protocolViolation(why: string): void {
    this.end('FAILED', {
      error: {
        type: 'RuntimeProtocolViolation',
        message: `the function's process wrote to the runtime's channel what the runtime did not send (${why}); the invocation is failed and its messages are not trusted`,
      },
    });
  }

  /** Why the process ended when it did not say it had finished. */
  private exitError(code: number | null, signal: NodeJS.Signals | null): Partial<InvocationResult> {
    if (
      (signal === 'SIGABRT' || signal === 'SIGSEGV' || signal === 'SIGTRAP' || code === 134) &&
      /out of memory|Allocation failed|Reached heap limit|Failed to reserve|Cannot allocate/i.test(this.stderr)
    )
      return { error: { type: 'MemoryLimitExceeded', message: `the function exceeded its memory limit of ${this.spec.fn.memoryMb} MB and was stopped` } };
    const last = this.stderr.trim().split('\n').slice(-5).join('\n');
    return {
      error: {
        type: 'RuntimeExited',
        message: `the function's process ended (${signal ? `signal ${signal}` : `exit code ${code}`}) before the handler finished${last ? `: ${last}` : ''}`,
      },
    };
  }

  private onMessage(m: ProgramMessage): void {
    if (this.ending) return;
    switch (m.t) {
      case 'log':
        this.addLog({ time: m.time!, level: m.level!, message: m.message! });
        return;
      case 'dropped':
        this.programDropped = Math.max(this.programDropped, m.n ?? 0);
        return;
      case 'loaded':
        this.loadedAt = performance.now();
        return;
      case 'done': {
        this.programDropped = Math.max(this.programDropped, m.n ?? 0);
        if (m.exports) this.exports = m.exports;
        const memory = { ...(m.heapMb !== undefined ? { heapUsedMb: m.heapMb } : {}), ...(m.maxRssMb !== undefined ? { maxRssMb: m.maxRssMb } : {}) };
        if (!m.ok) {
          const what = m.phase === 'load' ? `${this.spec.fn.fileName} failed while loading` : 'the handler failed';
          this.end('FAILED', { error: this.userError(m.error ?? {}, what), ...memory });
          return;
        }
        const max = this.spec.opts.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES;
        const size = m.resultJson === undefined ? 0 : Buffer.byteLength(m.resultJson);
        if (size > max) {
          this.end('FAILED', {
            error: { type: 'ResultTooLarge', message: `the handler's result is ${size} bytes of JSON, more than the ${max} allowed` },
            ...memory,
          });
          return;
        }
        let result: unknown;
        try {
          result = m.resultJson === undefined ? undefined : (JSON.parse(m.resultJson) as unknown);
        } catch {
          this.protocolViolation('a result that is not JSON');
          return;
        }
        this.end('SUCCEEDED', { ...(m.resultJson !== undefined ? { result } : {}), ...memory });
        return;
      }
    }
  }

  /** Decides the outcome (the first call wins) and ends the process; settle() follows once it has closed. */
  private end(status: InvocationStatus, fields: Partial<InvocationResult>): void {
    if (this.ending) return;
    this.ending = { status, fields };
    clearTimeout(this.timer);
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  private settle(): void {
    if (this.settled || !this.ending) return;
    this.settled = true;
    if (this.tmpDir) rmSync(this.tmpDir, { recursive: true, force: true, maxRetries: 2 });
    const { status, fields } = this.ending;
    this.resolve({
      requestId: this.spec.requestId,
      status,
      ...fields,
      logs: this.logs,
      logsTruncated: this.dropped + this.programDropped,
      durationMs: round(performance.now() - this.started),
      ...(this.loadedAt !== undefined ? { initDurationMs: round(this.loadedAt - this.started) } : {}),
    });
  }

  private userError(e: { name?: string; type?: string; message?: string; code?: unknown; stack?: string }, fallback: string): InvocationError {
    // An allocation refused by the process's memory limit (RLIMIT_DATA): V8 throws it as a RangeError in the function.
    if ((e.type ?? e.name) === 'RangeError' && /^Array buffer allocation failed$|^Cannot allocate memory/.test(e.message ?? ''))
      return {
        type: 'MemoryLimitExceeded',
        message: `the function exceeded its memory limit of ${this.spec.fn.memoryMb} MB (an allocation of memory outside the JavaScript heap was refused: ${e.message})`,
      };
    const out: InvocationError = { type: e.type ?? e.name ?? 'Error', message: e.message || fallback };
    if (e.code !== undefined && e.code !== null && typeof e.code !== 'object') out.code = String(e.code);
    if (e.stack && this.compiled) out.stack = mapStack(e.stack, this.compiled);
    return out;
  }

  /** What the process wrote to stdout itself (not through console, which is captured in the context). */
  private streamLog(level: LogLevel, chunk: string): void {
    if (this.ending) return;
    for (const line of chunk.split('\n')) if (line.trim()) this.addLog({ time: new Date().toISOString(), level, message: line.slice(0, MAX_LINE_CHARS) });
  }

  private addLog(line: LogLine): void {
    const size = Buffer.byteLength(line.message) + 40;
    if (this.logBytes + size > this.maxLogBytes) {
      this.dropped++;
      return;
    }
    this.logBytes += size;
    this.logs.push(line);
    this.spec.opts.onLog?.(line);
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10;
