/**
 * The long-running service: owns the store, follows the providers' change
 * feeds, takes periodic snapshots and serves the HTTP API on loopback.
 */
import { createServer, type Server } from 'node:http';
import { writeFileSync, rmSync, existsSync, readFileSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getRequestListener } from '@hono/node-server';
import { openStore, describeStore, storeIdentity, type Db } from './store/index.js';
import { lockDataDir } from './store/lock.js';
import { readFile } from 'node:fs/promises';
import { parseEstateText } from './providers/index.js';
import { createApp } from './api/app.js';
import { applyPolicy } from './policy/plan.js';
import { readPolicyDocuments } from './policy/files.js';
import { attachAutoRemediation } from './remediation/auto.js';
import { createEngine, type Engine } from './engine.js';
import { createLogger, type Logger } from './util/log.js';
import { describeKeySource, loadSecretBox, type SecretBox, type SecretKeySource } from './security/secret-box.js';
import { auditRetentionDaysFromEnv, prune, retentionDaysFromEnv } from './store/retention.js';
import { adminTokenFile, ensureBootstrapAdmin } from './security/tokens.js';
import { buildProviders, DEFAULT_CONFIG, rediscoveryPeriods, type ConfixConfig } from './providers/index.js';

export interface ServiceOptions {
  dataDir?: string;
  databaseUrl?: string;
  host?: string;
  port?: number;
  /** Load the demo estate into an empty sandbox, and the example policies into an empty rule set (default true). */
  demo?: boolean;
  /** Milliseconds between checks for periodic rules that are due (0: never). Default 5 s. */
  schedulerMs?: number;
  /** Full snapshot interval in ms (0: never). Default one hour. */
  discoveryIntervalMs?: number;
  /** Days events and ended function invocations are kept (default CONFIX_RETENTION_DAYS, else 30); pruned hourly. */
  retentionDays?: number;
  /**
   * Run the remediation, function and delivery workers in the service (default
   * true). Without them the service queues work for `confix worker` processes
   * sharing its PostgreSQL database (an embedded store has no one else to run it).
   */
  workers?: boolean;
  /** The clouds to govern (confix.yaml); default the sandbox alone. */
  config?: ConfixConfig;
  /** Days the audit log is kept (default CONFIX_AUDIT_RETENTION_DAYS, else 365). */
  auditRetentionDays?: number;
  log?: Logger;
  /** An already open store (tests). */
  db?: Db;
  /**
   * The key that seals stored credentials. Default: loadSecretBox() — an
   * explicit secretKeyFile, CONFIX_SECRET_KEY, CONFIX_SECRET_KEY_FILE, or (on
   * the embedded store only) <dataDir>/secret.key, generated on first start.
   * On a PostgreSQL databaseUrl the service refuses to start without a key.
   */
  secretBox?: SecretBox;
  secretKeyFile?: string;
  /**
   * Where the first start writes the admin API token (mode 0600): this,
   * CONFIX_ADMIN_TOKEN_FILE, or in dataDir: admin.token for the embedded
   * store, admin-<storeId>.token for a PostgreSQL server (dataDir defaults
   * to ./.confix, next to the service's note, which names the file). An
   * existing file is never overwritten (see ensureBootstrapAdmin).
   */
  adminTokenFile?: string;
}

/**
 * The note a running service leaves in its data directory (service.json),
 * for the CLI on the same machine: where it listens, which store it serves
 * and which file holds that store's admin token.
 */
export interface ServiceNote {
  url: string;
  pid: number;
  /** 'embedded' (PGlite in dataDir) or 'postgres'. */
  store: 'embedded' | 'postgres';
  /** The store's identity (src/store/index.ts storeIdentity). */
  storeId: string;
  /** The file holding this store's admin token, or null when there is none on this machine. */
  tokenFile: string | null;
}

export interface Service extends Engine {
  url: string;
  /** Where this store's bootstrap admin token is (written on the first start only), or would be. */
  adminTokenFile: string;
  /** Whether adminTokenFile holds a token of this store (else the CLI here needs CONFIX_TOKEN). */
  hasAdminTokenFile: boolean;
  /** The store's identity. */
  storeId: string;
  /** Where the key sealing stored credentials came from, when the service loaded it ('generated': just now, into file). */
  secretKey?: { source: SecretKeySource; file?: string };
  close(): Promise<void>;
}

export const DEMO_ESTATE = fileURLToPath(new URL('../examples/estates/demo.yaml', import.meta.url));
export const EXAMPLE_POLICIES = fileURLToPath(new URL('../examples/policies', import.meta.url));

