import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backends, freshDb, postgresUrl } from '../helpers/db.js';
import { migrate, openStore } from '../../src/store/index.js';
import { migrations } from '../../src/store/migrations/index.js';
import { splitStatements } from '../../src/store/migrate.js';

for (const backend of backends) {
  test(`${backend}: migrations are applied once and recorded`, async () => {
    const db = await freshDb(backend);
    try {
      const rows = await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      assert.deepEqual(
        rows.map((r) => r.version),
        migrations.map((m) => m.version),
      );
      assert.deepEqual(await migrate(db), [], 'a second run applies nothing');
    } finally {
      await db.close();
    }
  });

  test(`${backend}: a transaction that throws leaves nothing behind`, async () => {
    const db = await freshDb(backend);
    try {
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.query(`INSERT INTO sandbox_accounts (account_id, name, regions) VALUES ('111111111111', 'a', '{x}')`);
          throw new Error('boom');
        }),
        /boom/,
      );
      const rows = await db.query('SELECT * FROM sandbox_accounts');
      assert.equal(rows.length, 0);
      await db.transaction(async (tx) => {
        await tx.query(`INSERT INTO sandbox_accounts (account_id, name, regions) VALUES ('111111111111', 'a', '{x}')`);
      });
      assert.equal((await db.query('SELECT * FROM sandbox_accounts')).length, 1);
    } finally {
      await db.close();
    }
  });

  test(`${backend}: int8, jsonb and arrays come back in one representation`, async () => {
    const db = await freshDb(backend);
    try {
      const [row] = await db.query<{ n: number; j: unknown; a: string[]; t: Date }>(
        `SELECT 9007199254740991::int8 AS n, '{"a":[1,"x"]}'::jsonb AS j, ARRAY['p','q'] AS a, now() AS t`,
      );
      assert.equal(row!.n, 9007199254740991);
      assert.deepEqual(row!.j, { a: [1, 'x'] });
      assert.deepEqual(row!.a, ['p', 'q']);
      assert.ok(row!.t instanceof Date);
    } finally {
      await db.close();
    }
  });
}

test('a store refuses a database newer than its migrations', async () => {
  const db = await freshDb('pglite');
  try {
    await db.query(`INSERT INTO schema_migrations (version, name) VALUES (999, 'future')`);
    await assert.rejects(migrate(db), /schema version 999, newer than this confix knows/);
  } finally {
    await db.close();
  }
});

test('the embedded store persists under its data directory', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'confix-store-'));
  try {
    const a = await openStore({ dataDir: dir });
    await a.query(`INSERT INTO sandbox_accounts (account_id, name, regions) VALUES ('222222222222', 'kept', '{cn-hangzhou}')`);
    await a.close();
    const b = await openStore({ dataDir: dir });
    const rows = await b.query<{ name: string }>('SELECT name FROM sandbox_accounts');
    assert.deepEqual(
      rows.map((r) => r.name),
      ['kept'],
    );
    await b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('openStore with a PostgreSQL URL it cannot reach says so without the password', { skip: false }, async () => {
  await assert.rejects(
    openStore({ databaseUrl: 'postgres://confix:s3cret@127.0.0.1:1/none' }),
    (err: Error) => /cannot connect to PostgreSQL/.test(err.message) && !err.message.includes('s3cret'),
  );
});

test('splitStatements keeps statements whole', () => {
  assert.deepEqual(splitStatements('CREATE TABLE a (x int);\n-- c\nCREATE INDEX i ON a (x);\n'), ['CREATE TABLE a (x int)', 'CREATE INDEX i ON a (x)']);
  void postgresUrl;
});
