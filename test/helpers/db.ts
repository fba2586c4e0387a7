/**
 * Fresh, migrated databases for tests, fast. PGlite: the first test process
 * runs initdb and the migrations once and saves the data directory as a
 * template; every test then starts from a copy (about a second instead of
 * several). PostgreSQL: one schema per test on the server named by
 * CONFIX_TEST_DATABASE_URL (.ci/run starts one).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { migrate, type Db } from '../../src/store/index.js';
import { openPostgres } from '../../src/store/postgres.js';
import { openEphemeralStore } from '../../src/store/ephemeral.js';

export type Backend = 'pglite' | 'postgres';

export const postgresUrl = process.env.CONFIX_TEST_DATABASE_URL;

if (process.env.CI && !postgresUrl) {
  throw new Error('CI is set but CONFIX_TEST_DATABASE_URL is not: the PostgreSQL tests must run in CI (see .ci/run)');
}

/** The backends to run store-level tests on: PGlite always, PostgreSQL when a server is given. */
export const backends: Backend[] = postgresUrl ? ['pglite', 'postgres'] : ['pglite'];

const cacheDir = join(process.cwd(), 'node_modules', '.cache', 'confix-test');

export async function freshDb(backend: Backend = 'pglite'): Promise<Db> {
  if (backend === 'postgres') {
    if (!postgresUrl) throw new Error('CONFIX_TEST_DATABASE_URL is not set');
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const db = await openPostgres({ url: postgresUrl, schema, max: 4 });
    await migrate(db);
    const close = db.close.bind(db);
    return Object.assign(db, {
      async close() {
        await db.pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
        await close();
      },
    });
  }
  return openEphemeralStore(cacheDir);
}
