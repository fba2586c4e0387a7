/**
 * An error as a cloud API returns it: a code in the cloud's own words, an
 * HTTP status and a message. The API passes code and message through unchanged.
 */
import { isRetryable, ProviderError, type Dialect } from '../types.js';

/** The sandbox's ProviderError: retryable as a real cloud's would be for the same code and status. */
export class SandboxError extends ProviderError {
  constructor(code: string, message: string, httpStatus = 400) {
    super('sandbox', code, message, isRetryable(code, httpStatus), httpStatus);
    this.name = 'SandboxError';
  }
}

export type { Dialect };

/** The "resource not found" code each cloud uses for a resource type. */
export function notFound(dialect: Dialect, what: string, id: string, code?: string): SandboxError {
  const c = code ?? (dialect === 'acs' ? `InvalidParameter.NotFound` : `InvalidParameterValue`);
  return new SandboxError(c, `The specified ${what} "${id}" does not exist.`, 404);
}
