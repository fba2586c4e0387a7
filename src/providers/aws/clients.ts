/**
 * The SDK clients the provider talks through: one per service, region and
 * identity (an account's own access, or credentials a caller gave), made on
 * first use and kept. Every client retries in the SDK's adaptive mode (it
 * slows down on throttling), and every HTTP attempt it makes for an account
 * takes a slot of that account's semaphore, so no account has more than
 * `concurrencyPerAccount` requests in flight whatever runs at once.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { S3Client } from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Semaphore } from '../../util/semaphore.js';

/** Credentials as the SDK takes them. */
export interface AwsIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}
export type AwsIdentityProvider = () => Promise<AwsIdentity>;

export interface ClientSettings {
  /** An endpoint for every service (tests); otherwise the SDK's own, which honours AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>. */
  endpoint?: string;
  maxAttempts: number;
  /** S3 by path (http://host/bucket), as emulators need. */
  forcePathStyle: boolean;
}

const CLIENTS = { ec2: EC2Client, s3: S3Client, sts: STSClient, organizations: OrganizationsClient, sqs: SQSClient };
export type Service = keyof typeof CLIENTS;
type ClientOf<S extends Service> = InstanceType<(typeof CLIENTS)[S]>;

// Clients for credentials a caller gave (an execution's role) are kept for a while, a bounded number.
const MAX_GIVEN = 64;

export class Clients {
  private readonly own = new Map<string, { destroy(): void }>();
  private readonly given = new Map<string, { destroy(): void }>();
  private readonly limits = new Map<string, Semaphore>();

  constructor(
    private readonly settings: ClientSettings,
    private readonly concurrencyPerAccount: number,
  ) {}

  /** The semaphore of an account's requests. */
  limit(accountId: string): Semaphore {
    let s = this.limits.get(accountId);
    if (!s) this.limits.set(accountId, (s = new Semaphore(this.concurrencyPerAccount)));
    return s;
  }

  /**
   * A client of a service in a region. `identity` names whose credentials
   * these are (an account's own access, or a given key), `accountId` whose
   * semaphore its requests take (none: not limited, e.g. the queue's long poll).
   */
  get<S extends Service>(
    service: S,
    region: string,
    credentials: AwsIdentityProvider | AwsIdentity,
    identity: { key: string; given: boolean },
    accountId?: string,
  ): ClientOf<S> {
    const cacheKey = `${service}|${region}|${identity.key}|${accountId ?? ''}`;
    const cache = identity.given ? this.given : this.own;
    const found = cache.get(cacheKey);
    if (found) {
      if (identity.given) {
        // Most recently used last: the first is the one to let go.
        cache.delete(cacheKey);
        cache.set(cacheKey, found);
      }
      return found as ClientOf<S>;
    }
    const Ctor = CLIENTS[service] as unknown as new (config: Record<string, unknown>) => ClientOf<S>;
    const client = new Ctor({
      region,
      credentials,
      retryMode: 'adaptive',
      maxAttempts: this.settings.maxAttempts,
      // A connection that never answers fails (and is retried) instead of hanging a scan; above SQS's 20 s long poll.
      requestHandler: { connectionTimeout: 10_000, requestTimeout: 60_000 },
      ...(this.settings.endpoint ? { endpoint: this.settings.endpoint } : {}),
      ...(service === 's3' ? { forcePathStyle: this.settings.forcePathStyle, followRegionRedirects: true } : {}),
    });
    if (accountId !== undefined) {
      const limit = this.limit(accountId);
      // In the deserialize step, inside the retry loop: one slot per HTTP attempt, not held while backing off.
      (client.middlewareStack as unknown as { add(mw: unknown, opts: Record<string, unknown>): void }).add(
        (next: (args: unknown) => Promise<unknown>) => (args: unknown) => limit.run(() => next(args)),
        { step: 'deserialize', name: 'confixAccountConcurrency', priority: 'low' },
      );
    }
    cache.set(cacheKey, client);
    if (identity.given && cache.size > MAX_GIVEN) {
      const [oldest] = cache.keys();
      cache.get(oldest!)?.destroy();
      cache.delete(oldest!);
    }
    return client;
  }

  /** The most requests that were in flight at once, per account. */
  peaks(): Record<string, number> {
    return Object.fromEntries([...this.limits].map(([a, s]) => [a, s.peak]));
  }

  destroy(): void {
    for (const c of [...this.own.values(), ...this.given.values()]) c.destroy();
    this.own.clear();
    this.given.clear();
  }
}
