import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Db } from './db.js';
import { migrate } from './migrate.js';
import { openPglite } from './pglite.js';
import { openPostgres } from './postgres.js';

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
    db = await openPglite({ dataDir: join(dir, 'pgdata') });
  }
  try {
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