export async function startService(opts: ServiceOptions = {}): Promise<Service> {
  const log = opts.log ?? createLogger();
  const dataDir = resolve(opts.dataDir ?? '.confix');
  const embedded = !opts.db && !opts.databaseUrl;
  const runWorkers = opts.workers !== false;
  // Nobody else can open an embedded store: its work would wait forever.
  if (!runWorkers && embedded)
    throw new Error(
      '--no-worker leaves executions to `confix worker` processes, which need a PostgreSQL database: give --database-url (an embedded store cannot be shared)',
    );
  const unlock = embedded ? lockDataDir(dataDir) : () => undefined;
  let db: Db;
  let secretBox: SecretBox;
  let secretKey: Service['secretKey'];
  try {
    // Before the store opens: a missing or bad key stops the start at once.
    // A key is generated only into an embedded store's data directory, never
    // for a shared PostgreSQL database (it would strand the credentials).
    if (opts.secretBox) secretBox = opts.secretBox;
    else {
      const loaded = loadSecretBox({ dataDir: opts.databaseUrl ? undefined : dataDir, keyFile: opts.secretKeyFile });
      secretBox = loaded.box;
      secretKey = { source: loaded.source, file: loaded.file };
      log.info(`stored credentials are sealed with ${describeKeySource(loaded)}`, { keyId: secretBox.keyId });
    }
    db = opts.db ?? (await openStore({ dataDir, databaseUrl: opts.databaseUrl }));
  } catch (err) {
    unlock();
    throw err;
  }
  if (!opts.db) log.info('store open', { store: describeStore({ dataDir, databaseUrl: opts.databaseUrl }) });
  const config = opts.config ?? DEFAULT_CONFIG;
  const engine = createEngine(db, { log, secretBox, providers: await buildProviders(config, log) });
  const governsSandbox = engine.providers.has(engine.sandbox.name);
  const { sandbox, recorder, rules, evaluator, worker } = engine;
  const timers: NodeJS.Timeout[] = [];
  let pruneTimer: NodeJS.Timeout | undefined;
  let pruning: Promise<unknown> = Promise.resolve();
  let detachAuto = () => {};
  const server: Server = createServer(getRequestListener(createApp({ ...engine, log: log.child({ component: 'api' }) }).fetch));
  const host = opts.host ?? '127.0.0.1';
  // The embedded store lives in dataDir; a server store's files on this machine are named by its identity.
  const embeddedStore = db.kind === 'pglite';
  let storeId = '';
  let admin = { file: '', found: false };
  try {
    storeId = await storeIdentity(db);
    // The first start (no API token at all) creates the admin token, into a file only its owner reads and no other store's file.
    admin = await ensureBootstrapAdmin(engine.tokens, resolve(adminTokenFile({ file: opts.adminTokenFile, dataDir, storeId, embedded: embeddedStore })), log, {
      storeId,
      // Before store identities, a server store's token went to <dataDir>/admin.token too.
      earlier: embeddedStore ? [] : [join(dataDir, 'admin.token')],
      recover: embeddedStore
        ? `\`confix token create NAME --role admin --data ${dataDir}\` with this service stopped`
        : '`confix token create NAME --role admin --database-url <this database URL>`',
    });
    log.info('store identity', { storeId, store: embeddedStore ? 'embedded' : 'postgres' });
    if (governsSandbox && opts.demo !== false && (await sandbox.listAccounts()).length === 0) {
      const text = await readFile(DEMO_ESTATE, 'utf8');
      const { raw, lineOf } = parseEstateText(text, DEMO_ESTATE);
      const load = await sandbox.loadEstate(raw, { source: DEMO_ESTATE, lineOf });
      log.info('empty sandbox: loaded the demo estate', { accounts: load.accounts, resources: load.resources });
    }
    // Catch up on anything that changed while the service was down, then follow changes.
    evaluator.attach(recorder, { schedulerMs: opts.schedulerMs });
    for (const p of engine.providers.all()) {
      const snap = await recorder.snapshot(p.name).catch((err: Error) => {
        log.error('discovery failed', { provider: p.name, err });
        return undefined;
      });
      if (snap?.refused?.length) log.warn('discovery was refused for some scopes', { provider: p.name, refused: snap.refused.length });
    }
    await evaluator.idle();
    if (opts.demo !== false && (await rules.list()).length === 0) {
      const plan = await applyPolicy(engine, readPolicyDocuments([EXAMPLE_POLICIES]));
      const summary = await evaluator.evaluateRules();
      log.info('no rules yet: applied the example policies', { rules: plan.create.length, evaluations: summary.evaluations });
    }
    detachAuto = attachAutoRemediation(evaluator, engine);
    // What was non-compliant before the service started (or before its rules remediated automatically) is due too.
    for (const r of await rules.list()) if (r.remediation?.invokeType === 'AUTO_EXECUTION' && r.state === 'ACTIVE') engine.auto.request(r.ruleId);
    engine.publisher.attach(evaluator, worker);
    recorder.start();
    if (runWorkers) worker.start();
    else log.info('no remediation or function worker here: executions and invocations wait for `confix worker` processes');
    engine.deliveryWorker.start();
    // Events and ended invocations older than the retention go, hourly (and once now).
    const retentionDays = opts.retentionDays ?? retentionDaysFromEnv();
    // Read now, so that a bad value stops the start rather than every hourly prune.
    const auditDays = opts.auditRetentionDays ?? auditRetentionDaysFromEnv();
    const pruneNow = () =>
      prune(db, { days: retentionDays, auditDays }).then(
        (n) =>
          n.events || n.invocations || n.audit
            ? log.info('pruned what is older than the retention', { retentionDays, auditRetentionDays: auditDays, ...n })
            : undefined,
        (err: Error) => log.error('pruning old events and invocations failed', { err }),
      );
    pruning = pruneNow();
    pruneTimer = setInterval(() => (pruning = pruneNow()), 3_600_000);
    pruneTimer.unref();
    // Full discovery again now and then: the sandbox every discovery interval, a real cloud as configured (its events miss things).
    const periods = rediscoveryPeriods(config);
    for (const p of engine.providers.all()) {
      const every =
        p.kind === 'sandbox' || opts.discoveryIntervalMs === 0
          ? (opts.discoveryIntervalMs ?? periods.get(p.name) ?? 3_600_000)
          : (periods.get(p.name) ?? 1_800_000);
      if (!(every > 0)) continue;
      const t = setInterval(() => {
        recorder.snapshot(p.name).catch((err: Error) => log.error('periodic snapshot failed', { provider: p.name, err }));
      }, every);
      t.unref();
      timers.push(t);
    }
    await new Promise<void>((ok, fail) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        fail(err.code === 'EADDRINUSE' ? new Error(`port ${opts.port ?? 8080} on ${host} is already in use; choose another with --port`) : err),
      );
      server.listen(opts.port ?? 8080, host, () => ok());
    });
  } catch (err) {
    for (const t of timers) clearInterval(t);
    if (pruneTimer) clearInterval(pruneTimer);
    evaluator.detach(recorder);
    engine.publisher.detach();
    await worker.stop();
    await engine.deliveryWorker.stop();
    await engine.functionWorker.stop();
    await recorder.stop();
    await pruning;
    await engine.providers.close().catch(() => undefined);
    if (!opts.db) await db.close();
    unlock();
    throw err;
  }
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? 8080);
  const url = `http://${host}:${port}`;
  // Functions' context.confix and context.cloud call this service.
  engine.functionWorker.setApi({ baseUrl: url });
  if (runWorkers) engine.functionWorker.start();
  const infoFile = join(dataDir, 'service.json');
  const note: ServiceNote = { url, pid: process.pid, store: embeddedStore ? 'embedded' : 'postgres', storeId, tokenFile: admin.found ? admin.file : null };
  const noted = (embedded || existsSync(dataDir)) && writeNote(infoFile, note, log);

  let closed = false;
  return {
    ...engine,
    url,
    adminTokenFile: admin.file,
    hasAdminTokenFile: admin.found,
    storeId,
    secretKey,
    async close() {
      if (closed) return;
      closed = true;
      for (const t of timers) clearInterval(t);
      if (pruneTimer) clearInterval(pruneTimer);
      await new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      });
      detachAuto();
      evaluator.detach(recorder);
      await worker.stop();
      await recorder.stop();
      await evaluator.idle();
      engine.publisher.detach();
      await engine.publisher.idle();
      await engine.deliveryWorker.stop();
      await engine.functionWorker.stop();
      await pruning;
      // The count of refusals held back this minute is written, not lost.
      await engine.audit.flush().catch((err: Error) => log.warn('writing the audit summary failed', { err }));
      await engine.auto.idle();
      await engine.providers.close().catch((err: Error) => log.warn('closing the providers failed', { err }));
      if (!opts.db) await db.close();
      if (noted && readNote(infoFile)?.pid === process.pid) rmSync(infoFile, { force: true }); // only our own note
      unlock();
    },
  };
}

/** The note in a data directory, if there is a readable one. */
export function readNote(file: string): Partial<ServiceNote> | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Partial<ServiceNote>;
  } catch {
    return undefined;
  }
}

/**
 * Writes the service's note, unless another running service left its own
 * there (a PostgreSQL service started in the folder of a running embedded
 * one): the CLI here keeps talking to that one. Answers whether it wrote.
 */
function writeNote(file: string, note: ServiceNote, log: Logger): boolean {
  const other = readNote(file);
  if (other?.pid && other.pid !== process.pid && alive(other.pid)) {
    log.warn(
      `another confix service (pid ${other.pid}, ${other.url}) is noted in ${file}: the CLI here keeps talking to that one; reach this one with --url ${note.url}`,
      { file },
    );
    return false;
  }
  // A temporary name and a rename: the CLI never reads half a note.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(note) + '\n');
  renameSync(tmp, file);
  return true;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
