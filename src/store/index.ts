import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Db, Queryable } from './db.js';
import { migrate } from './migrate.js';
import { openPglite } from './pglite.js';
import { openPostgres, redactUrl } from './postgres.js';

export type { Db, Queryable, Row } from './db.js';
export { chunks } from './db.js';
export { migrate } from './migrate.js';
export { redactUrl } from './postgres.js';

export interface StoreOptions {
  /** PostgreSQL server URL; when absent the embedded PGlite store is used. */
  databaseUrl?: string;
  /** Data directory of the embedded store (default ./.confix). */
  dataDir?: string;
  /** PostgreSQL schema to use (tests). */
  schema?: string;
}

/** Opens the store named by the options and brings its schema up to date. */
export async function openStore(opts: StoreOptions = {}): Promise<Db> {
  let db: Db;
  if (opts.databaseUrl) {
    db = await openPostgres({ url: opts.databaseUrl, schema: opts.schema });
  } else {
    const dir = resolve(opts.dataDir ?? '.confix');
    mkdirSync(dir, { recursive: true });
    db = await openPglite({ dataDir: pgdataDir(dir) });
  }
  try {
    await migrate(db);
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}

/**
 * Opens a store that exists already (a one-shot command given a data
 * directory or a database URL, such as \`confix token create --data\`), and
 * brings its schema up to date; refuses, creating nothing, where there is
 * none. An embedded store must not be open in another process (the caller
 * holds the data directory's lock).
 */
export async function openExistingStore(opts: StoreOptions): Promise<Db> {
  if (!opts.databaseUrl) {
    const dir = resolve(opts.dataDir ?? '.confix');
    if (!hasEmbeddedStore(dir))
      throw new Error(
        `there is no confix store in ${dir} (no ${pgdataDir(dir)}): give the data directory the service runs with (its --data, default ./.confix)`,
      );
    return openStore(opts);
  }
  const db = await openPostgres({ url: opts.databaseUrl, schema: opts.schema });
  try {
    const [r] = await db.query<{ t: string | null }>(`SELECT to_regclass('schema_migrations')::text AS t`);
    if (!r?.t)
      throw new Error(
        `there is no confix store in the database ${redactUrl(opts.databaseUrl)} (no schema_migrations table in its search path): give the URL the service runs with`,
      );
    await migrate(db);
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}

export function describeStore(opts: StoreOptions): string {
  return opts.databaseUrl ? 'PostgreSQL server' : `embedded PGlite in ${resolve(opts.dataDir ?? '.confix')}`;
}

/** Where an embedded store keeps its database files inside its data directory. */
export function pgdataDir(dataDir: string): string {
  return join(resolve(dataDir), 'pgdata');
}

/** Whether a data directory holds an embedded store (one that has been started at least once). */
export function hasEmbeddedStore(dataDir: string): boolean {
  return existsSync(join(pgdataDir(dataDir), 'PG_VERSION'));
}

/**
 * The store's identity: a random id (16 hex digits) written by the first
 * process that asks, the same for every process on the same database ever
 * after. Files on a machine that belong to one store are named by it.
 */
export async function storeIdentity(db: Queryable): Promise<string> {
  const [known] = await db.query<{ id: string }>('SELECT id FROM store_identity');
  if (known) return known.id;
  // Two processes starting at once on one server: the first insert wins, both read it.
  await db.query('INSERT INTO store_identity (id) VALUES ($1) ON CONFLICT DO NOTHING', [randomBytes(8).toString('hex')]);
  const [row] = await db.query<{ id: string }>('SELECT id FROM store_identity');
  return row!.id;
}
