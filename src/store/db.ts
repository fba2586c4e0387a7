/**
 * The one database interface confix uses. Both backends (PGlite embedded, a
 * PostgreSQL server) speak the same SQL dialect, so repositories are written
 * once against this interface.
 */
export type Row = Record<string, unknown>;

export interface Queryable {
  /** Run one parameterised statement and return its rows. */
  query<T = Row>(sql: string, params?: unknown[]): Promise<T[]>;
}

export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Run several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
  /** Run fn inside one transaction; it commits when fn resolves and rolls back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Chunks an array for batched statements. */
export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
