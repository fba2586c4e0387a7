/**
 * The web console: the static files `npm run build` puts in dist/console,
 * served at / with index.html for any other page path (the console routes by
 * hash, so this is only a fallback). Without a build, / says how to make one.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context } from 'hono';
import type { OpenAPIHono } from '@hono/zod-openapi';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** Where the built console is: next to the compiled service (dist/console), or, running from source, ../dist/console. */
export function findConsoleDir(explicit?: string): string | undefined {
  const candidates = explicit ? [explicit] : [fileURLToPath(new URL('../console/', import.meta.url)), fileURLToPath(new URL('../../dist/console/', import.meta.url))];
  return candidates.find((d) => existsSync(join(d, 'index.html')));
}

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>confix</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#111}code{background:#eee;padding:.1rem .3rem}</style></head>
<body><h1>confix</h1><p>The console has not been built. Run <code>npm run build</code> (the README's <code>npm ci &amp;&amp; npm run demo</code> does it), then reload.</p>
<p>The API is at <a href="/api/v1/openapi.json">/api/v1</a>.</p></body></html>`;

export function consoleRoutes(app: OpenAPIHono, info: () => Record<string, unknown>, dir = findConsoleDir()) {
  const file = (rel: string): { body: Buffer; type: string } | undefined => {
    if (!dir) return undefined;
    const path = normalize(join(dir, rel));
    if (!path.startsWith(normalize(dir + sep))) return undefined;
    if (!existsSync(path) || !statSync(path).isFile()) return undefined;
    return { body: readFileSync(path), type: TYPES[extname(path)] ?? 'application/octet-stream' };
  };
  const index = (c: Context) => {
    const f = file('index.html');
    if (!f) return c.html(NOT_BUILT, 200);
    return c.body(new Uint8Array(f.body), 200, { 'content-type': f.type, 'cache-control': 'no-cache' });
  };
  app.get('/api', (c) => c.json(info()));
  app.get('/', (c) => {
    const accept = c.req.header('accept') ?? '';
    // Scripts asking for JSON get what / always answered: where the API is.
    if (accept.includes('application/json') && !accept.includes('text/html')) return c.json(info());
    return index(c);
  });
  app.get('/*', (c, next) => {
    const p = c.req.path;
    if (p.startsWith('/api/') || p === '/openapi.json') return next();
    const f = file(decodeURIComponent(p.slice(1)));
    if (f) {
      const immutable = p.startsWith('/assets/');
      return c.body(new Uint8Array(f.body), 200, { 'content-type': f.type, 'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache' });
    }
    // A page path (no extension) asked for by a browser: the console routes it.
    if (!extname(p) && (c.req.header('accept') ?? '').includes('text/html')) return index(c);
    return next();
  });
}
