/**
 * `confix token create|list|revoke` and `confix get audit`: the API's tokens
 * (an admin's business) and the audit log of who did what.
 */
import { hostname, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { client, globals, print, printJson } from '../context.js';
import { table, time } from '../format.js';
import { intOption } from '../options.js';
import { parseDuration } from '../../util/duration.js';
import { hasEmbeddedStore, openExistingStore, pgdataDir, redactUrl, type Db } from '../../store/index.js';
import { lockDataDir } from '../../store/lock.js';
import { resolveExpiry, TokenStore, type Role } from '../../security/tokens.js';
import { AuditLog } from '../../security/audit.js';

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

/**
 * Creates a token with direct access to the store, not through the service:
 * how an admin who lost every admin token gets one back. An embedded store
 * can be opened by one process at a time, so its service must be stopped;
 * a PostgreSQL database may be in use. The audit log records it.
 */
async function createDirectly(
  name: string,
  role: string,
  expires: { expiresIn?: string; expiresAt?: string } | undefined,
  where: { data?: string; databaseUrl?: string },
): Promise<{ token: string; record: Awaited<ReturnType<TokenStore['create']>>['record']; store: string }> {
  if (where.data && where.databaseUrl) throw new Error('give --data or --database-url, not both');
  const expiresAt = resolveExpiry(expires ?? {});
  let unlock = () => {};
  let store: string;
  let db: Db;
  if (where.databaseUrl) {
    if (!/^postgres(ql)?:\/\//i.test(where.databaseUrl))
      throw new Error(`--database-url must be a PostgreSQL URL (postgres://user@host:5432/db), not "${redactUrl(where.databaseUrl)}"`);
    store = `the PostgreSQL database ${redactUrl(where.databaseUrl)}`;
    db = await openExistingStore({ databaseUrl: where.databaseUrl });
  } else {
    const dir = resolve(where.data!);
    store = `the embedded store in ${dir}`;
    if (!hasEmbeddedStore(dir))
      throw new Error(
        `there is no confix store in ${dir} (no ${pgdataDir(dir)}): give the data directory the service runs with (its --data, default ./.confix)`,
      );
    try {
      unlock = lockDataDir(dir);
    } catch (err) {
      let pid = '';
      try {
        pid = readFileSync(join(dir, 'service.lock'), 'utf8').trim();
      } catch {
        /* gone meanwhile */
      }
      throw new Error(
        `a running confix process${pid ? ` (pid ${pid})` : ''}, most likely its service, holds ${store}, and only one process can open an embedded store at a time (PGlite is single-process). ` +
          `Stop it (Ctrl-C where it runs${pid ? `, or kill ${pid}` : ''}) and run this again; or, while it runs, create the token through it with an admin token: \`confix token create ${name} --role ${role}\` without --data`,
        { cause: err },
      );
    }
    try {
      db = await openExistingStore({ dataDir: dir });
    } catch (err) {
      unlock();
      throw err;
    }
  }
  try {
    const by = userInfo().username;
    const created = await new TokenStore(db).create({ name, role: role as Role, expiresAt, createdBy: `direct:${by}` });
    await new AuditLog(db).record({
      tokenName: null,
      role: null,
      method: 'DIRECT',
      route: where.databaseUrl ? 'confix token create --database-url' : 'confix token create --data',
      target: { name },
      status: 201,
      outcome: 'ok',
      reason: `created with direct access to the store by ${by} on ${hostname()}`,
    });
    return { ...created, store };
  } finally {
    await db.close();
    unlock();
  }
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
the admin token file the service wrote on its first start and names in its
note (.confix/admin.token for the embedded store, .confix/admin-<store id>.token
for a PostgreSQL database).

Lost every admin token? On the machine with the data directory (the service
stopped) or with access to the database, make one without the service:
  confix token create rescue --role admin --data ./.confix
  confix token create rescue --role admin --database-url postgres://…`,
    );

  token
    .command('create <name>')
    .description('Create a token; it is printed once, on standard output, and never shown again')
    .requiredOption('--role <role>', 'viewer, operator or admin')
    .option('--expires <when>', 'a duration from now (30d, 12h) or an ISO 8601 date or time; default: never', expiresOption)
    .option(
      '--data <dir>',
      'not through the service: open the embedded store in this data directory directly (its service must be stopped); to recover admin access',
    )
    .option('--database-url <url>', 'not through the service: open this PostgreSQL database directly; to recover admin access')
    .addHelpText(
      'after',
      '\nExamples:\n  export CONFIX_TOKEN=$(confix token create ci-reader --role viewer --expires 90d)\n' +
        '  confix token create rescue --role admin --data ./.confix      # no admin token left: the service stopped, on its machine',
    )
    .action(
      async (name: string, o: { role: string; expires?: { expiresIn?: string; expiresAt?: string }; data?: string; databaseUrl?: string }, cmd: Command) => {
        if (o.data || o.databaseUrl) {
          const direct = await createDirectly(name, o.role, o.expires, o);
          if (globals(cmd).json) return printJson({ ...direct.record, token: direct.token });
          process.stderr.write(
            `created token "${direct.record.name}" (${direct.record.role}${direct.record.expiresAt ? `, expires ${time(direct.record.expiresAt)}` : ', never expires'}) directly in ${direct.store}; it is not shown again (give it to the CLI with CONFIX_TOKEN):\n`,
          );
          return print(direct.token);
        }
        const created = await client(cmd).post<TokenRecord & { token: string }>('/tokens', { name, role: o.role, ...o.expires });
        if (globals(cmd).json) return printJson(created);
        // The token alone on stdout (for $(…)); what it is on stderr.
        process.stderr.write(
          `created token "${created.name}" (${created.role}${created.expiresAt ? `, expires ${time(created.expiresAt)}` : ', never expires'}); it is not shown again:\n`,
        );
        print(created.token);
      },
    );

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
    .option('--by <name>', 'only the requests of the token with this name')
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
            Object.entries(e.target)
              .map(([k, v]) => `${k}=${v}`)
              .join(' '),
            e.status,
            e.outcome + (e.reason && e.outcome !== 'ok' ? ` (${e.reason})` : ''),
          ]),
        ),
      );
    });
}
