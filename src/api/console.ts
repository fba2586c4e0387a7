/**
 * The web console: the static files `npm run build` puts in dist/console,
 * served at / with index.html for any other page path (the console routes by
 * hash, so this is only a fallback). Without a build, / says how to make one.
 */
import { existsSync } from 'node:fs';
import { extname, join, sep } from 'node:path';
import { serveStatic } from '@hono/node-server/serve-static';
import { fileURLToPath } from 'node:url';
import type { Context } from 'hono';
import type { OpenAPIHono } from '@hono/zod-openapi';

/** Where the built console is: next to the compiled service (dist/console), or, running from source, ../dist/console. */
export function findConsoleDir(explicit?: string): string | undefined {
  const candidates = explicit
    ? [explicit]
    : [fileURLToPath(new URL('../console/', import.meta.url)), fileURLToPath(new URL('../../dist/console/', import.meta.url))];
  return candidates.find((d) => existsSync(join(d, 'index.html')));
}

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>confix</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#111}code{background:#eee;padding:.1rem .3rem}</style></head>
<body><h1>confix</h1><p>The console has not been built. Run <code>npm run build</code> (the README's <code>npm ci &amp;&amp; npm run demo</code> does it), then reload.</p>
<p>The API is at <a href="/api/v1/openapi.json">/api/v1</a>.</p></body></html>`;

export function consoleRoutes(app: OpenAPIHono, info: () => Record<string, unknown>, dir = findConsoleDir()) {
  // Scripts asking for JSON get what / always answered: where the API is.
  const wantsJson = (c: Context) => {
    const accept = c.req.header('accept') ?? '';
    return accept.includes('application/json') && !accept.includes('text/html');
  };
  app.get('/api', (c) => c.json(info()));
  if (!dir) {
    app.get('/', (c) => (wantsJson(c) ? c.json(info()) : c.html(NOT_BUILT, 200)));
    return;
  }
  const index = serveStatic({ root: dir, path: 'index.html', onFound: (_p, c) => void c.header('cache-control', 'no-cache') });
  // Built assets have hashed names: cached for good; everything else is checked again.
  const files = serveStatic({
    root: dir,
    onFound: (p, c) => void c.header('cache-control', p.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache'),
  });
  // index.html, or (removed since the service started) how to build it.
  const page = async (c: Context) => (await index(c, async () => {})) ?? c.html(NOT_BUILT, 200);
  app.get('/', async (c) => (wantsJson(c) ? c.json(info()) : page(c)));
  app.get('/*', async (c, next) => {
    const p = c.req.path;
    if (p.startsWith('/api/') || p === '/openapi.json') return next();
    let missing = false;
    const found = await files(c, async () => void (missing = true));
    if (!missing) return found;
    // A page path (no extension) asked for by a browser: the console routes it.
    if (!extname(p) && (c.req.header('accept') ?? '').includes('text/html')) return page(c);
    return next();
  });
}
