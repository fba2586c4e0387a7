import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshDb, type Backend } from './db.js';
import { startService, type Service } from '../../src/service.js';
import { silentLogger, type Logger } from '../../src/util/log.js';
import type { ConfixConfig } from '../../src/providers/index.js';

/**
 * A real service on a free loopback port, on a fresh store, with the demo
 * estate unless told otherwise, governing what `config` names (the sandbox by default). `token` is its bootstrap admin token, which
 * api() sends unless the request has its own Authorization header (or
 * `token: null` / another token is given).
 */
export async function testService(
  opts: { backend?: Backend; demo?: boolean; log?: Logger; config?: ConfixConfig } = {},
): Promise<
  Service & { token: string; api: (path: string, init?: RequestInit & { json?: unknown; token?: string | null }) => Promise<{ status: number; body: any }> }
> {
  const db = await freshDb(opts.backend ?? 'pglite');
  const svc = await startService({
    db,
    port: 0,
    demo: opts.demo ?? true,
    discoveryIntervalMs: 0,
    dataDir: mkdtempSync(join(tmpdir(), 'confix-svc-')),
    log: opts.log ?? silentLogger,
    ...(opts.config ? { config: opts.config } : {}),
  });
  const close = svc.close.bind(svc);
  const token = readFileSync(svc.adminTokenFile, 'utf8').trim();
  return Object.assign(svc, {
    token,
    async close() {
      await close();
      await db.close();
    },
    async api(path: string, init: RequestInit & { json?: unknown; token?: string | null } = {}) {
      const { json, token: as, ...rest } = init;
      const bearer = as === undefined ? token : as;
      const headers = new Headers(rest.headers);
      if (json !== undefined) headers.set('content-type', 'application/json');
      if (bearer !== null && !headers.has('authorization')) headers.set('authorization', `Bearer ${bearer}`);
      const res = await fetch(`${svc.url}/api/v1${path}`, {
        ...rest,
        method: rest.method ?? (json !== undefined ? 'POST' : 'GET'),
        headers,
        body: json !== undefined ? JSON.stringify(json) : rest.body,
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
  });
}
