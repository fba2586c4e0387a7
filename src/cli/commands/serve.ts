import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { startService } from '../../service.js';
import { loadConfig } from '../../providers/index.js';
import { describeStore, redactUrl } from '../../store/index.js';
import { createLogger } from '../../util/log.js';
import { intOption } from '../options.js';
import { startDrift } from '../../providers/index.js';
import type { ComplianceChange } from '../../evaluation/evaluator.js';
import pc from 'picocolors';

interface ServeOptions {
  data: string;
  databaseUrl?: string;
  port: number;
  host: string;
  demo: boolean;
  discoveryInterval: number;
  drift?: boolean;
  driftEvery?: number;
  worker: boolean;
  config?: string;
}

function serveOptions(cmd: Command): Command {
  return cmd
    .option('--data <dir>', 'data directory of the embedded store', process.env.CONFIX_DATA ?? '.confix')
    .option('--database-url <url>', 'use this PostgreSQL server instead of the embedded store (or CONFIX_DATABASE_URL)')
    .option('--port <n>', 'port to listen on', intOption('--port', 0, 65535), 8080)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--discovery-interval <seconds>', 'seconds between full snapshots (0: only at start)', intOption('--discovery-interval', 0), 3600)
    .option('--config <file>', 'the clouds to govern (default ./confix.yaml when present, else the sandbox alone)')
    .option(
      '--no-worker',
      'run no remediation executions, invocations or deliveries here: leave them to `confix worker` processes on the same PostgreSQL database',
    );
}

async function run(o: ServeOptions, live: boolean): Promise<void> {
  const databaseUrl = o.databaseUrl ?? process.env.CONFIX_DATABASE_URL;
  const log = createLogger(live ? { level: 'warn' } : {});
  const store = databaseUrl ? `PostgreSQL server ${redactUrl(databaseUrl)}` : describeStore({ dataDir: o.data });
  process.stdout.write(`confix: opening ${store}…\n`);
  const { config, file: configFile } = loadConfig(o.config);
  if (configFile) process.stdout.write(`confix: governing ${config.providers.map((p) => p.name ?? p.type).join(', ')} (${configFile})\n`);
  const svc = await startService({
    config,
    dataDir: o.data,
    databaseUrl,
    port: o.port,
    host: o.host,
    demo: o.demo,
    discoveryIntervalMs: o.discoveryInterval * 1000,
    workers: o.worker,
    log,
  });
  const summary = await svc.inventory.summary();
  process.stdout.write(
    `confix API listening on ${svc.url}/api/v1  (OpenAPI: ${svc.url}/api/v1/openapi.json)\n` +
      `  console: open ${svc.url}/ in a browser\n` +
      (svc.hasAdminTokenFile && existsSync(svc.adminTokenFile)
        ? `  API token: the admin token is in ${svc.adminTokenFile} (the CLI here finds it by itself; paste it to sign in to the console)\n`
        : `  API token: give the CLI one with CONFIX_TOKEN (an admin makes them with \`confix token create\`; ${recovery(o, databaseUrl)})\n`) +
      // Said once, on the first start, whatever the log level (the demo's log is quiet).
      (svc.secretKey?.source === 'generated'
        ? `  secret key: generated ${svc.secretKey.file} (mode 0600); it seals the cloud credentials you store: keep it with the data directory, they cannot be opened without it\n`
        : '') +
      (o.worker ? '' : `  workers: none here (--no-worker); run \`confix worker\` on the same database to execute remediations, functions and deliveries\n`) +
      `  ${summary.total} resources recorded in ${Object.keys(summary.byAccount).length} accounts; try: npx confix get resources\n` +
      `  stop with Ctrl-C\n`,
  );
  let stopDrift = () => {};
  if (live) {
    // Say what happens, as it happens: results changing, executions ending.
    svc.evaluator.on('compliance-change', (c: ComplianceChange) => {
      if (c.current === 'NON_COMPLIANT') process.stdout.write(pc.red(`  ⚠ ${c.ruleName}: ${c.resourceId} is NON_COMPLIANT: ${c.annotation}\n`));
      else if (c.current === 'COMPLIANT' && c.previous === 'NON_COMPLIANT')
        process.stdout.write(pc.green(`  ✓ ${c.ruleName}: ${c.resourceId} is COMPLIANT again\n`));
    });
    if (o.drift !== false) {
      const every = (o.driftEvery ?? 8) * 1000;
      process.stdout.write(`  drift: every ${every / 1000} s a random resource is broken the way people do (--no-drift turns it off)\n`);
      stopDrift = startDrift(svc, {
        everyMs: every,
        onDrift: (e) => process.stdout.write(pc.yellow(`drift: ${e.what} on ${e.resourceType} ${e.resourceId}\n`)),
        onError: (err) => log.error('drift failed', { err }),
      });
    }
  }
  let stopping = false;
  const stop = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    stopDrift();
    log.info('stopping', { signal: sig });
    await svc.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

/** How to get admin access back without any admin token: with direct access to the store. */
function recovery(o: ServeOptions, databaseUrl: string | undefined): string {
  return databaseUrl
    ? 'without any, make an admin token with `confix token create NAME --role admin --database-url URL`'
    : `without any, stop the service and make an admin token with \`confix token create NAME --role admin --data ${o.data}\``;
}

export function serveCommand(program: Command) {
  serveOptions(program.command('serve').description('Run the confix service: it owns the store, records the sandbox cloud and serves the API on 127.0.0.1'))
    .option('--no-demo', 'do not load the demo estate and example policies into an empty store')
    .action((o: ServeOptions) => run(o, false));

  serveOptions(
    program
      .command('demo')
      .description(
        "The live demo: the service with the demo estate and the examples' rules and remediations, and every few seconds a resource broken the way people do, so you watch detection and remediation happen",
      ),
  )
    .option('--no-drift', 'do not break resources')
    .option('--drift-every <seconds>', 'seconds between breakages', intOption('--drift-every', 1, 3600), 8)
    .action((o: ServeOptions) => run({ ...o, demo: true }, true));
}
