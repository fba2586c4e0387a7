import type { Command } from 'commander';
import { startService } from '../../service.js';
import { describeStore, redactUrl } from '../../store/index.js';
import { createLogger } from '../../util/log.js';
import { intOption } from '../options.js';

export function serveCommand(program: Command) {
  program
    .command('serve')
    .description('Run the confix service: it owns the store, records the sandbox cloud and serves the API on 127.0.0.1')
    .option('--data <dir>', 'data directory of the embedded store', process.env.CONFIX_DATA ?? '.confix')
    .option('--database-url <url>', 'use this PostgreSQL server instead of the embedded store (or CONFIX_DATABASE_URL)')
    .option('--port <n>', 'port to listen on', intOption('--port', 0, 65535), 8080)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--no-demo', 'do not load the demo estate into an empty sandbox')
    .option('--discovery-interval <seconds>', 'seconds between full snapshots (0: only at start)', intOption('--discovery-interval', 0), 3600)
    .action(async (o: { data: string; databaseUrl?: string; port: number; host: string; demo: boolean; discoveryInterval: number }) => {
      const databaseUrl = o.databaseUrl ?? process.env.CONFIX_DATABASE_URL;
      const log = createLogger();
      const store = databaseUrl ? `PostgreSQL server ${redactUrl(databaseUrl)}` : describeStore({ dataDir: o.data });
      process.stdout.write(`confix: opening ${store}…\n`);
      const svc = await startService({
        dataDir: o.data,
        databaseUrl,
        port: o.port,
        host: o.host,
        demo: o.demo,
        discoveryIntervalMs: o.discoveryInterval * 1000,
        log,
      });
      const summary = await svc.inventory.summary();
      process.stdout.write(
        `confix API listening on ${svc.url}/api/v1  (OpenAPI: ${svc.url}/api/v1/openapi.json)\n` +
          `  ${summary.total} resources recorded in ${Object.keys(summary.byAccount).length} accounts; try: npx confix get resources\n` +
          `  stop with Ctrl-C\n`,
      );
      let stopping = false;
      const stop = async (sig: string) => {
        if (stopping) return;
        stopping = true;
        log.info('stopping', { signal: sig });
        await svc.close();
        process.exit(0);
      };
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));
    });
}
