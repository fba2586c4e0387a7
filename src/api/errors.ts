import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { EstateError, formatPath, OrganizationInUseError, ProviderError } from '../providers/index.js';
import { InventoryError } from '../inventory/index.js';
import type { Logger } from '../util/log.js';
import { RuleValidationError } from '../rules/model.js';
import { RuleExistsError, RuleNotFoundError } from '../rules/store.js';
import { PolicyValidationError } from '../policy/plan.js';
import { StartError } from '../remediation/start.js';
import { ExecutionNotFoundError } from '../remediation/executions.js';
import { FunctionInUseError, FunctionNotFoundError, FunctionValidationError } from '../functions/store.js';
import { InvocationFinishedError, InvocationNotFoundError } from '../functions/invocations.js';
import { AccountGroupInUseError, AccountGroupNotFoundError, AccountGroupValidationError } from '../accounts/groups.js';
import { EventConfigError, SubscriptionNotFoundError, TopicNotFoundError } from '../events/topics.js';
import { DeliveryNotFoundError, EventNotFoundError } from '../events/deliveries.js';
import { TokenExistsError, TokenNotFoundError, TokenValidationError } from '../security/tokens.js';

/** An error the API answers with: a stable code, a status and a message for people. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export interface ErrorBody {
  error: {
    code: string;
    message: string;
    issues?: { path: string; pathSegments: (string | number)[]; message: string; document?: number; source?: string }[];
    [k: string]: unknown;
  };
}

/** Turns any thrown error into the API's error body; unknown errors are logged and hidden. */
export function errorResponse(err: unknown, c: Context, log: Logger) {
  if (err instanceof ApiError) return c.json({ error: { code: err.code, message: err.message, ...err.details } } satisfies ErrorBody, err.status);
  if (err instanceof ProviderError)
    return c.json({ error: { code: err.code, message: err.message } } satisfies ErrorBody, err.httpStatus as ContentfulStatusCode);
  if (err instanceof InventoryError) return c.json({ error: { code: err.code, message: err.message } } satisfies ErrorBody, err.status as ContentfulStatusCode);
  if (err instanceof OrganizationInUseError)
    return c.json({ error: { code: 'OrganizationInUse', message: err.message, problems: err.problems } } satisfies ErrorBody, 409);
  if (err instanceof EstateError)
    return c.json(
      {
        error: {
          code: 'InvalidEstate',
          message: `the estate has ${err.issues.length} problem${err.issues.length === 1 ? '' : 's'}; nothing was loaded`,
          issues: err.issues.map((i) => ({ path: formatPath(i.path), pathSegments: i.path, message: i.message })),
        },
      } satisfies ErrorBody,
      400,
    );
  if (err instanceof RuleValidationError)
    return c.json(
      {
        error: {
          code: 'InvalidRule',
          message: err.message,
          issues: err.issues.map((i) => ({ path: i.path.join('.'), pathSegments: i.path, message: i.message })),
        },
      } satisfies ErrorBody,
      400,
    );
  if (err instanceof PolicyValidationError)
    return c.json(
      {
        error: {
          code: 'InvalidPolicy',
          message: err.message,
          issues: err.issues.map((i) => ({ document: i.document, source: i.source, path: i.path.join('.'), pathSegments: i.path, message: i.message })),
        },
      } satisfies ErrorBody,
      400,
    );
  if (err instanceof AccountGroupValidationError)
    return c.json(
      {
        error: {
          code: 'InvalidAccountGroup',
          message: err.message,
          issues: err.issues.map((i) => ({ path: i.path.join('.'), pathSegments: i.path, message: i.message })),
        },
      } satisfies ErrorBody,
      400,
    );
  if (err instanceof AccountGroupNotFoundError) return c.json({ error: { code: 'AccountGroupNotFound', message: err.message } } satisfies ErrorBody, 404);
  if (err instanceof AccountGroupInUseError)
    return c.json({ error: { code: 'AccountGroupInUse', message: err.message, rules: err.rules } } satisfies ErrorBody, 409);
  if (err instanceof StartError) return c.json({ error: { code: 'CannotRemediate', message: err.message } } satisfies ErrorBody, 400);
  if (err instanceof ExecutionNotFoundError) return c.json({ error: { code: 'ExecutionNotFound', message: err.message } } satisfies ErrorBody, 404);
  if (err instanceof FunctionValidationError)
    return c.json(
      {
        error: {
          code: 'InvalidFunction',
          message: err.message,
          issues: err.issues.map((i) => ({ path: i.path.join('.'), pathSegments: i.path, message: i.message })),
        },
      } satisfies ErrorBody,
      400,
    );
  if (err instanceof FunctionNotFoundError) return c.json({ error: { code: 'FunctionNotFound', message: err.message } } satisfies ErrorBody, 404);
  if (err instanceof FunctionInUseError) return c.json({ error: { code: 'FunctionInUse', message: err.message, users: err.users } } satisfies ErrorBody, 409);
  if (err instanceof InvocationNotFoundError) return c.json({ error: { code: 'InvocationNotFound', message: err.message } } satisfies ErrorBody, 404);
  if (err instanceof InvocationFinishedError)
    return c.json({ error: { code: 'InvocationFinished', message: err.message, status: err.invocation.status } } satisfies ErrorBody, 409);
  if (err instanceof RuleNotFoundError) return c.json({ error: { code: 'RuleNotFound', message: err.message } } satisfies ErrorBody, 404);
  if (err instanceof RuleExistsError) return c.json({ error: { code: 'RuleExists', message: err.message } } satisfies ErrorBody, 409);
  if (err instanceof EventConfigError) {
    const pathSegments = err.path === '(body)' ? [] : err.path.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p));
    return c.json(
      {
        error: {
          code: 'InvalidEventConfig',
          message: err.message,
          issues: [{ path: err.path, pathSegments, message: err.message.slice(err.path.length + 2) }],
        },
      } satisfies ErrorBody,
      400,
    );
  }
  if (err instanceof TopicNotFoundError) return c.json({ error: { code: 'TopicNotFound', message: err.message } } satisfies ErrorBody, 404);
  if (err instanceof SubscriptionNotFoundError) return c.json({ error: { code: 'SubscriptionNotFound', message: err.message } } satisfies ErrorBody, 404);
  if (err instanceof DeliveryNotFoundError) return c.json({ error: { code: 'DeliveryNotFound', message: err.message } } satisfies ErrorBody, 404);
  if (err instanceof EventNotFoundError) return c.json({ error: { code: 'EventNotFound', message: err.message } } satisfies ErrorBody, 404);
  if (err instanceof TokenValidationError)
    return c.json(
      {
        error: {
          code: 'InvalidRequest',
          message: `${err.field}: ${err.message}`,
          issues: [{ path: err.field, pathSegments: [err.field], message: err.message }],
        },
      } satisfies ErrorBody,
      400,
    );
  if (err instanceof TokenExistsError) return c.json({ error: { code: 'TokenExists', message: err.message } } satisfies ErrorBody, 409);
  if (err instanceof TokenNotFoundError) return c.json({ error: { code: 'TokenNotFound', message: err.message } } satisfies ErrorBody, 404);
  if (err instanceof HTTPException && err.status < 500)
    return c.json({ error: { code: 'InvalidRequest', message: err.message || 'invalid request' } } satisfies ErrorBody, err.status as ContentfulStatusCode);
  if (err instanceof SyntaxError && /JSON/.test(err.message))
    return c.json({ error: { code: 'InvalidJson', message: `the request body is not valid JSON: ${err.message}` } } satisfies ErrorBody, 400);
  log.error('request failed', { method: c.req.method, path: c.req.path, err: err as Error });
  return c.json({ error: { code: 'InternalError', message: 'internal error; the service log has the details' } } satisfies ErrorBody, 500);
}
