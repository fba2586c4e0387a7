/**
 * `confix worker`: remediation and function workers only — no API, no change
 * following, no scheduler — on a PostgreSQL database shared with `confix
 * serve` and other workers. Executions and invocations are claimed with FOR
 * UPDATE SKIP LOCKED and a lease, so any number of worker processes can share
 * the queues, and the work of a worker that dies is taken over by the others
 * once its lease runs out. Functions reach confix's API (context.confix,
 * context.cloud) only when the service's address is given (--url or
 * CONFIX_URL): a worker has no API of its own and cannot guess where the
 * service listens.
 */
import type { Command } from 'commander';
import { globals } from '../context.js';
import { openStore, redactUrl } from '../../store/index.js';
import { createEngine } from '../../engine.js';
import { buildProviders, loadConfig } from '../../providers/index.js';
import { createLogger } from '../../util/log.js';
import { describeKeySource, loadSecretBox } from '../../security/secret-box.js';
import { intOption } from '../options.js';

interface WorkerCommandOptions {
  databaseUrl?: string;
  database?: string;
  concurrency: number;
  leaseSeconds: number;
  pollMs: number;
  functionConcurrency: number;
  config?: string;
}

/** The service's address, when it was given: --url or CONFIX_URL (a worker never guesses one). */
function serviceUrl(url: string | undefined): string | undefined {
  const u = url || process.env.CONFIX_URL;
  if (!u) return undefined;
  if (!/^https?:\/\/[^/]/i.test(u)) throw new Error(`--url / CONFIX_URL must be the service's http(s) address (http://confix:8080), not "${u}"`);
  return u.replace(/\/+$/, '');
}

async function run(o: WorkerCommandOptions, url: string | undefined): Promise<void> {
  const apiUrl = serviceUrl(url);
  const databaseUrl = o.databaseUrl ?? o.database ?? process.env.CONFIX_DATABASE_URL;
  if (!databaseUrl)
    throw new Error(
      'a worker needs a PostgreSQL server shared with the service: give --database-url postgres://… (or CONFIX_DATABASE_URL). ' +
        'The embedded PGlite store lives inside one process and cannot be shared; run `confix serve` alone for that',
    );
  if (!/^postgres(ql)?:\/\//i.test(databaseUrl))
    throw new Error(
      'the database must be a PostgreSQL URL (postgres://user@host:5432/db); a worker cannot use an embedded PGlite data directory, which only one process can open',
    );

  // The key sealing the stored credentials, shared with the service: it must be
  // given (CONFIX_SECRET_KEY or CONFIX_SECRET_KEY_FILE); a worker never generates one.
  const secrets = loadSecretBox();
  const log = createLogger();
  process.stdout.write(`confix: opening PostgreSQL server ${redactUrl(databaseUrl)}…\n`);
  const db = await openStore({ databaseUrl });
  log.info('store open', { store: 'PostgreSQL server' });
  log.info(`stored credentials are sealed with ${describeKeySource(secrets)}`, { keyId: secrets.box.keyId });
  // The same clouds as the service: an execution acts through its resource's provider.
  const { config } = loadConfig(o.config);
  const engine = createEngine(db, {
    log,
    providers: await buildProviders(config, log),
    secretBox: secrets.box,
    worker: { concurrency: o.concurrency, leaseMs: o.leaseSeconds * 1000, pollMs: o.pollMs },
    functionWorker: { concurrency: o.functionConcurrency, leaseMs: o.leaseSeconds * 1000, pollMs: o.pollMs },
  });
  const { worker, functionWorker } = engine;

  let stopping = false;

  worker.start();
  // Functions' context.confix and context.cloud call the service, when we know where it is.
  functionWorker.setApi(apiUrl ? { baseUrl: apiUrl } : undefined);
  functionWorker.start();
  log.info('worker started', { owner: worker.owner, concurrency: o.concurrency, leaseSeconds: o.leaseSeconds, pollMs: o.pollMs });
  log.info('function worker started', { owner: functionWorker.owner, concurrency: o.functionConcurrency, api: apiUrl ?? null });
  process.stdout.write(
    `confix worker ${worker.owner}: running up to ${o.concurrency} remediation executions at once ` +
      `(lease ${o.leaseSeconds} s, polling every ${o.pollMs} ms)\n` +
      `  and up to ${o.functionConcurrency} function invocations at once; ` +
      (apiUrl
        ? `functions call the confix API at ${apiUrl}\n`
        : `functions run without the confix API (context.confix and context.cloud fail): give --url or CONFIX_URL\n`) +
      `  stop with Ctrl-C: executions and invocations under way finish first (Ctrl-C again to stop at once)\n`,
  );

  // The worker's own timers do not keep the process alive; this does, until stopped.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  await new Promise<void>((done) => {
    const stop = async (signal: NodeJS.Signals) => {
      if (stopping) {
        process.stderr.write(
          `confix worker: stopping at once (${signal}); executions and invocations under way are taken over by another worker once their lease runs out (${o.leaseSeconds} s)\n`,
        );
        process.exit(130);
      }
      stopping = true;
      log.info('stopping: finishing the executions under way', { signal });
      try {
        // Each waits for a claim under way, then for what it runs.
        await Promise.all([worker.stop(), functionWorker.stop()]);
        await engine.providers.close();
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
      'Run remediation and function workers only (no API, no change following, no scheduler) on a PostgreSQL database shared with `confix serve` and other workers',
    )
    .option('--database-url <url>', 'the shared PostgreSQL server (or CONFIX_DATABASE_URL); the embedded store cannot be shared')
    .option('--database <url>', 'same as --database-url')
    .option('--config <file>', "the clouds it acts in, as the service's (default ./confix.yaml when present, else the sandbox alone)")
    .option('--concurrency <n>', 'executions this worker runs at once', intOption('--concurrency', 1, 1000), 4)
    .option(
      '--lease-seconds <s>',
      "how long a claimed execution stays this worker's without progress; after that another worker takes it over. " +
        'Keep it well above the slowest provider call',
      intOption('--lease-seconds', 1, 86_400),
      30,
    )
    .option('--poll-ms <ms>', 'how often to look for due executions and invocations', intOption('--poll-ms', 10, 600_000), 500)
    .option('--function-concurrency <n>', 'function invocations this worker runs at once (a process each)', intOption('--function-concurrency', 1, 1000), 4)
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

Function invocations are claimed the same way, each run in a process of its
own. Functions reach confix's API (context.confix, context.cloud) only when
the service's address is given with --url or CONFIX_URL: a worker serves no
API and cannot know where the service listens, so without one those calls
fail with NoEndpoint (the rest of the function runs as usual).

A schema other than the user's default is chosen in the URL, as libpq does:
  postgres://confix@db:5432/confix?options=-c%20search_path%3Dconfix

Examples:
  confix worker --database-url postgres://confix@127.0.0.1:5432/confix
  CONFIX_DATABASE_URL=postgres://… confix worker --concurrency 16 --lease-seconds 60
  confix worker --database-url postgres://… --url http://confix.internal:8080`,
    )
    .action((o: WorkerCommandOptions, cmd: Command) => run(o, globals(cmd).url));
}
