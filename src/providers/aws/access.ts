/**
 * Whose credentials a call runs with. The account the base credentials belong
 * to (the management or delegated administrator account, or the single
 * account) uses them as they are; every other account is reached through a
 * role assumed in it (OrganizationAccountAccessRole unless configured), whose
 * credentials are kept until five minutes before they expire. A refused
 * AssumeRole is a ProviderError in AWS's words naming the role ARN, and is
 * remembered for a short while, so that the scopes of a refused account do not
 * each ask again.
 */
import { AssumeRoleCommand, GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import { ProviderError, type AssumedCredentials, type ProviderCredentials } from '../types.js';
import type { AwsIdentity, AwsIdentityProvider } from './clients.js';
import { rethrow, toProviderError } from './errors.js';

/** Credentials are renewed this long before they expire (as the SDK does). */
export const REFRESH_BEFORE_MS = 5 * 60_000;
/** A refused AssumeRole is not asked again for this long. */
export const REFUSAL_MEMORY_MS = 30_000;

export interface Caller {
  accountId: string;
  arn: string;
  /** aws, aws-cn, aws-us-gov: from the caller's ARN. */
  partition: string;
}

export interface RoleSettings {
  roleName: string;
  externalId?: string;
  sessionName: string;
  durationSeconds?: number;
}

/** The contract's neutral names → the SDK's. */
export function sdkCredentials(c: ProviderCredentials): AwsIdentity {
  return { accessKeyId: c.accessKeyId, secretAccessKey: c.accessKeySecret, ...(c.securityToken ? { sessionToken: c.securityToken } : {}) };
}

/** A client cache key for given credentials (never the secret itself). */
export function givenKey(c: ProviderCredentials): string {
  return `given:${c.accessKeyId}:${c.securityToken ? c.securityToken.slice(-24) : ''}`;
}

export function partitionOf(arn: string): string {
  return /^arn:([^:]+):/.exec(arn)?.[1] ?? 'aws';
}

type Cached = { identity: AwsIdentity; expiresAt: number } | { refusal: ProviderError; until: number };

export class Access {
  private callerPromise: Promise<Caller> | undefined;
  private readonly cache = new Map<string, Cached>();
  private readonly inflight = new Map<string, Promise<AwsIdentity>>();
  private readonly providers = new Map<string, AwsIdentityProvider>();
  /** AssumeRole calls made for accounts' own access (tests look at it). */
  assumeRoleCalls = 0;

  constructor(
    private readonly providerName: string,
    readonly base: AwsIdentityProvider,
    /** An STS client with the given credentials (the base ones when none). */
    private readonly sts: (credentials?: ProviderCredentials) => STSClient,
    private readonly role: RoleSettings,
    private readonly now: () => number,
  ) {}

  /** Who the base credentials are (asked once; asked again after a failure). */
  caller(): Promise<Caller> {
    this.callerPromise ??= (async () => {
      try {
        const out = await this.sts().send(new GetCallerIdentityCommand({}));
        return { accountId: out.Account!, arn: out.Arn!, partition: partitionOf(out.Arn ?? '') };
      } catch (err) {
        this.callerPromise = undefined;
        rethrow(this.providerName, err, 'sts:GetCallerIdentity');
      }
    })();
    return this.callerPromise;
  }

  /** The ARN of the role confix assumes in a member account. */
  memberRoleArn(accountId: string, partition: string): string {
    return `arn:${partition}:iam::${accountId}:role/${this.role.roleName}`;
  }

  /**
   * The credentials of an account's own access, as a provider the SDK's
   * clients call (one per account, so that every client of the account shares
   * one assumed session).
   */
  forAccount(accountId: string): AwsIdentityProvider {
    let p = this.providers.get(accountId);
    if (!p) this.providers.set(accountId, (p = () => this.resolve(accountId)));
    return p;
  }

  private async resolve(accountId: string): Promise<AwsIdentity> {
    const caller = await this.caller();
    if (accountId === caller.accountId) {
      try {
        return await this.base();
      } catch (err) {
        rethrow(this.providerName, err);
      }
    }
    const hit = this.cache.get(accountId);
    const now = this.now();
    if (hit && 'identity' in hit && hit.expiresAt - now > REFRESH_BEFORE_MS) return hit.identity;
    if (hit && 'refusal' in hit && hit.until > now) throw hit.refusal;
    let running = this.inflight.get(accountId);
    if (!running) {
      running = this.assumeMember(accountId, caller).finally(() => this.inflight.delete(accountId));
      this.inflight.set(accountId, running);
    }
    return running;
  }

  private async assumeMember(accountId: string, caller: Caller): Promise<AwsIdentity> {
    const roleArn = this.memberRoleArn(accountId, caller.partition);
    try {
      this.assumeRoleCalls++;
      const c = await this.assume(undefined, {
        roleArn,
        sessionName: this.role.sessionName,
        durationSeconds: this.role.durationSeconds,
        externalId: this.role.externalId,
      });
      const identity: AwsIdentity = {
        accessKeyId: c.accessKeyId,
        secretAccessKey: c.accessKeySecret,
        sessionToken: c.securityToken,
        expiration: new Date(c.expiration),
      };
      this.cache.set(accountId, { identity, expiresAt: Date.parse(c.expiration) });
      return identity;
    } catch (err) {
      if (err instanceof ProviderError && !err.retryable) this.cache.set(accountId, { refusal: err, until: this.now() + REFUSAL_MEMORY_MS });
      throw err;
    }
  }

  /** Forgets every assumed session and refusal (after the role was fixed, say). */
  forget(): void {
    this.cache.clear();
  }

  /** sts:AssumeRole with the given credentials (the base ones when none); a refusal names the role ARN. */
  async assume(
    caller: ProviderCredentials | undefined,
    req: { roleArn: string; sessionName: string; durationSeconds?: number; externalId?: string },
  ): Promise<AssumedCredentials> {
    let out;
    try {
      out = await this.sts(caller).send(
        new AssumeRoleCommand({
          RoleArn: req.roleArn,
          RoleSessionName: req.sessionName,
          ...(req.durationSeconds ? { DurationSeconds: req.durationSeconds } : {}),
          ...(req.externalId ? { ExternalId: req.externalId } : {}),
        }),
      );
    } catch (err) {
      const e = toProviderError(this.providerName, err);
      if (!(e instanceof ProviderError)) throw e;
      const message = e.message.includes(req.roleArn) ? e.message : `${e.message} (assuming ${req.roleArn})`;
      throw new ProviderError(this.providerName, e.code, message, e.retryable, e.httpStatus);
    }
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken)
      throw new ProviderError(this.providerName, 'InvalidResponse', `sts:AssumeRole on ${req.roleArn} answered no credentials`, true, 502);
    const expiration = c.Expiration instanceof Date ? c.Expiration.toISOString() : new Date(String(c.Expiration ?? Date.now() + 3600_000)).toISOString();
    return {
      accessKeyId: c.AccessKeyId,
      accessKeySecret: c.SecretAccessKey,
      securityToken: c.SessionToken,
      expiration,
      assumedRoleArn: out.AssumedRoleUser?.Arn ?? req.roleArn,
    };
  }

  /** Who given credentials are (sts:GetCallerIdentity with them), remembered per key. */
  async whoIs(c: ProviderCredentials): Promise<Caller> {
    const key = givenKey(c);
    let p = this.whoCache.get(key);
    if (!p) {
      p = (async () => {
        try {
          const out = await this.sts(c).send(new GetCallerIdentityCommand({}));
          return { accountId: out.Account!, arn: out.Arn!, partition: partitionOf(out.Arn ?? '') };
        } catch (err) {
          this.whoCache.delete(key);
          rethrow(this.providerName, err, 'sts:GetCallerIdentity');
        }
      })();
      this.whoCache.set(key, p);
      if (this.whoCache.size > 256) this.whoCache.delete(this.whoCache.keys().next().value!);
    }
    return p;
  }
  private readonly whoCache = new Map<string, Promise<Caller>>();
}
