import { ConfixError, kindOfStatus } from '../errors.js';
/**
 * The provider contract: everything the engine needs from a cloud. The
 * engine (recorder, evaluator, remediation worker, credential broker, account
 * groups, functions, policy, API, CLI) reaches a cloud only through this; a
 * provider's own folder (src/providers/sandbox, src/providers/aws, …) is its
 * business. Several providers run at once: every resource names its provider,
 * and an account belongs to exactly one.
 */

/** Identifies one resource everywhere in confix. */
export interface ResourceKey {
  accountId: string;
  regionId: string;
  resourceType: string;
  resourceId: string;
}

export type Tags = Record<string, string>;
export type Configuration = Record<string, unknown>;

/** A resource as the cloud describes it now. */
export interface ResourceState extends ResourceKey {
  resourceName?: string;
  tags: Tags;
  /** In the shape of the cloud's own describe API. */
  configuration: Configuration;
}

export type ChangeType = 'create' | 'update' | 'delete';

/** A change notification: something about this resource changed at this time. */
export interface ResourceChange extends ResourceKey {
  changeType: ChangeType;
  /** The API action that caused it, e.g. ecs:AuthorizeSecurityGroup. */
  action: string;
  changedAt: Date;
}

/**
 * An access key, or temporary credentials with their security token, in
 * confix's neutral names (Alibaba Cloud's: AccessKeySecret, SecurityToken;
 * AWS calls them SecretAccessKey and SessionToken).
 */
export interface ProviderCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string;
}

/** Temporary credentials from a role assumption, with who they are and until when. */
export interface AssumedCredentials extends ProviderCredentials {
  securityToken: string;
  /** ISO 8601. */
  expiration: string;
  /** The assumed-role identity, as the cloud names it (acs:ram::…:assumed-role/…, arn:aws:sts::…:assumed-role/…). */
  assumedRoleArn: string;
}

/** acs: Alibaba Cloud's conventions (ARNs, error codes, RAM); aws: AWS's. */
export type Dialect = 'acs' | 'aws';

export interface Account {
  accountId: string;
  name: string;
  regions: string[];
}

/** The resource directory (Alibaba Cloud) or organization (AWS), as its management account sees it. */
export interface Organization {
  managementAccount: string;
  delegatedAdministrators: string[];
  /** Folders or OUs, by path (`production`, `production/web`). */
  folders: { path: string; name: string; parentPath: string | null }[];
  accounts: { accountId: string; name: string; folderPath: string | null }[];
}

export interface DiscoveryScope {
  accountId: string;
  regionId: string;
  resourceType: string;
}

/** A durable, ordered feed of change notifications read from a cursor. */
export interface ChangeFeed {
  read(cursor: string | null, limit: number): Promise<{ changes: ResourceChange[]; cursor: string | null }>;
  /** Called (without data) whenever new changes may be readable; returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
  /**
   * For feeds that cannot be re-read from a cursor (a queue): called once the
   * changes up to `cursor` are recorded, so the source may forget them.
   */
  acknowledge?(cursor: string): Promise<void>;
}

/** Where one API call goes: an account and a region (either may be left out when the resource id alone tells). */
export interface CallTarget {
  accountId?: string;
  regionId?: string;
}

/** What one API call did. */
export interface CallResult {
  requestId: string;
  /** As IAM names it: ec2:RevokeSecurityGroupIngress. */
  action: string;
  accountId: string;
  regionId: string;
  resourceType: string;
  resourceId: string;
  /** Whether the resource's configuration changed (false for a call that found it as asked). */
  changed: boolean;
  /** The cloud's answer, in its own shape. */
  result: Record<string, unknown>;
}

/**
 * The facts of one resource type, in one place: how the cloud names a
 * resource of it, what permission reads it, how array items are told apart
 * in diffs.
 */
export interface ResourceTypeFacts {
  /** As the clouds spell it: ACS::ECS::SecurityGroup, AWS::S3::Bucket, … */
  type: string;
  dialect: Dialect;
  /** One line for help texts. */
  description: string;
  /** The resource's ARN (or resource name): for policy statements, refusals and events. */
  arn(key: Pick<ResourceKey, 'accountId' | 'regionId' | 'resourceId'>): string;
  /** The IAM action that reads the type: what a discovery role must be allowed. */
  readPermission: string;
  /** Every IAM action discovery of the type makes (readPermission and the rest, e.g. S3's per-bucket reads). */
  readPermissions: string[];
  /** Keys that identify an item of an array in the configuration (SecurityGroupRuleId, CidrIp, …), for stable diffs. */
  idKeys: string[];
}

/**
 * The one error a provider throws: the cloud's own code and words, and
 * whether trying again can help. Throttling, timeouts and 5xx are retryable;
 * permission refusals, validation errors, service-managed resources and
 * missing resources are not.
 */
