/**
 * Every error the AWS SDK throws, as the contract's one ProviderError: AWS's
 * own code and words, the HTTP status AWS answered, and whether retrying can
 * help (the SDK's own $retryable, or isRetryable on the code and status).
 */
import { ProviderError, REFUSAL_CODES, isRetryable } from '../types.js';

// Errors of the network, not of AWS: retrying can help with most.
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'TimeoutError',
  'RequestTimeout',
  'NetworkingError',
]);

/** Where the SDK's chain looks, for a user who has given it nothing. */
const CREDENTIALS_HINT =
  "confix uses the AWS SDK's credential chain: set AWS_PROFILE (a profile of ~/.aws/config, or `profile:` in confix.yaml), run `aws sso login` for an SSO profile, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY";

/** What an HTTP status says when the body cannot be read. */
const BY_STATUS: Record<number, string> = {
  400: 'BadRequest',
  401: 'UnrecognizedClient',
  403: 'AccessDenied',
  404: 'NotFound',
  429: 'TooManyRequests',
  500: 'InternalFailure',
  503: 'ServiceUnavailable',
};

interface SdkErrorShape {
  name?: unknown;
  message?: unknown;
  Code?: unknown;
  code?: unknown;
  $fault?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/** Whether an error is the SDK's credential chain finding nothing (or failing). */
function isCredentialError(e: SdkErrorShape): boolean {
  return e.name === 'CredentialsProviderError' || (e.name === 'ProviderError' && typeof e.message === 'string' && /credential/i.test(e.message));
}

const DOING = Symbol('confix.doing');

/** Marks an error with what was being done (an IAM action and its resource), for toProviderError; the first mark stays. */
export function annotate(err: unknown, doing: string): unknown {
  if (err !== null && typeof err === 'object' && !(DOING in err)) Object.defineProperty(err, DOING, { value: doing });
  return err;
}

/**
 * The ProviderError for anything the SDK threw. A ProviderError passes
 * through as it is; an error that is not the SDK's (a bug) is returned
 * unchanged, so that it is not mistaken for the cloud's answer.
 * `doing` (the IAM action, a role ARN) is added to a refusal whose message
 * does not name it already.
 */
export function toProviderError(provider: string, err: unknown, doing?: string): ProviderError | Error {
  if (err instanceof ProviderError) return err;
  if (!(err instanceof Error)) return new ProviderError(provider, 'UnknownError', String(err), false, 500);
  const e = err as Error & SdkErrorShape;
  doing = (e as { [DOING]?: string })[DOING] ?? doing;
  const say = (code: string, message: string) => (doing && REFUSAL_CODES.test(code) && !message.includes(doing) ? `${message} (${doing})` : message);
  if (isCredentialError(e))
    return new ProviderError(
      provider,
      'NoCredentials',
      `${say('NoCredentials', e.message || 'no AWS credentials were found')}. ${CREDENTIALS_HINT}`,
      false,
      401,
    );
  if (e.$metadata && typeof e.$metadata === 'object' && (e.$fault === 'client' || e.$fault === 'server' || e.$metadata.httpStatusCode !== undefined)) {
    const status = e.$metadata.httpStatusCode ?? (e.$fault === 'server' ? 500 : 400);
    let code = typeof e.Code === 'string' && e.Code ? e.Code : typeof e.name === 'string' && e.name ? e.name : 'UnknownError';
    if (code === 'Unknown' || code === 'UnknownError' || code === 'Error') code = `Http${status}`;
    let message = e.message && e.message !== 'UnknownError' && e.message !== 'Unknown' ? e.message : `${code} (HTTP ${status})`;
    // An answer the SDK could not parse (an endpoint or proxy answering in another protocol): its status is all there is to go by.
    if (e.name === 'SyntaxError' || /Deserialization error/.test(message)) {
      code = BY_STATUS[status] ?? `Http${status}`;
      message = `HTTP ${status}${BY_STATUS[status] ? ` (${BY_STATUS[status]})` : ''}, in an answer the AWS SDK could not read`;
    }
    const retryable = (e.$retryable !== undefined && e.$retryable !== null) || isRetryable(code, status);
    return new ProviderError(provider, code, say(code, message), retryable, status);
  }
  const netCode =
    typeof e.code === 'string' && NETWORK_CODES.has(e.code) ? e.code : typeof e.name === 'string' && NETWORK_CODES.has(e.name) ? e.name : undefined;
  if (netCode) return new ProviderError(provider, netCode, e.message || netCode, true, 503);
  if (typeof e.code === 'string' && e.code === 'ENOTFOUND') return new ProviderError(provider, 'ENOTFOUND', e.message, false, 503);
  return err;
}

/** toProviderError, thrown. */
export function rethrow(provider: string, err: unknown, doing?: string): never {
  throw toProviderError(provider, err, doing);
}

/** The AWS error code of an error (after mapping), for the not-found checks. */
export function codeOf(err: unknown): string | undefined {
  const e = err as { code?: unknown; name?: unknown; Code?: unknown };
  if (err instanceof ProviderError) return err.code;
  if (typeof e?.Code === 'string') return e.Code;
  // An unreadable answer: its status says what it was.
  const status = (err as SdkErrorShape)?.$metadata?.httpStatusCode;
  if (e?.name === 'SyntaxError' && status) return BY_STATUS[status] ?? `Http${status}`;
  if (typeof e?.name === 'string') return e.name;
  return undefined;
}
