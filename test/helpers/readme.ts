/**
 * The README's own commands, for tests that run a walkthrough exactly as it
 * is printed (so they fail when the README drifts from what confix does).
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI } from './cli.js';

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
  writeFileSync(
    bin,
    `#!/bin/sh\nexec "${process.execPath}" ${CLI.map((a) => `"${a.replace(/^tsx$/, join(ROOT, 'node_modules/tsx/dist/esm/index.mjs'))}"`).join(' ')} "$@"\n`,
  );
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

/**
 * Runs README command lines one after the other, as a reader pastes them;
 * throws at the first that does not exit 0, naming it with its output.
 */
export async function runReadmeCommands(commands: string[], env: Record<string, string | undefined> = {}, cwd = ROOT): Promise<ShellResult[]> {
  const out: ShellResult[] = [];
  for (const command of commands) {
    const r = await runReadmeCommand(command, env, cwd);
    if (r.code !== 0) throw new Error(`README command exited ${r.code}: ${command}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
    out.push(r);
  }
  return out;
}

/** The output of the README command that starts with `prefix` (after `npx confix `), for asserting what its comment promises. */
export function outputOf(results: ShellResult[], prefix: string): string {
  const r = results.find((x) => x.command.replace(/^npx confix /, '').startsWith(prefix));
  if (!r) throw new Error(`no README command starts with "${prefix}"; ran:\n${results.map((x) => x.command).join('\n')}`);
  return r.stdout;
}

/**
 * The first `inline code` in a Markdown file that starts with `prefix`
 * (line breaks and runs of blanks as one blank), for checking that output
 * the README quotes is what the command prints.
 */
export function readmeQuote(prefix: string, file = join(ROOT, 'README.md')): string {
  const text = readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```/gm, ''); // inline code only, not the blocks
  for (const m of text.matchAll(/`([^`]+)`/g)) {
    const quoted = m[1]!.replace(/\s+/g, ' ');
    if (quoted.startsWith(prefix)) return quoted;
  }
  throw new Error(`${file} quotes nothing starting with "${prefix}"`);
}

/** Text with line breaks and runs of blanks as one blank, to find a quote from readmeQuote in a command's output. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ');
}

/**
 * Checks a walkthrough's "a store of its own" block (the first sh block after
 * `marker`): `npx confix serve` with --no-demo and --data DIR (and any other
 * flags `confix serve --help` lists), then `export CONFIX_DATA=DIR`, so that
 * the CLI finds that service and its token. Answers DIR. The service itself
 * is not started (the walkthrough tests run on a test service).
 */
export async function checkOwnStoreBlock(marker: string, file: string): Promise<string> {
  const [serve, point, ...rest] = readmeCommands(marker, file);
  const data = /^npx confix serve --no-demo (?:.* )?--data (\S+)(?: |$)/.exec(serve ?? '')?.[1];
  if (!data || point !== `export CONFIX_DATA=${data}` || rest.length)
    throw new Error(
      `${file}: expected \`npx confix serve --no-demo … --data DIR …\` then \`export CONFIX_DATA=DIR\` after "${marker}", found:\n${[serve, point, ...rest].join('\n')}`,
    );
  const help = await runReadmeCommand('npx confix serve --help');
  for (const flag of serve!.match(/--[a-z-]+/g)!) if (!help.stdout.includes(flag)) throw new Error(`${file}: \`confix serve\` has no ${flag}:\n${help.stdout}`);
  return data;
}
