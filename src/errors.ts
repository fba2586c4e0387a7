/**
 * confix's one error model: every error a module throws on purpose is a
 * ConfixError (or a subclass) with a stable code, a kind that says what the
 * caller can do about it, and, for refused input, every issue by path. The
 * API maps kinds to HTTP statuses in one place (src/api/errors.ts), the CLI
 * to exit codes in one place (src/cli/main.ts).
 */

/** What went wrong, as a caller acts on it. */
export const ERROR_KINDS = ['invalid', 'not_found', 'conflict', 'forbidden', 'unavailable'] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

/** One problem in refused input, located by path (['resources', 3, 'configuration']). */
export interface ErrorIssue {
  path: readonly (string | number)[];
  message: string;
  /** Where else: the policy document (its index) and the file it came from, the line of a file. */
  document?: number;
  source?: string;
  line?: number;
}

export interface ConfixErrorOptions {
  issues?: readonly ErrorIssue[];
  /** More fields the API answers beside code and message (the users of a function in use, …). */
  details?: Record<string, unknown>;
  /** An HTTP status other than the kind's: a cloud's own status passed through. */
  httpStatus?: number;
  /** What the API says when it should not be the message itself (a shorter summary; the issues say the rest). */
  publicMessage?: string;
  cause?: unknown;
}

export class ConfixError extends Error {
  readonly issues?: readonly ErrorIssue[];
  readonly details?: Record<string, unknown>;
  readonly httpStatus?: number;
  readonly publicMessage: string;

  constructor(
    /** Stable, for scripts: RuleNotFound, InvalidPolicy, … (a provider's errors carry the cloud's own). */
    readonly code: string,
    readonly kind: ErrorKind,
    message: string,
    opts: ConfixErrorOptions = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    if (opts.issues) this.issues = opts.issues;
    if (opts.details) this.details = opts.details;
    if (opts.httpStatus !== undefined) this.httpStatus = opts.httpStatus;
    this.publicMessage = opts.publicMessage ?? message;
  }

  /** An issue's path as people read it (`scope.resourceTypes.0`); a subclass may spell it its own way. */
  spellPath(path: readonly (string | number)[]): string {
    return path.join('.');
  }
}

/** The kind of an HTTP status a cloud answered. */
export function kindOfStatus(status: number): ErrorKind {
  if (status === 401 || status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 0 || status === 429 || status >= 500) return 'unavailable';
  return 'invalid';
}
