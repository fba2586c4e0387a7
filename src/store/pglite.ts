import { PGlite, types } from '@electric-sql/pglite';
import type { Db, Queryable } from './db.js';

// int8 (bigserial ids, counts) come back as JS numbers: every such value in
// confix stays far below 2^53.
const parsers = { [types.INT8]: (v: string) => Number(v) };

export interface PgliteOptions {
  /** Directory to persist in; omitted means in memory. */
  dataDir?: string;
  /** A data directory dump (from dumpDataDir) to start from; used by tests to skip initdb. */
  loadDataDir?: Blob | File;
  /** Extra postgresql.conf lines. */
  settings?: string[];
}

export async function openPglite(opts: PgliteOptions = {}): Promise<Db & { raw: PGlite }> {
  const pg = await PGlite.create({
    dataDir: opts.dataDir,
    loadDataDir: opts.loadDataDir,
    parsers,
    postgresqlconf: opts.settings ?? process.env.CONFIX_PGLITE_SETTINGS?.split(';'),
  });
  const wrap = (q: { query: PGlite['query'] }): Queryable => ({
    async query<T>(sql: string, params: unknown[] = []) {
      const res = await q.query<T>(sql, params);
      return res.rows;
    },
  });
  const base = wrap(pg);
  return {
    kind: 'pglite',
    raw: pg,
    query: base.query,
    async exec(sql) {
      await pg.exec(sql);
    },
    transaction(fn) {
      return pg.transaction((tx) => fn(wrap(tx as unknown as { query: PGlite['query'] })));
    },
    async close() {
      if (!pg.closed) await pg.close();
    },
  };
}
