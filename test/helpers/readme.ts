/**
 * The README's own commands, for tests that run a walkthrough exactly as it
 * is printed (so they fail when the README drifts from what confix does).
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The commands of the first ```sh block after `marker` in a Markdown file
 * (the README by default): comments dropped, lines continued with `\` joined.
 */
export function readmeCommands(marker: string, file = join(ROOT, 'README.md')): string[] {
  const text = readFileSync(file, 'utf8');
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`${file} has no "${marker}"`);
  const block = /```sh\n([\s\S]*?)```/.exec(text.slice(at));
  if (!block) throw new Error(`${file} has no sh block after "${marker}"`);
  const out: string[] = [];
  let cur = '';
  for (const raw of block[1]!.split('\n')) {
    const line = stripComment(raw);
    if (!line.trim()) continue;
    if (line.endsWith('\\')) cur += line.slice(0, -1) + ' ';
    else {
      out.push((cur + line).trim());
      cur = '';
    }
  }
  return out;
}

/** The line without a shell comment (a # at the start or after a blank, outside quotes). */
function stripComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i).trimEnd();
  }
  return line.trimEnd();
}

let shimDir: string | undefined;
/** A folder with a `confix` that runs the CLI from source (what `npx confix` runs once built). */
function shim(): string {
  if (shimDir) return shimDir;
  shimDir = mkdtempSync(join(tmpdir(), 'confix-shim-'));
  const bin = join(shimDir, 'confix');
  writeFileSync(bin, `#!/bin/sh\nexec "${process.execPath}" --import "${join(ROOT, 'node_modules/tsx/dist/esm/index.mjs')}" "${join(ROOT, 'src/cli/main.ts')}" "$@"\n`);
  chmodSync(bin, 0o755);
  return shimDir;
}

export interface ShellResult {
  command: string;
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one README command line in bash from `cwd` (the repository by default), `npx confix` being the CLI from source. */
export function runReadmeCommand(command: string, env: Record<string, string | undefined> = {}, cwd = ROOT): Promise<ShellResult> {
  return new Promise((resolve, reject) => {
    const p = spawn('bash', ['-o', 'pipefail', '-c', command.replace(/\bnpx confix\b/g, 'confix')], {
      cwd,
      env: { ...process.env, NO_COLOR: '1', CONFIX_URL: '', CONFIX_TOKEN: '', ...env, PATH: `${shim()}:${process.env.PATH}` },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ command, code: code ?? -1, stdout, stderr }));
    p.stdin.end();
  });
}
