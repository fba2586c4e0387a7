import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from '../util/log.js';
import { ConfixError, kindOfStatus, type ErrorKind } from '../errors.js';

/** An error only the API raises (a bad query, a missing header): a stable code, a status and a message for people. */
export class ApiError extends ConfixError {
  constructor(status: ContentfulStatusCode, code: string, message: string, details?: Record<string, unknown>) {
    super(code, kindOfStatus(status), message, { httpStatus: status, ...(details ? { details } : {}) });
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

/** The HTTP status of each kind of error: the one place they are mapped. */
export const STATUS_OF_KIND: Record<ErrorKind, ContentfulStatusCode> = { invalid: 400, forbidden: 403, not_found: 404, conflict: 409, unavailable: 503 };

/** Turns any thrown error into the API's error body; unknown errors are logged and hidden. */
export function errorResponse(err: unknown, c: Context, log: Logger) {
  if (err instanceof ConfixError) {
    const issues = err.issues?.map((i) => ({ ...i, path: err.spellPath(i.path), pathSegments: [...i.path] }));
    return c.json(
      { error: { code: err.code, message: err.publicMessage, ...(issues ? { issues } : {}), ...err.details } } satisfies ErrorBody,
      (err.httpStatus ?? STATUS_OF_KIND[err.kind]) as ContentfulStatusCode,
    );
  }
  if (err instanceof HTTPException && err.status < 500)
    return c.json({ error: { code: 'InvalidRequest', message: err.message || 'invalid request' } } satisfies ErrorBody, err.status as ContentfulStatusCode);
  if (err instanceof SyntaxError && /JSON/.test(err.message))
    return c.json({ error: { code: 'InvalidJson', message: `the request body is not valid JSON: ${err.message}` } } satisfies ErrorBody, 400);
  log.error('request failed', { method: c.req.method, path: c.req.path, err: err as Error });
  return c.json({ error: { code: 'InternalError', message: 'internal error; the service log has the details' } } satisfies ErrorBody, 500);
}
