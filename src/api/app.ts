/** The HTTP API: JSON over HTTP under /api/v1, described by the OpenAPI document it serves. */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { AppDeps } from './deps.js';
import { ApiError, errorResponse } from './errors.js';
import { inventoryRoutes } from './routes/inventory.js';
import { sandboxRoutes } from './routes/sandbox.js';
import { sandboxIamRoutes } from './routes/sandbox-iam.js';
import { cloudRoutes } from './routes/cloud.js';
import { ruleRoutes } from './routes/rules.js';
import { remediationRoutes } from './routes/remediation.js';
import { credentialRoutes } from './routes/credentials.js';
import { accountRoutes } from './routes/accounts.js';
import { functionRoutes } from './routes/functions.js';
import { eventRoutes } from './routes/events.js';
import { accessRoutes } from './routes/access.js';
import { accessControl } from './access-control.js';
import { requestBodyLimits } from './limits.js';
import { trendRoutes } from './routes/trend.js';
import { consoleRoutes } from './console.js';
import { json } from './schemas.js';
import { VERSION } from '../version.js';

export function createApp(deps: AppDeps) {
  const api = new OpenAPIHono({
    // Request validation failures answer like every other error, naming the field.
    defaultHook: (result, c) => {
      if (!result.success) {
        const issues = result.error.issues.map((i) => ({ path: i.path.join('.'), pathSegments: i.path as (string | number)[], message: i.message }));
        const first = issues[0];
        return c.json({ error: { code: 'InvalidRequest', message: first ? `${first.path || 'request'}: ${first.message}` : 'invalid request', issues } }, 400);
      }
      return undefined;
    },
  });

  api.openapi(
    createRoute({
      method: 'get',
      path: '/health',
      tags: ['system'],
      summary: 'Liveness and what the service runs on (needs no token)',
      security: [],
      responses: { 200: json(z.object({ status: z.literal('ok'), version: z.string(), store: z.enum(['pglite', 'postgres']) }), 'Healthy') },
    }),
    (c) => c.json({ status: 'ok' as const, version: VERSION, store: deps.db.kind }, 200),
  );
  inventoryRoutes(api, deps);
  sandboxRoutes(api, deps);
  sandboxIamRoutes(api, deps);
  cloudRoutes(api, deps);
  ruleRoutes(api, deps);
  remediationRoutes(api, deps);
  credentialRoutes(api, deps);
  accountRoutes(api, deps);
  functionRoutes(api, deps);
  eventRoutes(api, deps);
  accessRoutes(api, deps);
  trendRoutes(api, deps);

  api.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'confix API', version: VERSION, description: 'Continuous cloud compliance and remediation. All routes are under /api/v1.' },
    servers: [{ url: '/api/v1' }],
    // Every route but /health and this document needs a bearer token (README: Access control).
    security: [{ bearer: [] }],
  });
  api.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API token (cfx_…): confix token create, or the bootstrap admin token file',
  });

  const app = new OpenAPIHono();
  app.onError((err, c) => errorResponse(err, c, deps.log));
  app.notFound((c) =>
    c.json({ error: { code: 'NotFound', message: `no route ${c.req.method} ${c.req.path}; the API is described at /api/v1/openapi.json` } }, 404),
  );
  app.use('/api/v1/*', accessControl(deps));
  // After access control: a caller without a valid token never has its body read.
  app.use('/api/v1/*', requestBodyLimits('/api/v1'));
  app.route('/api/v1', api);
  app.get('/openapi.json', (c) => c.redirect('/api/v1/openapi.json'));
  // The console at / (JSON for Accept: application/json, and at /api).
  consoleRoutes(app, () => ({ name: 'confix', version: VERSION, api: '/api/v1', openapi: '/api/v1/openapi.json', console: '/' }));
  return app;
}

export { ApiError };
export type { AppDeps };
