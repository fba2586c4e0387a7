/** The confix command line. Everything that reads or changes state goes through the service's API. */
import { Command, CommanderError } from 'commander';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { VERSION } from '../version.js';
import { serveCommand } from './commands/serve.js';
import { workerCommand } from './commands/worker.js';
import { inventoryCommands } from './commands/inventory.js';
import { sandboxCommands } from './commands/sandbox.js';
import { ruleCommands } from './commands/rules.js';
import { scanCommand } from './commands/scan.js';
import { remediationCommands } from './commands/remediation.js';
import { functionCommands } from './commands/functions.js';
import { credentialCommands } from './commands/credentials.js';
import { accountCommands } from './commands/accounts.js';
import { eventCommands } from './commands/events.js';
import { tokenCommands } from './commands/tokens.js';
import { deleteCommands } from './commands/delete.js';
import { awsCommands } from './commands/aws.js';

export function buildProgram(): Command {
  const program = new Command('confix')
    .description('Continuous cloud compliance and automatic remediation, self-hosted')
    .version(VERSION)
    .option('--url <url>', "the confix service (default: CONFIX_URL, the running service's note in .confix/, or http://127.0.0.1:8080)")
    .option(
      '--token <token>',
      "the API token (default: CONFIX_TOKEN, or on the service's machine the admin token file .confix/admin.token); prefer CONFIX_TOKEN, a command line is kept in shell history",
    )
    .option('--json', 'print JSON for scripts instead of tables')
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ showGlobalOptions: true })
    .exitOverride(); // inherited by every subcommand: main() decides the exit status
  serveCommand(program);
  workerCommand(program);
  const get = program
    .command('get')
    .description(
      'Show things: resources, accounts, the organization, account groups, rules, compliance, executions, topics, subscriptions, deliveries, events, functions, invocations, the audit log',
    );
  inventoryCommands(program, get);
  accountCommands(program, get);
  ruleCommands(program, get);
  remediationCommands(program, get);
  functionCommands(program, get);
  eventCommands(program, get);
  credentialCommands(program);
  tokenCommands(program, get);
  deleteCommands(program);
  scanCommand(program);
  awsCommands(program);
  sandboxCommands(program);
  return program;
}

export async function main(argv = process.argv): Promise<number> {
  // A reader that stopped reading (`confix get … | head`) is not an error: stop quietly, as Unix tools do.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode; // commander already printed it (help, version, usage errors)
    process.stderr.write(`confix: ${(err as Error).message}\n`);
    return 1;
  }
}

/** Started as the CLI (this file, or bin/confix.js importing the built one), not imported (a test reading buildProgram). */
function startedAsCli(): boolean {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return p;
    }
  };
  const entry = process.argv[1];
  if (!entry) return false;
  const path = real(entry);
  return path === real(fileURLToPath(import.meta.url)) || /[\\/]bin[\\/]confix(\.js)?$/.test(path);
}

if (startedAsCli()) {
  const code = await main();
  if (code !== 0 || !(process.argv.includes('serve') || process.argv.includes('demo'))) process.exitCode = code;
}
