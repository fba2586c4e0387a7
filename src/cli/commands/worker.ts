/**
 * `confix worker`: remediation workers only — no API, no change following, no
 * scheduler — on a PostgreSQL database shared with `confix serve` and other
 * workers. Executions are claimed with FOR UPDATE SKIP LOCKED and a lease, so
 * any number of worker processes can share the queue, and the executions of a
 * worker that dies are taken over by the others once their lease runs out.
 */
import type { Command } from 'commander';
import { openStore, redactUrl } from '../../store/index.js';
import { createEngine } from '../../engine.js';
import { createLogger } from '../../util/log.js';
import { describeKeySource, loadSecretBox } from '../../security/secret-box.js';
import { intOption } from '../options.js';

interface WorkerCommandOptions {
  databaseUrl?: string;
  database?: string;
  concurrency: number;
  leaseSeconds: number;
  pollMs: number;
}

async function run(o: WorkerCommandOptions): Promise<void> {
  const databaseUrl = o.databaseUrl ?? o.database ?? process.env.CONFIX_DATABASE_URL;
  if (!databaseUrl)
    throw new Error(
      'a worker needs a PostgreSQL server shared with the service: give --database-url postgres://… (or CONFIX_DATABASE_URL). ' +
        'The embedded PGlite store lives inside one process and cannot be shared; run `confix serve` alone for that',
    );
  if (!/^postgres(ql)?:\/\//i.test(databaseUrl))
    throw new Error('the database must be a PostgreSQL URL (postgres://user@host:5432/db); a worker cannot use an embedded PGlite data directory, which only one process can open');

  // The key sealing the stored credentials, shared with the service: it must be
  // given (CONFIX_SECRET_KEY or CONFIX_SECRET_KEY_FILE); a worker never generates one.
  const secrets = loadSecretBox();
  const log = createLogger();
  process.stdout.write(`confix: opening PostgreSQL server ${redactUrl(databaseUrl)}…\n`);
  const db = await openStore({ databaseUrl });
  log.info('store open', { store: 'PostgreSQL server' });
  log.info(`stored credentials are sealed with ${describeKeySource(secrets)}`, { keyId: secrets.box.keyId });
  const engine = createEngine(db, {
    log,
    secretBox: secrets.box,
    worker: { concurrency: o.concurrency, leaseMs: o.leaseSeconds * 1000, pollMs: o.pollMs },
  });
  const { worker, executions } = engine;

  let stopping = false;

  worker.start();
  log.info('worker started', { owner: worker.owner, concurrency: o.concurrency, leaseSeconds: o.leaseSeconds, pollMs: o.pollMs });
  process.stdout.write(
    `confix worker ${worker.owner}: running up to ${o.concurrency} remediation executions at once ` +
      `(lease ${o.leaseSeconds} s, polling every ${o.pollMs} ms)\n` +
      `  stop with Ctrl-C: executions under way finish first (Ctrl-C again to stop at once)\n`,
  );

  // The worker's own timers do not keep the process alive; this does, until stopped.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  await new Promise<void>((done) => {
    const stop = async (signal: NodeJS.Signals) => {
      if (stopping) {
        process.stderr.write(
          `confix worker: stopping at once (${signal}); executions under way are taken over by another worker once their lease runs out (${o.leaseSeconds} s)\n`,
        );
        process.exit(130);
      }
      stopping = true;
      log.info('stopping: finishing the executions under way', { signal });
      try {
        await worker.stop(); // waits for a claim under way, then for what it runs
        await db.close();
        log.info('stopped', { owner: worker.owner });
      } catch (err) {
        log.error('stopping failed', { err: err as Error });
        process.exitCode = 1;
      }
      clearInterval(keepAlive);
      done();
    };
    process.on('SIGINT', (s) => void stop(s));
    process.on('SIGTERM', (s) => void stop(s));
  });
}

export function workerCommand(program: Command) {
  program
    .command('worker')
    .description(
      'Run remediation workers only (no API, no change following, no scheduler) on a PostgreSQL database shared with `confix serve` and other workers',
    )
    .option('--database-url <url>', 'the shared PostgreSQL server (or CONFIX_DATABASE_URL); the embedded store cannot be shared')
    .option('--database <url>', 'same as --database-url')
    .option('--concurrency <n>', 'executions this worker runs at once', intOption('--concurrency', 1, 1000), 4)
    .option(
      '--lease-seconds <s>',
      'how long a claimed execution stays this worker\'s without progress; after that another worker takes it over. ' +
        'Keep it well above the slowest provider call',
      intOption('--lease-seconds', 1, 86_400),
      30,
    )
    .option('--poll-ms <ms>', 'how often to look for due executions', intOption('--poll-ms', 10, 600_000), 500)
    .addHelpText(
      'after',
      `
Every worker claims due executions from the shared queue (FOR UPDATE SKIP
LOCKED), so each execution runs on one worker at a time; start as many as you
like, on any machines that reach the database. The service (\`confix serve
--database-url …\`) still queues executions, follows changes and serves the API.
A worker that dies leaves its executions IN_PROGRESS; once their lease runs out
another worker takes them over and starts them again from re-reading the
resource, so a fix that already landed ends as "already compliant".

A schema other than the user's default is chosen in the URL, as libpq does:
  postgres://confix@db:5432/confix?options=-c%20search_path%3Dconfix

Examples:
  confix worker --database-url postgres://confix@127.0.0.1:5432/confix
  CONFIX_DATABASE_URL=postgres://… confix worker --concurrency 16 --lease-seconds 60`,
    )
    .action((o: WorkerCommandOptions) => run(o));
}
