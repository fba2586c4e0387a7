/**
 * Access control's own routes: API tokens (created, listed, revoked; the
 * secret is shown once, in the creation's answer) and the audit log.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps } from '../deps.js';
import { Name, Time, errorResponses, json } from '../schemas.js';
import { ApiError } from '../errors.js';
import { principalOf } from '../access-control.js';
import { ROLES, resolveExpiry } from '../../security/tokens.js';

const RoleSchema = z.enum(ROLES).openapi('Role');

const TokenSchema = z
  .object({
    id: z.string().openapi({ description: "The token's public id (the part after cfx_)" }),
    name: z.string(),
    role: RoleSchema,
    createdAt: z.string(),
    createdBy: z.string().nullable(),
    expiresAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
    lastUsedAt: z.string().nullable().openapi({ description: 'Recorded at most once a minute' }),
    state: z.enum(['active', 'expired', 'revoked']),
  })
  .openapi('ApiToken');

const TokenInputSchema = z
  .object({
    name: z.string().min(1).max(128).openapi({ example: 'ci-reader' }),
    role: RoleSchema,
    expiresIn: z
      .union([Time(), z.number().positive()])
      .optional()
      .openapi({ description: 'A duration from now: 30d, 12h, 15m, 2w, or a number of seconds', example: '30d' }),
    expiresAt: Time().optional().openapi({ description: 'An ISO 8601 date or time', example: '2026-12-31T00:00:00Z' }),
  })
  .openapi('ApiTokenInput');

const AuditEntrySchema = z
  .object({
    id: z.number().int(),
    time: z.string(),
    tokenName: z.string().nullable().openapi({ description: 'null: the request carried no valid token' }),
    role: z.string().nullable(),
    method: z.string(),
    route: z.string().openapi({ example: '/rules/{name}/remediation/executions' }),
    target: z.record(z.string(), z.string()).openapi({ description: "The route's path parameters", example: { name: 'sg-risky-ports' } }),
    status: z.number().int(),
    outcome: z.enum(['ok', 'denied', 'error']),
    reason: z.string().nullable(),
  })
  .openapi('AuditEntry');

export function accessRoutes(app: OpenAPIHono, deps: AppDeps) {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/tokens',
      tags: ['access'],
      summary: 'Create an API token with a role; the answer holds the token, shown this once',
      request: { body: { required: true, content: { 'application/json': { schema: TokenInputSchema } } } },
      responses: {
        201: json(
          TokenSchema.extend({
            token: z.string().openapi({ description: 'The bearer token: keep it, it is never shown again', example: 'cfx_0123456789abcdef_…' }),
          }),
          'Created',
        ),
        400: errorResponses[400],
        409: errorResponses[409],
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const expiresAt = resolveExpiry(body);
      const { token, record } = await deps.tokens.create({ name: body.name, role: body.role, expiresAt, createdBy: principalOf(c)?.name ?? null });
      deps.log.info('API token created', { name: record.name, role: record.role, expiresAt: record.expiresAt, by: record.createdBy });
      return c.json({ ...record, token }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/tokens',
      tags: ['access'],
      summary: 'API tokens with their roles, expiry, revocation and last use; never a secret',
      request: {
        query: z.object({ all: z.enum(['true', 'false']).optional().openapi({ description: "Also functions' ended per-invocation tokens (fn:…)" }) }),
      },
      responses: { 200: json(z.object({ items: z.array(TokenSchema) }), 'Tokens, newest first') },
    }),
    async (c) => c.json({ items: await deps.tokens.list({ all: c.req.valid('query').all === 'true' }) }, 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/tokens/self',
      tags: ['access'],
      summary: "The caller's own token: its name, role and expiry (any valid token may ask; the console offers only what the role may use)",
      responses: { 200: json(TokenSchema, 'The token this request was made with') },
    }),
    async (c) => {
      const p = principalOf(c);
      if (!p) throw new ApiError(401, 'Unauthorized', 'this request carried no token');
      return c.json(await deps.tokens.get(p.tokenId), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/tokens/{name}',
      tags: ['access'],
      summary: 'Revoke a token (by name or id): it is refused from now on; the last active admin token cannot be revoked',
      request: { params: z.object({ name: Name() }) },
      responses: { 200: json(TokenSchema, 'Revoked'), 404: errorResponses[404], 409: errorResponses[409] },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const t = await deps.tokens.get(name);
      if (t.role === 'admin' && t.state === 'active') {
        const admins = (await deps.tokens.list()).filter((x) => x.role === 'admin' && x.state === 'active');
        if (admins.length <= 1)
          throw new ApiError(
            409,
            'LastAdminToken',
            `"${t.name}" is the last active admin token; create another admin token first, or nobody could manage tokens any more`,
          );
      }
      const revoked = await deps.tokens.revoke(t.id);
      deps.log.info('API token revoked', { name: revoked.name, by: principalOf(c)?.name });
      return c.json(revoked, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/audit',
      tags: ['access'],
      summary: 'The audit log, newest first: every change and every refusal, with the token, route, target and outcome',
      request: {
        query: z.object({
          limit: z.coerce.number().int().min(1).max(1000).optional().openapi({ description: 'Default 100' }),
          token: Name().optional().openapi({ description: "Only this token's requests (by name)" }),
          outcome: z.enum(['ok', 'denied', 'error']).optional(),
        }),
      },
      responses: { 200: json(z.object({ items: z.array(AuditEntrySchema) }), 'Entries, newest first') },
    }),
    async (c) => c.json({ items: await deps.audit.list(c.req.valid('query')) }, 200),
  );
}
