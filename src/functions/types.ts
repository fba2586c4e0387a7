/**
 * What a function's code sees: `handler(event, context)` and the context's
 * shape. Function authors may `import type { FunctionContext } from …` this
 * file; type-only imports vanish when the code is compiled.
 */
import type { CallResult } from '../providers/index.js';

/**
 * Short-lived credentials in both clouds' names, so code written for Lambda
 * (accessKeyId, secretAccessKey, sessionToken) and for Function Compute
 * (accessKeyId, accessKeySecret, securityToken) works unchanged. Credentials
 * passed to context.cloud need accessKeyId and either secret's name.
 */
export interface FunctionCredentials {
  accessKeyId: string;
  /** AWS's name for the secret (the same value as accessKeySecret). */
  secretAccessKey?: string;
  /** Alibaba Cloud's name for the secret. */
  accessKeySecret?: string;
  /** AWS's name for the token (the same value as securityToken). */
  sessionToken?: string;
  /** Alibaba Cloud's name for the token. */
  securityToken?: string;
  /** ISO 8601 */
  expiration?: string;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface FunctionLogger {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
  log(...args: unknown[]): void;
}

/** An error answered by confix's API or the sandbox cloud: its code and message as the API gave them. */
export interface ApiCallError extends Error {
  name: 'ApiCallError';
  /** The API's error code (NoPermission, RuleNotFound, …), or NetworkError / HttpError<status>. */
  code: string;
  /** The HTTP status, 0 when no answer came. */
  status: number;
  /** The whole error body, when there was one. */
  details?: unknown;
}

export interface CloudCallInput {
  /** The provider (sandbox, aws, …); by default the one that governs the account. */
  provider?: string;
  accountId?: string;
  regionId?: string;
  parameters?: Record<string, unknown>;
}

/** The cloud that governs the account (the sandbox or AWS), signed with credentials (the context's by default). */
export interface CloudClient {
  /** One API action by its IAM name, e.g. `ec2:RevokeSecurityGroupIngress`, `ecs:RevokeSecurityGroup` → POST /api/v1/cloud/actions/{action}. */
  call(
    action: string,
    input?: CloudCallInput,
    credentials?: FunctionCredentials,
  ): Promise<CallResult & { provider: string; configurationItemId: number | null }>;
  /** STS AssumeRole with the caller's credentials (the context's by default), in the cloud of the role's account. */
  assumeRole(
    input: { roleArn: string; roleSessionName: string; durationSeconds?: number; externalId?: string; provider?: string },
    credentials?: FunctionCredentials,
  ): Promise<{ provider: string; credentials: Required<FunctionCredentials>; assumedRoleUser: { arn: string } }>;
}

/** confix's own API (/api/v1), with the invocation's bearer token when it has one. */
export interface ConfixClient {
  request<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** StartRemediationExecution: POST /rules/{rule}/remediation/executions. */
  startRemediation(input: { rule: string; resourceIds?: string[]; allNonCompliant?: boolean; dryRun?: boolean }): Promise<{
    queued: { executionId: string; ruleName: string; resourceId: string; status: string; dryRun: boolean; [k: string]: unknown }[];
    failed: { resourceId: string; reason: string }[];
  }>;
}

export interface FunctionContext {
  requestId: string;
  functionName: string;
  functionVersion: string;
  memoryLimitInMB: number;
  timeoutSeconds: number;
  /** Epoch milliseconds at which the invocation is stopped. */
  deadline: number;
  getRemainingTimeInMillis(): number;
  /** A private directory the code may read and write (node:fs), removed after the invocation; the only place it can. */
  tmpDir: string;
  /** The function role's short-lived credentials; undefined when it has no role. */
  credentials: FunctionCredentials | undefined;
  logger: FunctionLogger;
  cloud: CloudClient;
  confix: ConfixClient;
}

export type Handler<E = unknown, R = unknown> = (event: E, context: FunctionContext) => R | Promise<R>;