export class ProviderError extends ConfixError {
  declare readonly httpStatus: number;
  constructor(
    /** The provider's name (sandbox, aws, …). */
    readonly provider: string,
    /** In the cloud's words: NoPermission, UnauthorizedOperation, InvalidGroup.NotFound, Throttling, … */
    code: string,
    message: string,
    readonly retryable = false,
    /** The HTTP status the cloud answered (the API passes it through). */
    httpStatus = 400,
  ) {
    super(code, kindOfStatus(httpStatus), message, { httpStatus, details: { provider } });
  }
}

/** Codes that say "try again later" in either cloud's dialect. */
const RETRYABLE_CODES =
  /^(Throttl|RequestLimitExceeded|TooManyRequests|ServiceUnavailable|InternalError|InternalFailure|RequestTimeout|SlowDown|Unavailable|ServiceBusy)/i;

/** Whether an error code (and HTTP status) is one retrying can help. */
export function isRetryable(code: string, httpStatus?: number): boolean {
  return RETRYABLE_CODES.test(code) || (httpStatus !== undefined && (httpStatus >= 500 || httpStatus === 429));
}

/**
 * Codes that say "you may not" (a permission or a credential refused) in
 * either cloud's dialect: a read refused keeps what was recorded, a call
 * refused is not retried.
 */
export const REFUSAL_CODES =
  /^(NoPermission|AccessDenied|UnauthorizedOperation|AuthFailure|NoCredentials|EntityNotExist|NoSuchEntity|InvalidSecurityToken|ExpiredToken|InvalidToken|InvalidAccessKeyId|SignatureDoesNotMatch|InvalidClientTokenId|UnrecognizedClient|OptInRequired|AllAccessDisabled)/;

/** The refusal's code and words, when an error is one (see REFUSAL_CODES). */
export function refusalOf(err: unknown): { code: string; message: string } | undefined {
  const e = err as { code?: unknown; message?: unknown };
  return typeof e?.code === 'string' && typeof e.message === 'string' && REFUSAL_CODES.test(e.code) ? { code: e.code, message: e.message } : undefined;
}

export interface Provider {
  /** Stable name of this provider instance (sandbox, aws, aws-prod): the recorder's cursor key and on every recorded resource. */
  readonly name: string;
  /** Which cloud it speaks to. */
  readonly kind: 'sandbox' | 'aws' | 'aliyun';
  listAccounts(): Promise<Account[]>;
  /** The organization, or null when there is none (a single account). */
  organization(): Promise<Organization | null>;
  /** The management account, when there is an organization. */
  managementAccount(): Promise<string | undefined>;
  /** The resource types this provider serves, with their facts. */
  resourceTypes(): ResourceTypeFacts[];
  /**
   * Every resource of one type in one account and region (a full snapshot of
   * that scope). With credentials, the read is authorised by the cloud's IAM.
   */
  discover(scope: DiscoveryScope, credentials?: ProviderCredentials): Promise<ResourceState[]>;
  /** One resource's current state, or null when it no longer exists. */
  describe(key: ResourceKey, credentials?: ProviderCredentials): Promise<ResourceState | null>;
  changeFeed?: ChangeFeed;
  /**
   * One API action by its IAM name (`ec2:RevokeSecurityGroupIngress`) with the
   * cloud's parameter names, in one account and region. Without credentials,
   * the provider's own access in that account (the sandbox: the account
   * owner; a real cloud: its configured chain, through the organization role).
   */
  call(action: string, target: CallTarget, params: Record<string, unknown>, credentials?: ProviderCredentials): Promise<CallResult>;
  /** The API actions call() serves, by their IAM names. */
  actions(): string[];
  /** AssumeRole with the caller's credentials; a refusal is a ProviderError in the cloud's words. */
  assumeRole(
    caller: ProviderCredentials,
    req: { roleArn: string; sessionName: string; durationSeconds?: number; externalId?: string },
  ): Promise<AssumedCredentials>;
  /**
   * The role's credentials for a function (the function service assuming the
   * function's role: it must trust fc.aliyuncs.com or lambda.amazonaws.com).
   */
  assumeRoleForFunction(req: { roleArn: string; sessionName: string }): Promise<AssumedCredentials>;
  /** A role's ARN in an account, in the dialect of a resource type (or the provider's own). */
  roleArn(accountId: string, roleName: string, dialect?: Dialect): string;
  /** The account root's ARN (who a stored access key is), for messages. */
  principalArn(accountId: string, dialect?: Dialect): string;
  /** Lets go of what it holds (connections, a change feed's polling); the engine's owner calls it when it stops. */
  close?(): Promise<void>;
  /** Whether the cloud accepts an access key as the given account's. */
  verifyCredentials(
    accountId: string,
    c: { accessKeyId: string; accessKeySecret: string },
  ): Promise<{ ok: true } | { ok: false; code: string; reason: string }>;
}

export function keyString(k: ResourceKey): string {
  return `${k.accountId}/${k.regionId}/${k.resourceType}/${k.resourceId}`;
}
