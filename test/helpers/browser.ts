/**
 * Browser tests: playwright-core driving Debian's chromium (no browser
 * download). The console is built into dist/console once, when its sources
 * are newer than the build.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';

export const CHROMIUM = process.env.CONFIX_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = resolve('test-results/screenshots');

/** Why the browser tests cannot run here, or undefined. In CI a missing browser is an error, not a skip. */
export function browserMissing(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const msg = `chromium not found at ${CHROMIUM} (apt-get install -y chromium); the console's browser tests are skipped`;
  if (process.env.CI) throw new Error(msg);
  return msg;
}

function newest(dir: string): number {
  let t = 0;
  for (const f of readdirSync(dir, { recursive: true }) as string[]) t = Math.max(t, statSync(join(dir, f)).mtimeMs);
  return t;
}

/** Builds the console unless dist/console is newer than console/. */
export function ensureConsoleBuilt(): void {
  const index = resolve('dist/console/index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newest(resolve('console'))) return;
  execFileSync(process.execPath, [resolve('node_modules/vite/bin/vite.js'), 'build', '--config', 'console/vite.config.ts'], { stdio: 'pipe' });
}

export async function launch(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  mkdirSync(SCREENSHOTS, { recursive: true });
  // launch() starts chromium on a fresh temporary profile (user data dir) of its own.
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
