/**
 * The AWS provider: confix's door to AWS accounts, on the AWS SDK for
 * JavaScript v3. Credentials come from the SDK's default chain (environment,
 * shared config and credentials files with profiles, SSO, web identity,
 * container and instance roles), the endpoints from the SDK too (it honours
 * AWS_ENDPOINT_URL and its per-service forms), so the same code runs against
 * AWS or any endpoint. A single account, or an organization read from its
 * management (or a delegated administrator) account, whose members are read
 * and changed through a role assumed in each.
 */
import { Semaphore } from '../../util/semaphore.js';
import { randomUUID } from 'node:crypto';
import { DescribeRegionsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import type { S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { OrganizationsClient } from '@aws-sdk/client-organizations';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import {
  ProviderError,
  type Account,
  type AssumedCredentials,
  type CallResult,
  type CallTarget,
  type Dialect,
  type DiscoveryScope,
  type Organization,
  type Provider,
  type ProviderCredentials,
  type ResourceKey,
  type ResourceState,
  type ResourceTypeFacts,
} from '../types.js';
import { resourceTypeFacts } from '../resource-types/index.js';
import { principalArn as principalArnOf, roleArn as roleArnOf } from '../identity.js';
import { silentLogger, type Logger } from '../../util/log.js';
import { truncate } from '../../util/text.js';
import { Access, givenKey, sdkCredentials, type Caller } from './access.js';
import { AWS_ACTIONS, differs, type ActionSpec, type Params, type Probe } from './actions.js';
import { Clients, type AwsIdentity, type AwsIdentityProvider, type Service } from './clients.js';
import {
  AWS_TYPES,
  BUCKET,
  INSTANCE,
  SECURITY_GROUP,
  bucketRegion,
  bucketState,
  describeInstance,
  describeSecurityGroup,
  discoverInstances,
  discoverSecurityGroups,
  listBuckets,
  type ListedBucket,
} from './discovery.js';
import { codeOf, rethrow, toProviderError } from './errors.js';
import { SqsChangeFeed, type FeedCounters } from './feed.js';
import { isNoOrganization, readOrganization } from './organization.js';
import { plain } from './plain.js';

export interface AwsOrganizationOptions {
  /** The role confix assumes in every member account (default OrganizationAccountAccessRole). */
  roleName?: string;
  /** The external id the role's trust policy asks for, if any. */
  externalId?: string;
  /** The session name, as CloudTrail shows it (default confix). */
  sessionName?: string;
  /** How long an assumed session lasts (default: the role's, 1 hour). */
  durationSeconds?: number;
}

export interface AwsProviderOptions {
  /** The provider's name: on every recorded resource, and the recorder's cursor key (default aws). */
  name?: string;
  /** A profile of the shared config and credentials files (else AWS_PROFILE, else default). */
  profile?: string;
  /** Where global calls go (STS, ListBuckets, the queue when its URL does not say): else AWS_REGION, the first of `regions`, us-east-1. */
  region?: string;
  /** The regions to govern; default every region enabled in each account (ec2:DescribeRegions). */
  regions?: readonly string[];
  /**
   * The organization, read through AWS Organizations, each member through a
   * role assumed in it; false: only the account the credentials belong to.
   * Left out: the organization when these credentials may read one, else the single account.
   */
  organization?: AwsOrganizationOptions | false;
  /** The SQS queue an EventBridge rule sends CloudTrail events to: the change feed. */
  eventsQueueUrl?: string;
  /** Long poll of the queue, in seconds (default 20, SQS's most). */
  eventsWaitSeconds?: number;
  /** Visibility timeout of received messages, in seconds (default: the queue's). */
  eventsVisibilityTimeout?: number;
  /** Requests in flight per account at most (default 4). */
  concurrencyPerAccount?: number;
  /** One endpoint for every service (tests); otherwise the SDK's, which honours AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>. */
  endpoint?: string;
  /** S3 by path; default when an endpoint is given (here or in AWS_ENDPOINT_URL[_S3]). */
  forcePathStyle?: boolean;
  /** Base credentials instead of the default chain (tests). */
  credentials?: AwsIdentityProvider | AwsIdentity;
  /** Attempts per request, with the SDK's adaptive retry (default 5). */
  maxAttempts?: number;
  /** Page size of list calls where the API takes one (EC2: 5–1000, Organizations: up to 20); default the API's. */
  pageSize?: number;
  /** How long one ListBuckets answer serves the regions of an account (default 30 s). */
  bucketListTtlMs?: number;
  /** How long the accounts (and the organization) are kept before they are read again (default 60 s). */
  accountsTtlMs?: number;
  log?: Logger;
  /** The clock, in ms (tests). */
  clock?: () => number;
}

interface Directory {
  caller: Caller;
  organization: Organization | null;
  accounts: Account[];
}

const UNKNOWN = Symbol('unknown');
const REGIONS_TTL_MS = 3600_000;

/** Parameters as the SDK takes them: no undefined members. */
function cleanInput(p: Params): Params {
  return JSON.parse(JSON.stringify(p)) as Params;
}

function envEndpoint(): string | undefined {
  return process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL || undefined;
}

export class AwsProvider implements Provider {
  readonly name: string;
  readonly kind = 'aws' as const;
  readonly changeFeed?: SqsChangeFeed;
  private readonly opts: AwsProviderOptions;
  private readonly log: Logger;
  private readonly clock: () => number;
  private readonly clients: Clients;
  private readonly access: Access;
  private readonly home: string;
  private readonly orgMode: 'auto' | 'organization' | 'single';
  private dir: { at: number; value: Directory } | undefined;
  private dirLoading: Promise<Directory> | undefined;
  private readonly regionCache = new Map<string, { at: number; regions: Promise<string[]> }>();
  private readonly bucketLists = new Map<string, { at: number; list: Promise<ListedBucket[]> }>();
  private readonly locations = new Map<string, string | null>();

  constructor(opts: AwsProviderOptions = {}) {
    this.opts = opts;
    this.name = opts.name ?? 'aws';
    this.log = (opts.log ?? silentLogger).child({ provider: this.name });
    this.clock = opts.clock ?? Date.now;
    this.home = opts.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? opts.regions?.[0] ?? 'us-east-1';
    this.orgMode = opts.organization === false ? 'single' : opts.organization ? 'organization' : 'auto';
    if (opts.regions && !opts.regions.length) throw new Error('regions, when given, must name at least one region');
    this.clients = new Clients(
      {
        ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
        maxAttempts: opts.maxAttempts ?? 5,
        forcePathStyle: opts.forcePathStyle ?? !!(opts.endpoint || envEndpoint()),
      },
      opts.concurrencyPerAccount ?? 4,
    );
    const given = opts.credentials;
    const base: AwsIdentityProvider =
      typeof given === 'function'
        ? given
        : given
          ? async () => given
          : (fromNodeProviderChain({ ...(opts.profile ? { profile: opts.profile } : {}), clientConfig: { region: this.home } }) as AwsIdentityProvider);
    const org = opts.organization || {};
    this.access = new Access(
      this.name,
      base,
      (c) =>
        c
          ? this.clients.get('sts', this.home, sdkCredentials(c), { key: givenKey(c), given: true })
          : this.clients.get('sts', this.home, base, { key: 'base', given: false }),
      {
        roleName: org.roleName ?? 'OrganizationAccountAccessRole',
        sessionName: org.sessionName ?? 'confix',
        ...(org.externalId ? { externalId: org.externalId } : {}),
        ...(org.durationSeconds ? { durationSeconds: org.durationSeconds } : {}),
      },
      this.clock,
    );
    if (opts.eventsQueueUrl) {
      const queueUrl = opts.eventsQueueUrl;
      const queueRegion = /sqs[.-]([a-z]{2}(?:-[a-z]+)+-\d)\./.exec(queueUrl)?.[1] ?? this.home;
      this.changeFeed = new SqsChangeFeed({
        provider: this.name,
        queueUrl,
        client: () => this.clients.get('sqs', queueRegion, base, { key: 'base', given: false }) as SQSClient,
        waitSeconds: opts.eventsWaitSeconds ?? 20,
        ...(opts.eventsVisibilityTimeout !== undefined ? { visibilityTimeout: opts.eventsVisibilityTimeout } : {}),
        inScope: async (c) => (await this.listAccounts()).some((a) => a.accountId === c.accountId && a.regions.includes(c.regionId)),
        log: this.log,
      });
    }
  }

  // --- accounts and the organization ----------------------------------------

  async listAccounts(): Promise<Account[]> {
    return (await this.directory()).accounts;
  }

  async organization(): Promise<Organization | null> {
    return (await this.directory()).organization;
  }

  async managementAccount(): Promise<string | undefined> {
    return (await this.directory()).organization?.managementAccount;
  }

  /** Reads the accounts, the organization and the regions again at the next ask (and forgets assumed sessions and refusals). */
  refresh(): void {
    this.dir = undefined;
    this.regionCache.clear();
    this.bucketLists.clear();
    this.access.forget();
  }

  private directory(): Promise<Directory> {
    if (this.dir && this.clock() - this.dir.at < (this.opts.accountsTtlMs ?? 60_000)) return Promise.resolve(this.dir.value);
    this.dirLoading ??= this.loadDirectory()
      .then((value) => {
        this.dir = { at: this.clock(), value };
        return value;
      })
      .finally(() => (this.dirLoading = undefined));
    return this.dirLoading;
  }

  private async loadDirectory(): Promise<Directory> {
    const caller = await this.access.caller();
    let org: Awaited<ReturnType<typeof readOrganization>> | null = null;
    if (this.orgMode !== 'single') {
      try {
        org = await readOrganization(this.organizations(caller), { ...(this.opts.pageSize ? { pageSize: this.opts.pageSize } : {}), log: this.log });
      } catch (err) {
        if (this.orgMode === 'auto' && isNoOrganization(err))
          this.log.info('governing the single account of the credentials (no organization these credentials may read)', {
            accountId: caller.accountId,
            code: codeOf(err),
          });
        else rethrow(this.name, err, 'organizations:ListAccounts');
      }
    }
    const members = org ? org.accounts : [{ accountId: caller.accountId, name: caller.accountId }];
    const slots = new Semaphore(4);
    const accounts = await Promise.all(members.map((a) => slots.run(async () => ({ ...a, regions: await this.regionsOf(a.accountId, caller) }))));
    return { caller, organization: org?.organization ?? null, accounts };
  }

  /** The account's regions: the configured ones, else those enabled in it (its own DescribeRegions; the caller's when it cannot be asked). */
  private regionsOf(accountId: string, caller: Caller): Promise<string[]> {
    if (this.opts.regions) return Promise.resolve([...this.opts.regions]);
    const hit = this.regionCache.get(accountId);
    if (hit && this.clock() - hit.at < REGIONS_TTL_MS) return hit.regions;
    const regions = (async () => {
      try {
        const out = await this.ec2(accountId, this.home).send(new DescribeRegionsCommand({}));
        return (out.Regions ?? [])
          .map((r) => r.RegionName!)
          .filter(Boolean)
          .sort();
      } catch (err) {
        if (accountId === caller.accountId) {
          this.regionCache.delete(accountId);
          rethrow(this.name, err, 'ec2:DescribeRegions');
        }
        this.log.warn('the regions of an account cannot be listed; using those of the credentials’ own account', { accountId, code: codeOf(err) });
        return this.regionsOf(caller.accountId, caller);
      }
    })();
    this.regionCache.set(accountId, { at: this.clock(), regions });
    return regions;
  }

  // --- resource types, discovery and describe --------------------------------

  resourceTypes(): ResourceTypeFacts[] {
    return AWS_TYPES.map((t) => {
      const facts = resourceTypeFacts(t);
      if (!facts) throw new Error(`the AWS provider serves ${t}, which the catalogue of resource types does not know`);
      return facts;
    });
  }

  async discover(scope: DiscoveryScope, credentials?: ProviderCredentials): Promise<ResourceState[]> {
    const { accountId, regionId, resourceType } = scope;
    const started = this.clock();
    try {
      if (!credentials) await this.access.forAccount(accountId)();
      let states: ResourceState[];
      switch (resourceType) {
        case SECURITY_GROUP:
          states = await discoverSecurityGroups(this.ec2(accountId, regionId, credentials), accountId, regionId, this.opts.pageSize);
          break;
        case INSTANCE:
          states = await discoverInstances(this.ec2(accountId, regionId, credentials), accountId, regionId, this.opts.pageSize);
          break;
        case BUCKET:
          states = await this.discoverBuckets(accountId, regionId, credentials);
          break;
        default:
          throw this.unknownType(resourceType);
      }
      this.log.debug('scope discovered', { ...scope, resources: states.length, ms: this.clock() - started });
      return states;
    } catch (err) {
      rethrow(this.name, err, `${resourceTypeFacts(resourceType)?.readPermission ?? 'read'} in ${accountId} ${regionId}`);
    }
  }

  async describe(key: ResourceKey, credentials?: ProviderCredentials): Promise<ResourceState | null> {
    const { accountId, regionId, resourceType, resourceId } = key;
    try {
      if (!credentials) await this.access.forAccount(accountId)();
      switch (resourceType) {
        case SECURITY_GROUP:
          return await describeSecurityGroup(this.ec2(accountId, regionId, credentials), accountId, regionId, resourceId);
        case INSTANCE:
          return await describeInstance(this.ec2(accountId, regionId, credentials), accountId, regionId, resourceId);
        case BUCKET: {
          const listed = (await listBuckets(this.s3(accountId, this.home, credentials), resourceId)).find((b) => b.Name === resourceId);
          if (!listed) return null;
          // A bucket is in one region: asked in another, it is not there.
          if ((await this.locate(accountId, listed, credentials)) !== regionId) return null;
          return await bucketState(this.s3(accountId, regionId, credentials), accountId, regionId, listed);
        }
        default:
          throw this.unknownType(resourceType);
      }
    } catch (err) {
      rethrow(this.name, err, `${resourceTypeFacts(resourceType)?.readPermission ?? 'read'} on ${resourceId}`);
    }
  }

  private unknownType(type: string): ProviderError {
    return new ProviderError(
      this.name,
      'InvalidParameterValue',
      `The AWS provider does not serve the resource type "${truncate(type, 100)}"; it serves ${AWS_TYPES.join(', ')}.`,
      false,
      400,
    );
  }

  /** S3 is global: one ListBuckets serves every region of the account for a while, and each bucket goes to the region it is in. */
  private async discoverBuckets(accountId: string, regionId: string, credentials?: ProviderCredentials): Promise<ResourceState[]> {
    const listed = await this.bucketList(accountId, credentials);
    const regions = await Promise.all(listed.map((b) => this.locate(accountId, b, credentials)));
    const here = listed.filter((_b, i) => regions[i] === regionId);
    const s3 = this.s3(accountId, regionId, credentials);
    const states = await Promise.all(here.map((b) => bucketState(s3, accountId, regionId, b)));
    return states.filter((s): s is ResourceState => s !== null).sort((a, b) => a.resourceId.localeCompare(b.resourceId));
  }

  private bucketList(accountId: string, credentials?: ProviderCredentials): Promise<ListedBucket[]> {
    const key = `${accountId}|${credentials ? givenKey(credentials) : 'own'}`;
    const hit = this.bucketLists.get(key);
    if (hit && this.clock() - hit.at < (this.opts.bucketListTtlMs ?? 30_000)) return hit.list;
    const list = listBuckets(this.s3(accountId, this.home, credentials));
    list.catch(() => this.bucketLists.delete(key));
    this.bucketLists.set(key, { at: this.clock(), list });
    return list;
  }

  /** A bucket's region (null: gone), remembered: a bucket never moves (a new one of the same name has another creation date). */
  private async locate(accountId: string, b: ListedBucket, credentials?: ProviderCredentials): Promise<string | null> {
    if (b.BucketRegion) return b.BucketRegion;
    const key = `${accountId}/${b.Name}/${b.CreationDate ?? ''}`;
    if (this.locations.has(key)) return this.locations.get(key)!;
    const region = await bucketRegion(this.s3(accountId, this.home, credentials), b.Name);
    if (region !== null) {
      if (this.locations.size > 200_000) this.locations.clear();
      this.locations.set(key, region);
    }
    return region;
  }

  // --- calls --------------------------------------------------------------------

  actions(): string[] {
    return Object.keys(AWS_ACTIONS).sort();
  }

  async call(action: string, target: CallTarget, params: Record<string, unknown>, credentials?: ProviderCredentials): Promise<CallResult> {
    const spec = AWS_ACTIONS[action];
    if (!spec)
      throw new ProviderError(
        this.name,
        'InvalidAction',
        `The action "${truncate(action, 100)}" is not one the AWS provider makes; it makes ${this.actions().join(', ')}.`,
        false,
        400,
      );
    try {
      const accountId = target.accountId ?? (credentials ? await this.access.whoIs(credentials) : await this.access.caller()).accountId;
      if (!credentials) await this.access.forAccount(accountId)();
      const regionId = target.regionId ?? (await this.regionForCall(spec, action, accountId, params, credentials));
      const input = cleanInput(spec.prepare ? spec.prepare(params, { regionId }) : params);
      const client = (spec.service === 'ec2' ? this.ec2(accountId, regionId, credentials) : this.s3(accountId, regionId, credentials)) as unknown as {
        send(command: object): Promise<Params & { $metadata?: { requestId?: string; extendedRequestId?: string } }>;
      };
      const before = spec.probe ? await this.probe(client, spec.probe, input) : UNKNOWN;
      let out;
      try {
        out = await client.send(new spec.command(input as never));
        const more = spec.followUp?.input(input, params);
        if (spec.followUp && more) await client.send(new spec.followUp.command(more as never));
      } catch (err) {
        rethrow(this.name, err, action);
      }
      const result = plain(out);
      let changed = spec.changed ? spec.changed(result, input) : true;
      if (spec.probe && before !== UNKNOWN) {
        const after = await this.probe(client, spec.probe, input);
        changed = after === UNKNOWN || differs(before, after);
      }
      const resourceId = String(spec.resourceId(input, result) ?? '');
      if (spec.resourceType === BUCKET && (spec.kind === 'create' || spec.kind === 'delete')) this.bucketLists.clear();
      if (changed && resourceId)
        this.changeFeed?.notifyLocal([
          { accountId, regionId, resourceType: spec.resourceType, resourceId, changeType: spec.kind, action, changedAt: new Date(this.clock()) },
        ]);
      return {
        requestId: out.$metadata?.requestId ?? out.$metadata?.extendedRequestId ?? randomUUID(),
        action,
        accountId,
        regionId,
        resourceType: spec.resourceType,
        resourceId,
        changed,
        result,
      };
    } catch (err) {
      rethrow(this.name, err, action);
    }
  }

  /** Where a call goes when the target names no region: a bucket's own region (S3); EC2 must be told. */
  private async regionForCall(spec: ActionSpec, action: string, accountId: string, params: Params, credentials?: ProviderCredentials): Promise<string> {
    if (spec.service === 'ec2') throw new ProviderError(this.name, 'MissingParameter', `${action} needs the region: EC2 resources are regional.`, false, 400);
    if (spec.kind === 'create' || typeof params.Bucket !== 'string') return this.home;
    return (await bucketRegion(this.s3(accountId, this.home, credentials), params.Bucket)) ?? this.home;
  }

  /** The probe's reading now; UNKNOWN when it cannot be read (the call itself then says what is wrong). */
  private async probe(client: { send(command: object): Promise<Params> }, probe: Probe, input: Params): Promise<unknown> {
    try {
      return probe.pick(plain(await client.send(new probe.command({ Bucket: input.Bucket } as never))));
    } catch (err) {
      const code = codeOf(err) ?? '';
      return code in probe.none ? probe.none[code] : UNKNOWN;
    }
  }

  // --- credentials and identities -------------------------------------------

  assumeRole(
    caller: ProviderCredentials,
    req: { roleArn: string; sessionName: string; durationSeconds?: number; externalId?: string },
  ): Promise<AssumedCredentials> {
    return this.access.assume(caller, req);
  }

  /** AWS has no function service confix can act as: the role is assumed with the provider's own credentials (its trust policy must allow them). */
  assumeRoleForFunction(req: { roleArn: string; sessionName: string }): Promise<AssumedCredentials> {
    return this.access.assume(undefined, req);
  }

  roleArn(accountId: string, roleName: string, dialect: Dialect = 'aws'): string {
    return roleArnOf(dialect, accountId, roleName);
  }

  principalArn(accountId: string, dialect: Dialect = 'aws'): string {
    return principalArnOf({ type: 'root', accountId }, dialect);
  }

  async verifyCredentials(
    accountId: string,
    c: { accessKeyId: string; accessKeySecret: string },
  ): Promise<{ ok: true } | { ok: false; code: string; reason: string }> {
    let who;
    try {
      who = await this.clients.get('sts', this.home, sdkCredentials(c), { key: givenKey(c), given: true }).send(new GetCallerIdentityCommand({}));
    } catch (err) {
      const e = toProviderError(this.name, err, 'sts:GetCallerIdentity');
      if (e instanceof ProviderError && !e.retryable) return { ok: false, code: e.code, reason: e.message };
      throw e;
    }
    if (who.Account !== accountId)
      return {
        ok: false,
        code: 'AccountMismatch',
        reason: `access key ${truncate(c.accessKeyId, 40)} belongs to account ${who.Account ?? '(unknown)'} (${who.Arn ?? ''}), not ${accountId}`,
      };
    return { ok: true };
  }

  /** The account the provider's own credentials belong to, and their ARN. */
  caller(): Promise<Caller> {
    return this.access.caller();
  }

  // --- the rest -------------------------------------------------------------------

  /** Counters for tests and status: role assumptions made, the most requests in flight per account, the change feed's. */
  stats(): { assumeRoleCalls: number; peakRequestsInFlight: Record<string, number>; feed?: FeedCounters & { buffered: number } } {
    return {
      assumeRoleCalls: this.access.assumeRoleCalls,
      peakRequestsInFlight: this.clients.peaks(),
      ...(this.changeFeed ? { feed: { ...this.changeFeed.counters, buffered: this.changeFeed.buffered } } : {}),
    };
  }

  /** Stops the change feed's polling and closes every connection. */
  async close(): Promise<void> {
    await this.changeFeed?.stop();
    this.clients.destroy();
  }

  private client<S extends Service>(service: S, accountId: string, region: string, credentials?: ProviderCredentials) {
    return credentials
      ? this.clients.get(service, region, sdkCredentials(credentials), { key: givenKey(credentials), given: true }, accountId)
      : this.clients.get(service, region, this.access.forAccount(accountId), { key: `account:${accountId}`, given: false }, accountId);
  }

  private ec2(accountId: string, region: string, credentials?: ProviderCredentials): EC2Client {
    return this.client('ec2', accountId, region, credentials) as EC2Client;
  }

  private s3(accountId: string, region: string, credentials?: ProviderCredentials): S3Client {
    return this.client('s3', accountId, region, credentials) as S3Client;
  }

  private organizations(caller: Caller): OrganizationsClient {
    // Organizations answers in one region of each partition.
    const region = caller.partition === 'aws-cn' ? 'cn-northwest-1' : caller.partition === 'aws-us-gov' ? 'us-gov-west-1' : 'us-east-1';
    return this.clients.get('organizations', region, this.access.base, { key: 'base', given: false }, caller.accountId) as OrganizationsClient;
  }
}
