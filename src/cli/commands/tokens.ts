/**
 * `confix token create|list|revoke` and `confix get audit`: the API's tokens
 * (an admin's business) and the audit log of who did what.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { client, globals, print, printJson } from '../context.js';
import { table, time } from '../format.js';
import { intOption } from '../options.js';
import { parseDuration } from '../../util/duration.js';

interface TokenRecord {
  id: string;
  name: string;
  role: string;
  createdAt: string;
  createdBy: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  state: string;
}

interface AuditEntry {
  id: number;
  time: string;
  tokenName: string | null;
  role: string | null;
  method: string;
  route: string;
  target: Record<string, string>;
  status: number;
  outcome: string;
  reason: string | null;
}

function expiresOption(value: string): { expiresIn?: string; expiresAt?: string } {
  if (parseDuration(value)) return { expiresIn: value };
  if (/^\d{4}-\d{2}-\d{2}/.test(value) && !Number.isNaN(Date.parse(value))) return { expiresAt: value };
  throw new InvalidArgumentError('--expires is a duration (30d, 12h, 15m, 2w) or an ISO 8601 date or time (2026-12-31, 2026-12-31T18:00:00Z)');
}

export function tokenCommands(program: Command, get: Command) {
  const token = program
    .command('token')
    .description('API tokens: create (shown once), list, revoke; each has a role: viewer, operator or admin')
    .addHelpText(
      'after',
      `
Roles: viewer reads everything (no answer holds a secret); operator also
re-evaluates, remediates, rolls back, approves, manages exceptions, invokes
functions and redelivers; admin also changes rules, remediation settings,
accounts, credentials, functions, topics, subscriptions, the sandbox, and
tokens. The CLI sends --token or CONFIX_TOKEN, else (on the service's machine)
the admin token the service wrote to .confix/admin.token on its first start.`,
    );

  token
    .command('create <name>')
    .description('Create a token; it is printed once, on standard output, and never shown again')
    .requiredOption('--role <role>', 'viewer, operator or admin')
    .option('--expires <when>', 'a duration from now (30d, 12h) or an ISO 8601 date or time; default: never', expiresOption)
    .addHelpText('after', '\nExample:\n  export CONFIX_TOKEN=$(confix token create ci-reader --role viewer --expires 90d)')
    .action(async (name: string, o: { role: string; expires?: { expiresIn?: string; expiresAt?: string } }, cmd: Command) => {
      const created = await client(cmd).post<TokenRecord & { token: string }>('/tokens', { name, role: o.role, ...o.expires });
      if (globals(cmd).json) return printJson(created);
      // The token alone on stdout (for $(…)); what it is on stderr.
      process.stderr.write(
        `created token "${created.name}" (${created.role}${created.expiresAt ? `, expires ${time(created.expiresAt)}` : ', never expires'}); it is not shown again:\n`,
      );
      print(created.token);
    });

  token
    .command('list')
    .description('Tokens with their roles, expiry and last use (never a secret)')
    .option('--all', "also functions' ended per-invocation tokens (fn:…)")
    .action(async (o: { all?: boolean }, cmd: Command) => {
      const { items } = await client(cmd).get<{ items: TokenRecord[] }>('/tokens', { all: o.all ? 'true' : undefined });
      if (globals(cmd).json) return printJson(items);
      print(
        table(
          ['NAME', 'ROLE', 'STATE', 'CREATED', 'BY', 'EXPIRES', 'LAST USED'],
          items.map((t) => [t.name, t.role, t.state, time(t.createdAt), t.createdBy, t.expiresAt ? time(t.expiresAt) : 'never', time(t.lastUsedAt)]),
        ),
      );
    });

  token
    .command('revoke <name>')
    .description('Revoke a token (by name or id): it is refused from now on')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const t = await client(cmd).delete<TokenRecord>(`/tokens/${encodeURIComponent(name)}`);
      if (globals(cmd).json) return printJson(t);
      print(`revoked token "${t.name}" (${t.role})`);
    });

  get
    .command('audit')
    .description('The audit log, newest first: every change and every refused request, with the token, route, target and outcome')
    .option('--limit <n>', 'how many entries (default 100)', intOption('--limit', 1, 1000))
    .option('--by <name>', "only the requests of the token with this name")
    .option('--outcome <outcome>', 'ok, denied or error')
    .action(async (o: { limit?: number; by?: string; outcome?: string }, cmd: Command) => {
      const { items } = await client(cmd).get<{ items: AuditEntry[] }>('/audit', { limit: o.limit, token: o.by, outcome: o.outcome });
      if (globals(cmd).json) return printJson(items);
      print(
        table(
          ['TIME', 'TOKEN', 'ROLE', 'METHOD', 'ROUTE', 'TARGET', 'STATUS', 'OUTCOME'],
          items.map((e) => [
            time(e.time),
            e.tokenName ?? '(none)',
            e.role,
            e.method,
            e.route,
            Object.entries(e.target).map(([k, v]) => `${k}=${v}`).join(' '),
            e.status,
            e.outcome + (e.reason && e.outcome !== 'ok' ? ` (${e.reason})` : ''),
          ]),
        ),
      );
    });
}
