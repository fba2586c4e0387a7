import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshDb, type Backend } from './db.js';
import { startService, type Service } from '../../src/service.js';
import { silentLogger, type Logger } from '../../src/util/log.js';

/** A real service on a free loopback port, on a fresh store, with the demo estate unless told otherwise. */
export async function testService(opts: { backend?: Backend; demo?: boolean; log?: Logger } = {}): Promise<Service & { api: (path: string, init?: RequestInit & { json?: unknown }) => Promise<{ status: number; body: any }> }> {
  const db = await freshDb(opts.backend ?? 'pglite');
  const svc = await startService({
    db,
    port: 0,
    demo: opts.demo ?? true,
    discoveryIntervalMs: 0,
    dataDir: mkdtempSync(join(tmpdir(), 'confix-svc-')),
    log: opts.log ?? silentLogger,
  });
  const close = svc.close.bind(svc);
  return Object.assign(svc, {
    async close() {
      await close();
      await db.close();
    },
    async api(path: string, init: RequestInit & { json?: unknown } = {}) {
      const { json, ...rest } = init;
      const res = await fetch(`${svc.url}/api/v1${path}`, {
        ...rest,
        method: rest.method ?? (json !== undefined ? 'POST' : 'GET'),
        headers: json !== undefined ? { 'content-type': 'application/json' } : rest.headers,
        body: json !== undefined ? JSON.stringify(json) : rest.body,
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
  });
}
