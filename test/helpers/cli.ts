/** Runs the real CLI as a user would: from source through tsx, or the compiled dist/ when the test command built it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * The node arguments that start the CLI. `npm test` (scripts/test.mjs) compiles
 * dist/ first and sets CONFIX_TEST_CLI=dist: a compiled start takes about half a
 * second instead of two under tsx, and the suite starts the CLI hundreds of
 * times. A test file run on its own uses the sources, so it never runs a stale build.
 */
export const CLI: string[] =
  process.env.CONFIX_TEST_CLI === 'dist'
    ? [fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url))]
    : ['--import', 'tsx', fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))];

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `confix ARGS…` with the environment given (NO_COLOR, and no CONFIX_URL/CONFIX_TOKEN of the caller's), stdin from `input`. */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...CLI, ...args], { env: { ...process.env, NO_COLOR: '1', CONFIX_URL: '', CONFIX_TOKEN: '', ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    p.stdin.end(input ?? '');
  });
}

/** `confix --url SERVICE ARGS…` with the service's token, against a test service. */
export function cliFor(svc: { url: string; token: string }) {
  return (...args: string[]): Promise<CliResult> => runCli(['--url', svc.url, ...args], { CONFIX_TOKEN: svc.token });
}

export interface Serving {
  /** The service's base URL (without /api/v1). */
  url: string;
  /** What it printed to stdout so far. */
  stdout: () => string;
  /** SIGINT, then waits for it to exit. */
  stop: () => Promise<void>;
}

const serving = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of serving) p.kill('SIGKILL');
});

/** `confix serve|demo ARGS… --port 0 --discovery-interval 0` as a user starts it, until it says where it listens. */
export function startServing(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Serving> {
  return new Promise((ok, fail) => {
    const p = spawn(process.execPath, [...CLI, ...args, '--port', '0', '--discovery-interval', '0'], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    serving.add(p);
    let stdout = '';
    let stderr = '';
    const exited = new Promise<void>((done) => p.on('exit', () => done()));
    const timer = setTimeout(() => fail(new Error(`confix ${args.join(' ')} did not start:\n${stdout}\n${stderr}`)), 120_000);
    p.stderr!.on('data', (d) => (stderr += d));
    p.stdout!.on('data', (d) => {
      stdout += d;
      const m = /confix API listening on (http:\/\/\S+)\/api\/v1/.exec(stdout);
      if (m && /stop with Ctrl-C/.test(stdout)) {
        clearTimeout(timer);
        ok({
          url: m[1]!,
          stdout: () => stdout,
          async stop() {
            p.kill('SIGINT');
            await exited;
            serving.delete(p);
          },
        });
      }
    });
    p.on('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`confix ${args.join(' ')} exited ${code}:\n${stdout}\n${stderr}`));
    });
  });
}
