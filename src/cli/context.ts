import type { Command } from 'commander';
import { ApiClient, resolveService, resolveToken } from './client.js';

export interface GlobalOptions {
  url?: string;
  json?: boolean;
  token?: string;
}

/** The global options, from wherever on the command line they were given. */
export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

/**
 * The client of the service this command talks to (found as resolveService
 * says). CONFIX_DEBUG=1 writes to stderr which service and which token.
 */
export function client(cmd: Command): ApiClient {
  const g = cmd.optsWithGlobals() as GlobalOptions & { data?: string };
  const target = resolveService(g);
  const auth = resolveToken(g, target.url, target.location);
  if (process.env.CONFIX_DEBUG && process.env.CONFIX_DEBUG !== '0')
    process.stderr.write(`confix: debug: the service at ${target.url} (${target.from}); token: ${auth.source ?? `none found (looked in ${auth.lookedIn})`}\n`);
  return new ApiClient(target.url, auth, target.from);
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
