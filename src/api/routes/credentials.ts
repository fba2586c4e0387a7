/**
 * The engine's credentials: one access key per account. The secret goes in
 * (write-only) and never comes out: no response, error message or log line
 * contains it.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppDeps } from '../deps.js';
import { Id, errorResponses, json } from '../schemas.js';
import { ApiError } from '../errors.js';
import { LIMITS } from '../../accounts/credentials.js';

const CredentialSchema = z
  .object({
    accountId: z.string(),
    accessKeyId: z.string().openapi({ example: 'LTAI5tExampleKeyId0001' }),
    description: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    warning: z.string().optional().openapi({ description: 'Set when the cloud does not accept the key: it is stored, but calls made with it will fail' }),
  })
  .openapi('Credential');

// Loose shape checks only: the store validates the values with messages that
// never repeat them. The secret is write-only and never shown.
const CredentialInputSchema = z
  .object({
    accountId: z.string().min(1).max(LIMITS.accountId.max),
    accessKeyId: z.string().min(1).max(LIMITS.accessKeyId.max),
    accessKeySecret: z.string().openapi({
      writeOnly: true,
      format: 'password',
      description: 'The access key secret. Stored sealed (AES-256-GCM); never returned, listed or logged.',
    }),
    description: z.string().max(LIMITS.description.max).optional(),
  })
  .openapi('CredentialInput');

/** Fixed messages for the secret field: whatever zod would say, it never echoes what was sent. */
const SECRET_PATH = /secret/i;
function secretSafeHook(
  result: { success: true } | { success: false; error: { issues: { path: PropertyKey[]; code?: string; message: string }[] } },
  c: Context,
) {
  if (result.success) return undefined;
  const issues = result.error.issues.map((i) => {
    const segments = i.path.map((p) => (typeof p === 'number' ? p : String(p)));
    const path = segments.join('.');
    const message = segments.some((s) => typeof s === 'string' && SECRET_PATH.test(s))
      ? i.code === 'invalid_type'
        ? 'required, as a string'
        : 'not a valid secret (the value is not repeated here)'
      : i.message;
    return { path, pathSegments: segments, message };
  });
  const first = issues[0];
  return c.json({ error: { code: 'InvalidRequest', message: first ? `${first.path || 'request'}: ${first.message}` : 'invalid request', issues } }, 400);
}

export function credentialRoutes(app: OpenAPIHono, deps: AppDeps) {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/credentials',
      tags: ['credentials'],
      summary: "Store an account's access key (replacing the one it had); answers without the secret",
      request: { body: { required: true, content: { 'application/json': { schema: CredentialInputSchema } } } },
      responses: {
        201: json(CredentialSchema, 'Stored'),
        200: json(CredentialSchema, "Replaced the account's previous access key"),
        400: errorResponses[400],
      },
    }),
    async (c) => {
      const { accountId, ...input } = c.req.valid('json');
      const { replaced, ...stored } = await deps.credentials.put(accountId, input);
      deps.log.info(replaced ? 'credential replaced' : 'credential stored', { accountId, accessKeyId: stored.accessKeyId });
      // Stored either way (the cloud may be unreachable, or the key not active yet), but said at once: a bad key fails every later call.
      const check = await deps.sandbox.verifyCredentials(accountId, input);
      const warning = check.ok
        ? undefined
        : `the ${deps.sandbox.name} cloud does not accept this key (${check.code}: ${check.reason}); calls made with it will fail until it is replaced`;
      if (warning)
        deps.log.warn('stored credential is not accepted by the cloud', {
          accountId,
          accessKeyId: stored.accessKeyId,
          code: check.ok ? undefined : check.code,
        });
      return c.json({ ...stored, ...(warning ? { warning } : {}) }, replaced ? 200 : 201);
    },
    secretSafeHook,
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/credentials',
      tags: ['credentials'],
      summary: 'The stored credentials: account and access key id, never the secret',
      responses: { 200: json(z.object({ items: z.array(CredentialSchema) }), 'Credentials') },
    }),
    async (c) => c.json({ items: await deps.credentials.list() }, 200),
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/credentials/{accountId}',
      tags: ['credentials'],
      summary: "Remove an account's access key",
      request: { params: z.object({ accountId: Id() }) },
      responses: { 200: json(z.object({ removed: z.boolean(), accountId: z.string() }), 'Removed'), 404: errorResponses[404] },
    }),
    async (c) => {
      const { accountId } = c.req.valid('param');
      if (!(await deps.credentials.remove(accountId))) throw new ApiError(404, 'CredentialNotFound', `no credentials are stored for account ${accountId}`);
      deps.log.info('credential removed', { accountId });
      return c.json({ removed: true, accountId }, 200);
    },
  );
}
