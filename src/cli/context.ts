import type { Command } from 'commander';
import { ApiClient, resolveServiceUrl, resolveToken } from './client.js';

export interface GlobalOptions {
  url?: string;
  json?: boolean;
  token?: string;
}

/** The global options, from wherever on the command line they were given. */
export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

export function client(cmd: Command): ApiClient {
  const g = cmd.optsWithGlobals() as GlobalOptions & { data?: string };
  const url = resolveServiceUrl(g);
  return new ApiClient(url, resolveToken(g, url));
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
