import pc from 'picocolors';
/**
 * `confix credentials`: the engine's access keys, one per account. A secret is
 * read from standard input, a file or CONFIX_ACCESS_KEY_SECRET, never from the
 * command line (it would land in the shell history and the process list), and
 * is never printed.
 */
import { Option, type Command } from 'commander';
import { readFileSync } from 'node:fs';
import { client, globals, print, printJson } from '../context.js';
import { table, time } from '../format.js';

interface Credential {
  accountId: string;
  accessKeyId: string;
  description: string | null;
  createdAt: string;
  updatedAt: string;
  /** The cloud did not accept the key. */
  warning?: string;
}

interface AddOptions {
  account: string;
  accessKeyId: string;
  secretStdin?: boolean;
  secretFile?: string;
  description?: string;
  secret?: string;
  accessKeySecret?: string;
  secretKey?: string;
}

const ON_COMMAND_LINE =
  'refusing a secret given on the command line: it would be kept in your shell history and shown in the process list. ' +
  'Give it with --secret-stdin (piped, or typed without echo), --secret-file FILE, or the CONFIX_ACCESS_KEY_SECRET environment variable';

/** Strips the line end a file or `echo` adds; anything else is left for the service to judge. */
function stripLineEnd(s: string): string {
  return s.replace(/[\r\n]+$/, '');
}

async function readStdin(): Promise<string> {
  const stdin = process.stdin;
  if (stdin.isTTY) return readHidden('access key secret (not shown): ');
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads one line from the terminal without echoing it. */
function readHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((ok, fail) => {
    let s = '';
    const finish = () => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
    };
    const onData = (data: string) => {
      for (const ch of data) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          finish();
          return ok(s);
        }
        if (ch === '\u0003') {
          finish();
          return fail(new Error('cancelled'));
        }
        if (ch === '\u007f' || ch === '\b') s = s.slice(0, -1);
        else s += ch;
      }
    };
    stdin.on('data', onData);
  });
}

async function secretFrom(o: AddOptions, extra: string[]): Promise<string> {
  if (o.secret !== undefined || o.accessKeySecret !== undefined || o.secretKey !== undefined || extra.length > 0) throw new Error(ON_COMMAND_LINE);
  if (o.secretStdin && o.secretFile) throw new Error('give the secret one way: --secret-stdin or --secret-file, not both');
  let secret: string;
  if (o.secretStdin) secret = stripLineEnd(await readStdin());
  else if (o.secretFile !== undefined) {
    try {
      secret = stripLineEnd(readFileSync(o.secretFile, 'utf8'));
    } catch (err) {
      // The path is not repeated: it might be the secret, typed where the path goes.
      const code = (err as NodeJS.ErrnoException).code;
      throw new Error(
        `cannot read the file given with --secret-file (${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? 'error')})`,
      );
    }
  } else if (process.env.CONFIX_ACCESS_KEY_SECRET) secret = stripLineEnd(process.env.CONFIX_ACCESS_KEY_SECRET);
  else
    throw new Error('no secret given: use --secret-stdin, --secret-file FILE, or set CONFIX_ACCESS_KEY_SECRET (a secret is never taken from the command line)');
  if (!secret)
    throw new Error(
      o.secretStdin ? 'standard input held no secret' : o.secretFile !== undefined ? 'the secret file is empty' : 'CONFIX_ACCESS_KEY_SECRET is empty',
    );
  return secret;
}

export function credentialCommands(program: Command) {
  const credentials = program
    .command('credentials')
    .description("The engine's access keys for the clouds' APIs, one per account; kept sealed, never shown")
    .addHelpText(
      'after',
      `
Secrets are sealed (AES-256-GCM) before they are stored, with the key from
CONFIX_SECRET_KEY, CONFIX_SECRET_KEY_FILE, or (embedded store only) the key the
service generated in its data directory (secret.key). No command, response or
log line shows a secret again.`,
    );

  credentials
    .command('add')
    .description("Store an account's access key (replacing the one it had)")
    .requiredOption('--account <id>', 'the account the key belongs to')
    .requiredOption('--access-key-id <id>', 'the access key id (shown in listings)')
    .option('--secret-stdin', 'read the secret from standard input (piped, or typed without echo on a terminal)')
    .option('--secret-file <file>', 'read the secret from this file (one line)')
    .option('--description <text>', 'what the key is for, who made it')
    .addOption(new Option('--secret <value>').hideHelp())
    .addOption(new Option('--access-key-secret <value>').hideHelp())
    .addOption(new Option('--secret-key <value>').hideHelp())
    .allowExcessArguments(true)
    .addHelpText(
      'after',
      `
The secret is never taken from the command line, where it would stay in your
shell history and show in the process list: give it with --secret-stdin,
--secret-file, or the CONFIX_ACCESS_KEY_SECRET environment variable.

Examples:
  confix credentials add --account 100931896542 --access-key-id LTAI5t... --secret-stdin < secret.txt
  pass show cloud/ram-confix | confix credentials add --account 100931896542 --access-key-id LTAI5t... --secret-stdin
  confix credentials add --account 100931896542 --access-key-id LTAI5t... --secret-file ~/.confix-secret`,
    )
    .action(async (o: AddOptions, cmd: Command) => {
      const accessKeySecret = await secretFrom(o, cmd.args);
      const c = await client(cmd).post<Credential>('/credentials', {
        accountId: o.account,
        accessKeyId: o.accessKeyId,
        accessKeySecret,
        ...(o.description !== undefined ? { description: o.description } : {}),
      });
      if (globals(cmd).json) return printJson(c);
      print(`stored access key ${c.accessKeyId} for account ${c.accountId} (sealed; the secret is not shown again)`);
      if (c.warning) process.stderr.write(`${pc.yellow('warning')}: ${c.warning}\n`);
    });

  credentials
    .command('list')
    .description('The stored access keys: account, key id and description, never the secret')
    .addHelpText('after', '\nAdd --json for JSON.')
    .action(async (_o: unknown, cmd: Command) => {
      const { items } = await client(cmd).get<{ items: Credential[] }>('/credentials');
      if (globals(cmd).json) return printJson(items);
      if (!items.length) return print('no credentials stored; add one with `confix credentials add`');
      print(
        table(
          ['ACCOUNT', 'ACCESS KEY ID', 'DESCRIPTION', 'UPDATED'],
          items.map((c) => [c.accountId, c.accessKeyId, c.description ?? '', time(c.updatedAt)]),
        ),
      );
    });

  credentials
    .command('remove')
    .description("Remove an account's access key")
    .requiredOption('--account <id>', 'the account')
    .action(async (o: { account: string }, cmd: Command) => {
      const res = await client(cmd).delete<{ removed: boolean; accountId: string }>(`/credentials/${encodeURIComponent(o.account)}`);
      if (globals(cmd).json) return printJson(res);
      print(`removed the access key of account ${o.account}`);
    });
}
