import type { Db } from './db.js';
import { migrations as all, type Migration } from './migrations/index.js';

// Any constant works; it only has to be the same in every confix process.
const LOCK_KEY = 4_242_001;

/**
 * Applies the migrations not yet applied, each in its own transaction, under
 * an advisory lock so that several processes starting at once on one
 * PostgreSQL server do not race. Returns the versions applied.
 */
export async function migrate(db: Db, migrations: Migration[] = all): Promise<number[]> {
  await db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  const applied: number[] = [];
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    const done = new Set((await tx.query<{ version: number }>('SELECT version FROM schema_migrations')).map((r) => r.version));
    const latest = Math.max(0, ...done);
    const known = Math.max(0, ...migrations.map((m) => m.version));
    if (latest > known) {
      throw new Error(`the database is at schema version ${latest}, newer than this confix knows (${known}); upgrade confix`);
    }
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      // Statements are split on blank-line-free semicolons only at top level;
      // our migrations keep one statement per ';' line end.
      for (const stmt of splitStatements(m.sql)) await tx.query(stmt);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
  });
  return applied;
}

/** Splits a migration into statements at semicolons that end a line. */
export function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*$/m)
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter((s) => s.length > 0);
}
