/**
 * An error as a cloud API returns it: a code in the cloud's own words, an
 * HTTP status and a message. The API passes code and message through unchanged.
 */
export class SandboxError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus = 400,
  ) {
    super(message);
    this.name = 'SandboxError';
  }
}

export type Dialect = 'acs' | 'aws';

/** The "resource not found" code each cloud uses for a resource type. */
export function notFound(dialect: Dialect, what: string, id: string, code?: string): SandboxError {
  const c = code ?? (dialect === 'acs' ? `InvalidParameter.NotFound` : `InvalidParameterValue`);
  return new SandboxError(c, `The specified ${what} "${id}" does not exist.`, 404);
}
