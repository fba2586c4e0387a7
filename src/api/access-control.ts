/**
 * The API's access control, in front of every /api/v1 route: the bearer
 * token is verified (401 without one or with a bad one), its role checked
 * against the route's least role from src/security/access.ts (403 when it is
 * not enough), and every change (any method but GET, HEAD, OPTIONS) and every
 * refusal is written to the audit log (which bounds what a caller without a
 * valid token can make it write: src/security/audit.ts). A 401 says how to get
 * a token without naming anything on the service's machine.
 */
import type { MiddlewareHandler } from 'hono';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps } from './app.js';
import { RouteMatcher, requiredRole, SIGNATURE_HEADERS } from '../security/access.js';
import { roleAtLeast, type Principal } from '../security/tokens.js';
import type { AuditOutcome } from '../security/audit.js';
import { setPrincipal } from './routes/access.js';

const PREFIX = '/api/v1';
const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * How a caller without a valid token gets one. It names no file or path of
 * the service's machine (anonymous callers learn nothing about it): the
 * service's own log and the README say where the bootstrap admin token is.
 */
export const HOW_TO_GET_A_TOKEN =
  'send an API token as `Authorization: Bearer <token>` (the CLI: --token or CONFIX_TOKEN); ask an admin for one ' +
  '(`confix token create NAME --role viewer|operator|admin`), or use the admin token file the service wrote on its first start, named in its log';

/** The API's routes as the OpenAPI registry knows them (method, path relative to /api/v1). */
export function apiRoutes(api: OpenAPIHono): { method: string; path: string }[] {
  const out: { method: string; path: string }[] = [];
  for (const d of api.openAPIRegistry.definitions) if (d.type === 'route') out.push({ method: d.route.method.toUpperCase(), path: d.route.path });
  out.push({ method: 'GET', path: '/openapi.json' });
  return out;
}

export function accessControl(api: OpenAPIHono, deps: AppDeps): MiddlewareHandler {
  let matcher: RouteMatcher | undefined; // built at the first request, when every route is registered
  const howToGet = HOW_TO_GET_A_TOKEN;

  return async (c, next) => {
    matcher ??= new RouteMatcher(apiRoutes(api));
    const method = c.req.method.toUpperCase();
    const rel = c.req.path.slice(PREFIX.length) || '/';
    const match = matcher.match(method, rel);
    const signed = SIGNATURE_HEADERS.some((h) => !!c.req.header(h));
    // A path no route has still needs a token (then answers 404).
    const need = match ? requiredRole(method, match.path, signed) : 'viewer';
    if (need === 'public') return next();

    const route = match?.path ?? rel;
    const target = match?.params ?? {};
    let principal: Principal | undefined;
    const audit = async (status: number, outcome: AuditOutcome, reason: string | null) => {
      try {
        await deps.audit.record({ tokenName: principal?.name ?? null, role: principal?.role ?? null, method, route, target, status, outcome, reason });
      } catch (err) {
        deps.log.error('writing the audit log failed', { err: err as Error, method, route });
      }
    };
    const deny = async (status: 401 | 403, code: string, message: string, reason: string, details: Record<string, unknown> = {}) => {
      await audit(status, 'denied', reason);
      return c.json({ error: { code, message, ...details } }, status, status === 401 ? { 'www-authenticate': 'Bearer realm="confix"' } : {});
    };

    const header = c.req.header('authorization') ?? '';
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
    if (!bearer)
      return deny(
        401,
        'Unauthorized',
        `${header ? 'the Authorization header is not "Bearer <token>"' : 'this API needs a bearer token'}: ${howToGet}`,
        header ? 'malformed' : 'no token',
      );
    const verified = await deps.tokens.verify(bearer);
    if (!verified.ok) {
      const why = { malformed: 'is not a confix token (cfx_…)', unknown: 'is not known', expired: 'has expired', revoked: 'has been revoked' }[verified.reason];
      return deny(401, 'Unauthorized', `the bearer token ${why}: ${howToGet}`, verified.reason);
    }
    principal = verified.principal;
    if (!roleAtLeast(principal.role, need)) {
      return deny(
        403,
        'Forbidden',
        `${method} ${route} needs the ${need} role${signed ? ' (signed with cloud credentials)' : ''}; token "${principal.name}" has ${principal.role}`,
        `needs ${need}`,
        { requiredRole: need, role: principal.role },
      );
    }
    setPrincipal(c, principal);
    await next();
    const status = c.res.status;
    if (!READS.has(method) || status === 401 || status === 403) {
      let reason: string | null = null;
      if (status >= 400) {
        const body = (await c.res
          .clone()
          .json()
          .catch(() => undefined)) as { error?: { code?: unknown } } | undefined;
        reason = typeof body?.error?.code === 'string' ? body.error.code : `HTTP ${status}`;
      }
      await audit(status, status === 401 || status === 403 ? 'denied' : status < 400 ? 'ok' : 'error', reason);
    }
  };
}
