/** Runs the real CLI (from source, through tsx) as a user would. */
import { spawn } from 'node:child_process';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `confix ARGS…` with the environment given (NO_COLOR, and no CONFIX_URL/CONFIX_TOKEN of the caller's), stdin from `input`. */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env: { ...process.env, NO_COLOR: '1', CONFIX_URL: '', CONFIX_TOKEN: '', ...env } });
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
