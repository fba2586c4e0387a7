/**
 * Throwaway in-memory stores (one-shot scans, tests). initdb plus the
 * migrations take seconds in PGlite, so the first use saves the migrated data
 * directory as a template in a cache directory and later uses start from it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { migrations } from './migrations/index.js';
import { migrate } from './migrate.js';
import { openPglite } from './pglite.js';
import type { Db } from './db.js';

export function defaultCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'confix');
}

const templates = new Map<string, Promise<Blob>>();

async function template(cacheDir: string): Promise<Blob> {
  const hash = createHash('sha256').update(JSON.stringify(migrations)).digest('hex').slice(0, 16);
  const file = join(cacheDir, `pglite-template-${hash}.tar`);
  if (existsSync(file)) return new Blob([readFileSync(file)]);
  const db = await openPglite();
  await migrate(db);
  const dump = await db.raw.dumpDataDir('none');
  await db.close();
  try {
    mkdirSync(cacheDir, { recursive: true });
    // A temporary name and a rename: concurrent processes never read half a file.
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(tmp, Buffer.from(await dump.arrayBuffer()));
    renameSync(tmp, file);
  } catch {
    // No writable cache: still works, just without the speed-up next time.
  }
  return dump;
}

/** A fresh, migrated, in-memory embedded store. */
export async function openEphemeralStore(cacheDir = defaultCacheDir()): Promise<Db> {
  let t = templates.get(cacheDir);
  if (!t) {
    t = template(cacheDir);
    templates.set(cacheDir, t);
  }
  const db = await openPglite({ loadDataDir: await t });
  await migrate(db); // a no-op on a current template
  return db;
}
