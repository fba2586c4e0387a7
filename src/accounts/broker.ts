/**
 * The credential broker: what confix signs a provider call with when it acts
 * in an account. confix holds access keys only for the accounts it is told to
 * (typically the management account); it reaches any other account by
 * assuming, from that home account, the role a remediation names — first the
 * role of that name in the home account, then the role in the target account,
 * as seed 000 chains them. Temporary credentials are cached until shortly
 * before they expire. Nothing here logs or returns a secret except to the
 * caller that signs with it.
 */
import {
  principalArn,
  ProviderError,
  roleArn,
  type AssumedCredentials,
  type Dialect,
  type ProviderCredentials as Credentials,
  type ProviderRegistry,
} from '../providers/index.js';
import type { CredentialStore } from './credentials.js';
import { ConfixError } from '../errors.js';

/** No stored access key to start from: the message says which account needs one and how to add it. */
export class NoCredentialsError extends ConfixError {
  constructor(message: string) {
    super('NoCredentials', 'forbidden', message);
  }
}

export interface AccessRequest {
  /** The account the calls act in. */
  accountId: string;
  /** The role to assume there (a name, as `executionRole` gives it); none: the account's own stored key. */
  role?: string;
  /** The account holding the key the chain starts from (a rule's account group owner, else the management account). */
  home?: string;
  dialect: Dialect;
  /** What the session is for; shows in the cloud's assumed-role ARN. */
  sessionName?: string;
}

export interface Access {
  /** What to sign with; undefined: the account's own access (the sandbox's console, where no key is stored and no role named). */
  credentials?: Credentials;
  /** The identity the calls are made as, e.g. acs:ram::B:assumed-role/configcustomremediationrole/confix-remediation. */
  principal: string;
  /** How it was reached, for the execution's step (no secrets). */
  via: string[];
  /** ISO time, for assumed credentials. */
  expiration?: string;
  /** Served from the cache. */
  cached: boolean;
}

export interface BrokerOptions {
  /** Session length asked for (default 3600 s; the role's maximum caps it). */
  durationSeconds?: number;
  /** Credentials are renewed this long before they expire (default 5 minutes, at most a fifth of the session). */
  refreshBeforeMs?: number;
  now?: () => number;
}

interface Cached {
  creds: AssumedCredentials;
  via: string[];
  /** The account the credentials act in (for forget()). */
  accountId: string;
}

const MIN_DURATION = 900;

export class CredentialBroker {
  private readonly cache = new Map<string, Cached>();
  private readonly pending = new Map<string, Promise<Cached>>();
  private readonly durationSeconds: number;
  private readonly refreshBeforeMs: number;
  private readonly now: () => number;

  constructor(
    private readonly providers: ProviderRegistry,
    private readonly keys: CredentialStore,
    opts: BrokerOptions = {},
  ) {
    this.durationSeconds = opts.durationSeconds ?? 3600;
    this.refreshBeforeMs = opts.refreshBeforeMs ?? 5 * 60_000;
    this.now = opts.now ?? Date.now;
  }

  /** The credentials for acting in an account, assuming roles as needed. Refusals are the provider's own errors. */
  async access(req: AccessRequest): Promise<Access> {
    if (!req.role) {
      const key = await this.keys.secretFor(req.accountId);
      if (!key)
        return {
          principal: `the owner of account ${req.accountId}`,
          via: [`no key stored for ${req.accountId} and no execution role: the account's own access`],
          cached: false,
        };
      return {
        credentials: key,
        principal: principalArn({ type: 'root', accountId: req.accountId }, req.dialect),
        via: [`the stored access key ${key.accessKeyId} of account ${req.accountId}`],
        cached: false,
      };
    }
    const home = req.home ?? req.accountId;
    const session = req.sessionName ?? 'confix';
    const cacheKey = `${req.dialect}|${home}|${req.accountId}|${req.role.toLowerCase()}|${session}`;
    const hit = this.cache.get(cacheKey);
    if (hit && this.fresh(hit.creds)) return this.answer(hit, true);
    let p = this.pending.get(cacheKey);
    if (!p) {
      // One AssumeRole chain at a time per target: concurrent executions share it.
      p = this.chain(home, req.accountId, req.role, req.dialect, session).finally(() => this.pending.delete(cacheKey));
      this.pending.set(cacheKey, p);
    }
    const got = await p;
    this.cache.set(cacheKey, got);
    return this.answer(got, false);
  }

  /** Drops cached credentials (after the provider refused them as expired or invalid). */
  forget(accountId?: string): void {
    for (const [k, c] of this.cache) if (!accountId || c.accountId === accountId) this.cache.delete(k);
  }

  private answer(c: Cached, cached: boolean): Access {
    return { credentials: c.creds, principal: c.creds.assumedRoleArn, via: c.via, expiration: c.creds.expiration, cached };
  }

  private fresh(c: AssumedCredentials): boolean {
    const expires = Date.parse(c.expiration);
    const margin = Math.min(this.refreshBeforeMs, (this.durationSeconds * 1000) / 5);
    return expires - margin > this.now();
  }

  private async chain(home: string, target: string, role: string, dialect: Dialect, session: string): Promise<Cached> {
    const key = await this.keys.secretFor(home);
    if (!key)
      throw new NoCredentialsError(
        `no access key is stored for account ${home}, from which role ${role} is assumed in account ${target}; ` +
          `add one with \`confix credentials add --account ${home} …\``,
      );
    const durationSeconds = Math.max(MIN_DURATION, this.durationSeconds);
    // The target account's cloud assumes the roles (the home account is of the same organization).
    const provider = await this.providers.forAccount(target);
    const assume = async (creds: Credentials, arn: string) => {
      try {
        return await provider.assumeRole(creds, { roleArn: arn, sessionName: session, durationSeconds });
      } catch (err) {
        // A role whose maximum session is shorter than asked: take what it allows.
        if (err instanceof ProviderError && /DurationSeconds/.test(err.code + err.message))
          return provider.assumeRole(creds, { roleArn: arn, sessionName: session, durationSeconds: MIN_DURATION });
        throw err;
      }
    };
    const via = [`the stored access key ${key.accessKeyId} of account ${home}`];
    const homeArn = roleArn(dialect, home, role);
    if (target === home) {
      const creds = await assume(key, homeArn);
      return { creds, via: [...via, `AssumeRole ${homeArn}`], accountId: target };
    }
    // Seed 000's chain: the home account's role of that name, then the member's.
    let hop: Credentials = key;
    try {
      hop = await assume(key, homeArn);
      via.push(`AssumeRole ${homeArn}`);
    } catch (err) {
      // No role of that name at home: the stored key assumes the member's role itself.
      if (!(err instanceof ProviderError && (err.code === 'EntityNotExist.Role' || err.code === 'NoSuchEntity'))) throw err;
    }
    const targetArn = roleArn(dialect, target, role);
    const creds = await assume(hop, targetArn);
    return { creds, via: [...via, `AssumeRole ${targetArn}`], accountId: target };
  }
}
