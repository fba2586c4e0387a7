/**
 * The sandbox cloud: an emulated multi-account cloud kept in confix's own
 * store. Every mutating call is a transaction that writes the resource and a
 * change notification together, so no change is ever lost between the two.
 */
import { EventEmitter } from 'node:events';
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { chunks, type Db, type Queryable } from '../../store/index.js';
import type {
  Account,
  AssumedCredentials,
  ChangeFeed,
  Dialect,
  DiscoveryScope,
  Provider,
  ResourceChange,
  ResourceKey,
  ResourceState,
  ResourceTypeFacts,
  Tags,
  Configuration,
} from '../types.js';
import { SandboxError } from './errors.js';
import { allOperations, allResourceTypes, operation, resourceType, type OperationContext } from './registry.js';
import { validateEstate, type NormalizedResource } from './estate.js';
import { changeDirectory, type DirectoryChange } from './directory.js';
import { SandboxIam, type Credentials } from './iam/sandbox-iam.js';
import { readAction, resourceArn } from './iam/resource-arn.js';
import { dialectOfResourceType, parseRoleArn, principalArn as principalArnOf, roleArn as roleArnOf } from './iam/arn.js';
import { resourceTypeFacts } from '../resource-types/index.js';
import { truncate } from '../../util/text.js';
import './types/index.js';
import { ConfixError } from '../../errors.js';

export interface CallTarget {
  accountId?: string;
  regionId?: string;
}

export interface CallResult {
  requestId: string;
  action: string;
  accountId: string;
  regionId: string;
  resourceType: string;
  resourceId: string;
  changed: boolean;
  result: Record<string, unknown>;
}

export interface LoadSummary {
  accounts: number;
  resources: number;
  created: number;
  updated: number;
  unchanged: number;
  deleted: number;
  accountIds: string[];
  /** What the estate's `organization:` did to the resource directory (absent when it declares none). */
  organization?: OrganizationChange;
}

/** The resource directory before and after a load that declares one, and what the load took away. */
export interface OrganizationChange {
  changed: boolean;
  before: { managementAccount: string; delegatedAdministrators: string[]; folders: string[] } | null;
  after: { managementAccount: string; delegatedAdministrators: string[]; folders: string[] };
  /** Folders and delegated administrators the load removed, and the management account it replaced. */
  removed: { folders: string[]; delegatedAdministrators: string[]; managementAccount?: string };
}

function briefOrganization(o: Organization) {
  return {
    managementAccount: o.managementAccount,
    delegatedAdministrators: [...o.delegatedAdministrators].sort(),
    folders: o.folders.map((f) => f.path).sort(),
  };
}

interface SandboxRow {
  account_id: string;
  region_id: string;
  resource_type: string;
  resource_id: string;
  tags: Tags;
  configuration: Configuration;
}

function toState(r: SandboxRow): ResourceState {
  const def = resourceType(r.resource_type);
  return {
    accountId: r.account_id,
    regionId: r.region_id,
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    resourceName: def?.nameOf(r.configuration),
    tags: r.tags,
    configuration: r.configuration,
  };
}

/** Cloud-style random id: ACS ids are 20 lowercase alphanumerics, AWS ids 17 hex digits. */
function newIdFor(dialect: 'acs' | 'aws') {
  return (prefix: string) => {
    if (dialect === 'aws') return prefix + randomBytes(9).toString('hex').slice(0, 17);
    const a = 'abcdefghijklmnopqrstuvwxyz0123456789';
    return prefix + Array.from(randomBytes(20), (b) => a[b % a.length]).join('');
  };
}

/**
 * The largest parameters the sandbox API takes (characters of a string, items
 * of a list or map), checked before anything else looks at them, so that no
 * validation, IAM match or message works on unbounded input. A call over a
 * limit is refused with 400 InvalidParameter naming the parameter and the
 * limit, never repeating the value. The kind of a string is told by its
 * parameter's name, as the clouds name them.
 */
export const SANDBOX_PARAMETER_LIMITS = {
  /** Ids and names, and any other string (CIDRs, port ranges, image ids, ACLs…): both clouds stay well within it. */
  string: 256,
  /** A parameter named …Description (ECS allows 256, EC2 255; room for more). */
  description: 4096,
  /** A parameter named …Arn (AWS allows ARNs of up to 2048). */
  arn: 2048,
  /** A tag key, and a tag value (the Tags of a call, in either cloud's shape). */
  tagKey: 128,
  tagValue: 256,
  /** The name of a parameter (a key of the parameters or of an object in them). */
  key: 128,
  /** Items of a list, entries of an object. */
  items: 1000,
  /** Objects and lists within one another. */
  depth: 10,
  /** The accountId and regionId of a call. */
  target: 64,
} as const;

const L = SANDBOX_PARAMETER_LIMITS;

function pathLabel(path: (string | number)[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${seg}` : seg;
  return truncate(out || 'parameters', 300);
}

function tooLarge(path: (string | number)[], what: string, limit: number): SandboxError {
  return new SandboxError('InvalidParameter', `${pathLabel(path)}: ${what}; the limit is ${limit}.`);
}

/** The limit for a string at `path` (see SANDBOX_PARAMETER_LIMITS). */
function stringLimit(path: (string | number)[]): number {
  const names = path.filter((x): x is string => typeof x === 'string');
  const last = typeof path[path.length - 1] === 'string' ? (path[path.length - 1] as string) : (names[names.length - 1] ?? '');
  const inTags = names.some((n) => n === 'Tags' || n === 'Tag');
  if (inTags) {
    if (last === 'Key' || last === 'TagKey') return L.tagKey;
    if (last === 'Value' || last === 'TagValue' || path[path.length - 2] === 'Tags') return L.tagValue;
  }
  if (/description$/i.test(last)) return L.description;
  if (/arn$/i.test(last)) return L.arn;
  return L.string;
}

/** Refuses parameters over SANDBOX_PARAMETER_LIMITS; see there. */
export function checkParameterSizes(params: unknown, path: (string | number)[] = []): void {
  if (typeof params === 'string') {
    const limit = stringLimit(path);
    if (params.length > limit) throw tooLarge(path, `${params.length} characters`, limit);
    return;
  }
  if (typeof params !== 'object' || params === null) return;
  if (path.length >= L.depth) throw tooLarge(path, 'nested too deeply', L.depth);
  if (Array.isArray(params)) {
    if (params.length > L.items) throw tooLarge(path, `${params.length} items`, L.items);
    for (let i = 0; i < params.length; i++) checkParameterSizes(params[i], [...path, i]);
    return;
  }
  const keys = Object.keys(params);
  if (keys.length > L.items) throw tooLarge(path, `${keys.length} entries`, L.items);
  const keyLimit = path[path.length - 1] === 'Tags' ? L.tagKey : L.key;
  for (const k of keys) {
    if (k.length > keyLimit) throw tooLarge(path, `a ${path[path.length - 1] === 'Tags' ? 'tag key' : 'parameter name'} of ${k.length} characters`, keyLimit);
    checkParameterSizes((params as Record<string, unknown>)[k], [...path, k]);
  }
}

function checkTarget(target: CallTarget): void {
  for (const k of ['accountId', 'regionId'] as const) {
    const v = target[k];
    if (typeof v === 'string' && v.length > L.target) throw tooLarge([k], `${v.length} characters`, L.target);
  }
}

export interface SandboxOptions {
  /**
   * Simulated API latency in ms for every call (all of them write): half
   * before the change is made, half after it, before the answer comes back,
   * as with a real cloud, where a caller that dies mid-call may or may not
   * have changed the resource. Default: CONFIX_SANDBOX_LATENCY_MS, else 0.
   * Tests use it to kill a remediation worker in the middle of an action.
   */
  latencyMs?: number;
}

function latencyFromEnv(): number {
  const v = process.env.CONFIX_SANDBOX_LATENCY_MS;
  if (v === undefined || v === '') return 0;
  if (!/^\d+$/.test(v)) throw new Error(`CONFIX_SANDBOX_LATENCY_MS must be a whole number of milliseconds, not "${v}"`);
  return Number(v);
}

export interface Organization {
  managementAccount: string;
  delegatedAdministrators: string[];
  folders: { path: string; name: string; parentPath: string | null }[];
  accounts: { accountId: string; name: string; folderPath: string | null }[];
}

/** A load would replace the resource directory under account groups (or rules) that depend on it. */
export class OrganizationInUseError extends ConfixError {
  constructor(readonly problems: string[]) {
    super(
      'OrganizationInUse',
      'conflict',
      `the estate replaces the organization, and ${problems.length === 1 ? 'this depends' : 'these depend'} on what it removes:\n` +
        problems.map((p) => `  ${p}`).join('\n') +
        '\nnothing was loaded; load it with --replace to replace the organization anyway (or change the account groups first)',
      { details: { problems } },
    );
  }
}

export class SandboxCloud implements Provider {
  readonly name = 'sandbox';
  readonly kind = 'sandbox' as const;
  readonly iam: SandboxIam;
  private readonly events = new EventEmitter();
  private readonly latencyMs: number;

  constructor(
    private readonly db: Db,
    opts: SandboxOptions = {},
  ) {
    this.events.setMaxListeners(100);
    this.latencyMs = opts.latencyMs ?? latencyFromEnv();
    this.iam = new SandboxIam(db);
  }

  /** The resource directory, as its management account sees it; null when the sandbox has none. */
  async organization(q: Queryable = this.db): Promise<Organization | null> {
    const [o] = await q.query<{ management_account: string; delegated_administrators: string[] }>(
      'SELECT management_account, delegated_administrators FROM sandbox_organization',
    );
    if (!o) return null;
    const folders = await q.query<{ path: string; name: string; parent_path: string | null }>(
      'SELECT path, name, parent_path FROM sandbox_folders ORDER BY path',
    );
    const accounts = await q.query<{ account_id: string; name: string; folder_path: string | null }>(
      'SELECT account_id, name, folder_path FROM sandbox_accounts ORDER BY account_id',
    );
    return {
      managementAccount: o.management_account,
      delegatedAdministrators: o.delegated_administrators,
      folders: folders.map((f) => ({ path: f.path, name: f.name, parentPath: f.parent_path })),
      accounts: accounts.map((a) => ({ accountId: a.account_id, name: a.name, folderPath: a.folder_path })),
    };
  }

  /**
   * Whether an access key is one this cloud knows, of this account (what
   * `credentials add` checks before a bad key breaks every later call).
   */
  async verifyCredentials(
    accountId: string,
    c: { accessKeyId: string; accessKeySecret: string },
  ): Promise<{ ok: true } | { ok: false; code: string; reason: string }> {
    try {
      const p = await this.iam.authenticate({ accessKeyId: c.accessKeyId, accessKeySecret: c.accessKeySecret }, 'acs');
      if (p.type === 'service' || p.accountId !== accountId)
        return {
          ok: false,
          code: 'AccountMismatch',
          reason: `access key ${truncate(c.accessKeyId)} belongs to ${p.type === 'service' ? 'a service' : `account ${p.accountId}`}, not ${accountId}`,
        };
      return { ok: true };
    } catch (err) {
      if (err instanceof SandboxError) return { ok: false, code: err.code, reason: err.message };
      throw err;
    }
  }

  /** The resource directory's management account (one query; organization() reads the whole tree). */
  async managementAccount(): Promise<string | undefined> {
    const [o] = await this.db.query<{ management_account: string }>('SELECT management_account FROM sandbox_organization');
    return o?.management_account;
  }

  /**
   * STS AssumeRole with the caller's credentials: short-lived credentials for
   * the role, if the caller may assume it and the role trusts the caller.
   */
  async assumeRole(caller: Credentials, req: { roleArn: string; sessionName: string; durationSeconds?: number }): Promise<AssumedCredentials> {
    const dialect = parseRoleArn(req.roleArn)?.dialect ?? 'acs';
    const principal = await this.iam.authenticate(caller, dialect);
    return this.iam.assumeRole(principal, req, dialect);
  }

  /**
   * AssumeRole as a cloud service (a function's role, assumed by the function
   * service: fc.aliyuncs.com or lambda.amazonaws.com, by the role's dialect);
   * the role's trust policy must name the service.
   */
  async assumeRoleAsService(req: { roleArn: string; sessionName: string; durationSeconds?: number }): Promise<AssumedCredentials & { service: string }> {
    const dialect = parseRoleArn(req.roleArn)?.dialect ?? 'acs';
    const service = dialect === 'aws' ? 'lambda.amazonaws.com' : 'fc.aliyuncs.com';
    return { ...(await this.iam.assumeRole({ type: 'service', service }, req, dialect)), service };
  }

  resourceTypes(): ResourceTypeFacts[] {
    return allResourceTypes().map((t) => {
      const facts = resourceTypeFacts(t.type);
      if (!facts) throw new Error(`the sandbox serves ${t.type}, which the catalogue of resource types does not know`);
      return facts;
    });
  }

  actions(): string[] {
    return allOperations().map((o) => o.action);
  }

  /** A function's role, assumed by the function service (it must trust fc.aliyuncs.com or lambda.amazonaws.com). */
  assumeRoleForFunction(req: { roleArn: string; sessionName: string }): Promise<AssumedCredentials> {
    return this.assumeRoleAsService(req);
  }

  roleArn(accountId: string, roleName: string, dialect: Dialect = 'acs'): string {
    return roleArnOf(dialect, accountId, roleName);
  }

  principalArn(accountId: string, dialect: Dialect = 'acs'): string {
    return principalArnOf({ type: 'root', accountId }, dialect);
  }

  async listAccounts(): Promise<Account[]> {
    const rows = await this.db.query<{ account_id: string; name: string; regions: string[] }>(
      'SELECT account_id, name, regions FROM sandbox_accounts ORDER BY account_id',
    );
    return rows.map((r) => ({ accountId: r.account_id, name: r.name, regions: r.regions }));
  }

  async discover(scope: DiscoveryScope, credentials?: Credentials): Promise<ResourceState[]> {
    if (credentials) await this.authorizeRead(credentials, scope, '*');
    // One JSON text for the whole scope, parsed once (much cheaper than row-by-row decoding).
    const [row] = await this.db.query<{ j: string | null }>(
      `SELECT json_agg(json_build_array(resource_id, tags, configuration) ORDER BY resource_id)::text AS j FROM sandbox_resources
       WHERE account_id = $1 AND region_id = $2 AND resource_type = $3`,
      [scope.accountId, scope.regionId, scope.resourceType],
    );
    const items = JSON.parse(row?.j ?? '[]') as [string, Tags, Configuration][];
    return items.map(([resource_id, tags, configuration]) =>
      toState({ account_id: scope.accountId, region_id: scope.regionId, resource_type: scope.resourceType, resource_id, tags, configuration }),
    );
  }

  async describe(key: ResourceKey, credentials?: Credentials): Promise<ResourceState | null> {
    if (credentials) await this.authorizeRead(credentials, key, key.resourceId);
    const [row] = await this.db.query<SandboxRow>(
      `SELECT account_id, region_id, resource_type, resource_id, tags, configuration FROM sandbox_resources
       WHERE account_id = $1 AND region_id = $2 AND resource_type = $3 AND resource_id = $4`,
      [key.accountId, key.regionId, key.resourceType, key.resourceId],
    );
    return row ? toState(row) : null;
  }

  /** A read with credentials: the caller must be allowed the type's describe action on the resource (or `*` for a listing). */
  private async authorizeRead(credentials: Credentials, where: DiscoveryScope, resourceId: string): Promise<void> {
    const dialect = dialectOfResourceType(where.resourceType);
    const principal = await this.iam.authenticate(credentials, dialect);
    const arn = resourceArn(where.resourceType, where.accountId, where.regionId, resourceId);
    await this.iam.authorize(principal, readAction(where.resourceType), { arn, accountId: where.accountId }, dialect);
  }

  readonly changeFeed: ChangeFeed = {
    read: async (cursor, limit) => {
      const rows = await this.db.query<{
        seq: number;
        account_id: string;
        region_id: string;
        resource_type: string;
        resource_id: string;
        change_type: ResourceChange['changeType'];
        action: string;
        changed_at: Date;
      }>('SELECT * FROM sandbox_changes WHERE seq > $1 ORDER BY seq LIMIT $2', [Number(cursor ?? 0), limit]);
      const last = rows[rows.length - 1];
      return {
        changes: rows.map((r) => ({
          accountId: r.account_id,
          regionId: r.region_id,
          resourceType: r.resource_type,
          resourceId: r.resource_id,
          changeType: r.change_type,
          action: r.action,
          changedAt: new Date(r.changed_at),
        })),
        cursor: last ? String(last.seq) : cursor,
      };
    },
    onChange: (listener) => {
      this.events.on('change', listener);
      return () => this.events.off('change', listener);
    },
  };

  /**
   * Loads an estate: accounts and resources are created or replaced; with
   * `replace`, resources of the estate's accounts that it does not list are
   * deleted. The whole load is one transaction. It writes no change
   * notifications: the caller takes a snapshot of the accounts afterwards.
   *
   * An estate that declares an `organization:` replaces the resource
   * directory; the summary says what changed. `checkOrganization` (given the
   * directory before and after, inside the load's transaction: it must not
   * query the store itself) answers what would break; anything it names
   * refuses the load unless `replace`.
   */
  async loadEstate(
    raw: unknown,
    opts: {
      replace?: boolean;
      source?: string;
      lineOf?: (path: (string | number)[]) => number | undefined;
      checkOrganization?: (before: Organization | null, after: Organization) => string[];
    } = {},
  ): Promise<LoadSummary> {
    const known = (await this.listAccounts()).map((a) => ({ accountId: a.accountId, regions: a.regions }));
    const { accounts, resources, organization } = validateEstate(raw, opts.source ?? 'estate', opts.lineOf, known);
    const summary: LoadSummary = { accounts: accounts.length, resources: resources.length, created: 0, updated: 0, unchanged: 0, deleted: 0, accountIds: [] };
    const touched = new Set<string>([...accounts.map((a) => a.id), ...resources.map((r) => r.accountId)]);
    summary.accountIds = [...touched].sort();
    this.accountRegions = undefined;
    await this.db.transaction(async (tx) => {
      for (const a of accounts) {
        await tx.query(
          // Regions add up unless replacing: an estate that leaves out a region
          // must not orphan the resources another estate put there.
          `INSERT INTO sandbox_accounts (account_id, name, regions) VALUES ($1, $2, $3)
           ON CONFLICT (account_id) DO UPDATE SET name = EXCLUDED.name,
             regions = CASE WHEN $4 THEN EXCLUDED.regions
                            ELSE ARRAY(SELECT DISTINCT r FROM unnest(sandbox_accounts.regions || EXCLUDED.regions) AS r ORDER BY r) END`,
          [a.id, a.name, a.regions, opts.replace ?? false],
        );
      }
      const before = organization ? await this.organization(tx) : null;
      await this.iam.load(tx, accounts, organization);
      if (organization) {
        const after = (await this.organization(tx))!;
        const b = before ? briefOrganization(before) : null;
        const a = briefOrganization(after);
        summary.organization = {
          changed: JSON.stringify(b) !== JSON.stringify(a),
          before: b,
          after: a,
          removed: {
            folders: (b?.folders ?? []).filter((f) => !a.folders.includes(f)),
            delegatedAdministrators: (b?.delegatedAdministrators ?? []).filter((d) => !a.delegatedAdministrators.includes(d)),
            ...(b && b.managementAccount !== a.managementAccount ? { managementAccount: b.managementAccount } : {}),
          },
        };
        const problems = summary.organization.changed && opts.checkOrganization ? opts.checkOrganization(before, after) : [];
        if (problems.length && !opts.replace) throw new OrganizationInUseError(problems);
      }
      for (const batch of chunks(resources, 2000)) {
        const rows = await tx.query<{ inserted: boolean; changed: boolean }>(
          `INSERT INTO sandbox_resources AS s (account_id, region_id, resource_type, resource_id, tags, configuration)
           SELECT account_id, region_id, resource_type, resource_id, tags, configuration
             FROM json_to_recordset($1::json) AS r(account_id text, region_id text, resource_type text, resource_id text, tags jsonb, configuration jsonb)
           ON CONFLICT (account_id, region_id, resource_type, resource_id) DO UPDATE
             SET tags = EXCLUDED.tags, configuration = EXCLUDED.configuration, version = s.version + 1, updated_at = now()
             WHERE s.configuration IS DISTINCT FROM EXCLUDED.configuration OR s.tags IS DISTINCT FROM EXCLUDED.tags
           RETURNING (xmax = 0) AS inserted, true AS changed`,
          [JSON.stringify(batch.map(toRow))],
        );
        const inserted = rows.filter((r) => r.inserted).length;
        summary.created += inserted;
        summary.updated += rows.length - inserted;
        summary.unchanged += batch.length - rows.length;
      }
      if (opts.replace) {
        const keep = JSON.stringify(resources.map((r) => ({ a: r.accountId, r: r.regionId, t: r.resourceType, i: r.resourceId })));
        const del = await tx.query<{ n: number }>(
          `WITH keep AS (SELECT * FROM jsonb_to_recordset($2::jsonb) AS k(a text, r text, t text, i text)),
           d AS (DELETE FROM sandbox_resources s WHERE s.account_id = ANY($1::text[])
             AND NOT EXISTS (SELECT 1 FROM keep WHERE keep.a = s.account_id AND keep.r = s.region_id AND keep.t = s.resource_type AND keep.i = s.resource_id)
             RETURNING 1)
           SELECT count(*)::int AS n FROM d`,
          [summary.accountIds, keep],
        );
        summary.deleted = del[0]?.n ?? 0;
      }
    });
    this.accountRegions = undefined;
    return summary;
  }

  /**
   * The sandbox's API: one action (service:Action) with the cloud's own
   * parameter names. With credentials, the caller is authenticated and the
   * call authorised by IAM; without, it is the account owner at the console.
   */
  async call(action: string, target: CallTarget, rawParams: Record<string, unknown>, credentials?: Credentials): Promise<CallResult> {
    if (!this.latencyMs) return this.callNow(action, target, rawParams, credentials);
    await sleep(this.latencyMs / 2);
    const out = await this.callNow(action, target, rawParams, credentials);
    await sleep(this.latencyMs / 2);
    return out;
  }

  /**
   * Faults to answer instead of doing a call (tests, and a demo of retries):
   * the next `times` calls of `action` (on `resourceId`, when given) fail with
   * this error, as a throttled or failing cloud would (after `delayMs`, as a
   * slow one would). Answers a function that removes the fault.
   */
  injectFault(f: { action: string; code: string; message?: string; httpStatus?: number; times?: number; resourceId?: string; delayMs?: number }): () => void {
    const fault = { ...f, left: f.times ?? Infinity };
    this.faults.push(fault);
    return () => void (this.faults = this.faults.filter((x) => x !== fault));
  }
  private faults: { action: string; code: string; message?: string; httpStatus?: number; resourceId?: string; delayMs?: number; left: number }[] = [];

  private takeFault(action: string, params: Record<string, unknown>): { error: SandboxError; delayMs?: number } | undefined {
    const f = this.faults.find((x) => x.action === action && x.left > 0 && (!x.resourceId || Object.values(params).includes(x.resourceId)));
    if (!f) return undefined;
    f.left--;
    return { error: new SandboxError(f.code, f.message ?? `${f.code}: the sandbox was told to fail ${action}`, f.httpStatus ?? 503), delayMs: f.delayMs };
  }

  private async callNow(action: string, target: CallTarget, rawParams: Record<string, unknown>, credentials?: Credentials): Promise<CallResult> {
    const fault = this.takeFault(action, rawParams);
    if (fault) {
      // A slow failure (a call that times out): something else can happen meanwhile.
      if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      throw fault.error;
    }
    const op = operation(action);
    if (!op) throw new SandboxError('InvalidAction.NotFound', `The action "${truncate(action)}" is not supported by the sandbox cloud.`, 404);
    checkTarget(target);
    checkParameterSizes(rawParams);
    const parsed = op.params.safeParse(rawParams);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      throw new SandboxError('InvalidParameter', truncate(`${i.path.join('.') || 'parameters'}: ${i.message}`, 500));
    }
    const params = parsed.data;
    const def = resourceType(op.resourceType);
    const dialect = def?.dialect ?? 'acs';
    const base = { now: new Date(), newId: newIdFor(dialect) };
    let { accountId, regionId } = target;
    const principal = credentials ? await this.iam.authenticate(credentials, dialect) : undefined;
    // Credentials say which account a call is made in, unless told otherwise.
    if (principal && principal.type !== 'service') accountId ??= principal.accountId;
    // For calls on an existing resource, the account and region may be left
    // out when the id alone identifies it.
    if (op.kind !== 'create' && (!accountId || !regionId)) {
      const id = op.target(params, { ...base, accountId: accountId ?? '', regionId: regionId ?? '' });
      const found = await this.db.query<{ account_id: string; region_id: string }>(
        `SELECT account_id, region_id FROM sandbox_resources WHERE resource_type = $1 AND resource_id = $2
           AND ($3::text IS NULL OR account_id = $3) AND ($4::text IS NULL OR region_id = $4)`,
        [op.resourceType, id, accountId ?? null, regionId ?? null],
      );
      if (found.length === 1) ({ account_id: accountId, region_id: regionId } = found[0]!);
      else if (found.length > 1)
        throw new SandboxError(
          'InvalidParameter',
          `${op.resourceType} "${truncate(id)}" exists in ${found.length} accounts or regions; give the account and region.`,
        );
      else {
        // Let the operation refuse in its own cloud's words (NoSuchBucket, InvalidGroup.NotFound, …).
        op.apply(null, params, { ...base, accountId: accountId ?? '', regionId: regionId ?? '', resourceId: id });
        throw new SandboxError(
          dialect === 'acs' ? 'InvalidResourceId.NotFound' : 'InvalidResourceID.NotFound',
          `The specified resource "${truncate(id)}" (${op.resourceType}) does not exist.`,
          404,
        );
      }
    }
    if (!accountId || !regionId) throw new SandboxError('MissingParameter', `${action} needs the account and region to create the resource in.`);
    const regions = await this.regionsOf(accountId);
    if (!regions) throw new SandboxError('InvalidAccount.NotFound', `The account "${accountId}" does not exist in the sandbox.`, 404);
    if (!regions.includes(regionId))
      throw new SandboxError(
        dialect === 'acs' ? 'InvalidRegionId.NotFound' : 'InvalidRegion',
        `Region "${regionId}" is not enabled for account ${accountId} (${regions.join(', ')}).`,
      );
    const ctxBase = { ...base, accountId, regionId };
    const resourceId = op.target(params, ctxBase);
    const ctx: OperationContext = { ...ctxBase, resourceId };
    if (principal) await this.iam.authorize(principal, action, { arn: resourceArn(op.resourceType, accountId, regionId, resourceId), accountId }, dialect);
    const key = [accountId, regionId, op.resourceType, resourceId];
    // Optimistic concurrency: read, compute, then write only if the version
    // read is still current, the change notification in the same statement.
    // Two statements per call instead of a transaction's five round trips.
    for (let attempt = 1; ; attempt++) {
      const [row] = await this.db.query<SandboxRow & { version: number }>(
        `SELECT account_id, region_id, resource_type, resource_id, tags, configuration, version FROM sandbox_resources
         WHERE account_id = $1 AND region_id = $2 AND resource_type = $3 AND resource_id = $4`,
        key,
      );
      const current = row ? { resourceId, tags: row.tags, configuration: row.configuration } : null;
      const outcome = op.apply(current, params, ctx);
      if (outcome.configuration === undefined && outcome.tags === undefined)
        return { requestId: randomUUID(), action, accountId, regionId, resourceType: op.resourceType, resourceId, changed: false, result: outcome.result };
      let written: { n: number }[];
      if (outcome.configuration === null) {
        written = await this.db.query<{ n: number }>(
          `WITH d AS (DELETE FROM sandbox_resources WHERE account_id = $1 AND region_id = $2 AND resource_type = $3 AND resource_id = $4 AND version = $5 RETURNING 1),
           ch AS (INSERT INTO sandbox_changes (account_id, region_id, resource_type, resource_id, change_type, action)
                  SELECT $1, $2, $3, $4, 'delete', $6 WHERE EXISTS (SELECT 1 FROM d) RETURNING 1)
           SELECT count(*)::int AS n FROM d`,
          [...key, row?.version ?? -1, action],
        );
      } else {
        const tags = outcome.tags ?? current?.tags ?? {};
        const configuration = def
          ? def.normalize({ id: resourceId, accountId, regionId, tags, configuration: outcome.configuration ?? current!.configuration })
          : (outcome.configuration ?? current!.configuration);
        written = await this.db.query<{ n: number }>(
          `WITH w AS (
             INSERT INTO sandbox_resources AS s (account_id, region_id, resource_type, resource_id, tags, configuration)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (account_id, region_id, resource_type, resource_id) DO UPDATE
               SET tags = EXCLUDED.tags, configuration = EXCLUDED.configuration, version = s.version + 1, updated_at = now()
               WHERE s.version = $7
             RETURNING 1),
           ch AS (INSERT INTO sandbox_changes (account_id, region_id, resource_type, resource_id, change_type, action)
                  SELECT $1, $2, $3, $4, $8, $9 WHERE EXISTS (SELECT 1 FROM w) RETURNING 1)
           SELECT count(*)::int AS n FROM w`,
          [...key, JSON.stringify(tags), JSON.stringify(configuration), row?.version ?? -1, current ? 'update' : 'create', action],
        );
      }
      if (written[0]?.n === 1) {
        this.events.emit('change');
        return { requestId: randomUUID(), action, accountId, regionId, resourceType: op.resourceType, resourceId, changed: true, result: outcome.result };
      }
      // Someone else changed the resource between our read and write: go again on the new state.
      if (attempt >= 5) throw new SandboxError('ConcurrentModification', `The resource "${resourceId}" is being changed by other calls; try again.`, 409);
    }
  }

  private accountRegions: Map<string, string[]> | undefined;

  /** Account regions, cached: every call checks them, and they change only when an estate loads. */
  private async regionsOf(accountId: string): Promise<string[] | undefined> {
    if (!this.accountRegions) {
      const rows = await this.db.query<{ account_id: string; regions: string[] }>('SELECT account_id, regions FROM sandbox_accounts');
      this.accountRegions = new Map(rows.map((r) => [r.account_id, r.regions]));
    }
    return this.accountRegions.get(accountId);
  }

  // --- resource directory: delegated administrators, folders ---------------

  /**
   * Changes the directory as a policy document declares it (delegated
   * administrators, folders), in the caller's transaction; the caller has
   * checked the accounts against organization().
   */
  async changeOrganization(change: DirectoryChange, q: Queryable = this.db): Promise<void> {
    await changeDirectory(q, change);
  }

  /**
   * RegisterDelegatedAdministrator: lets a member account administer the
   * organization's compliance (own account groups) as the management account
   * does. Refused for the management account itself, an account outside the
   * organization, or one already registered; answers with the organization.
   */
  async registerDelegatedAdministrator(accountId: string): Promise<Organization> {
    return this.changeDelegatedAdministrators(accountId, 'register');
  }

  /** DeregisterDelegatedAdministrator: the account administers no more; refused when it is not registered. */
  async deregisterDelegatedAdministrator(accountId: string): Promise<Organization> {
    return this.changeDelegatedAdministrators(accountId, 'deregister');
  }

  private async changeDelegatedAdministrators(accountId: string, how: 'register' | 'deregister'): Promise<Organization> {
    await this.db.transaction(async (tx) => {
      const [o] = await tx.query<{ management_account: string; delegated_administrators: string[] }>(
        'SELECT management_account, delegated_administrators FROM sandbox_organization FOR UPDATE',
      );
      if (!o)
        throw new SandboxError('EntityNotExists.ResourceDirectory', 'The sandbox has no resource directory; declare an organization in the estate file.', 404);
      const [member] = await tx.query('SELECT 1 FROM sandbox_accounts WHERE account_id = $1', [accountId]);
      if (!member) throw new SandboxError('EntityNotExists.Account', `The account "${accountId}" is not a member of the resource directory.`, 404);
      const registered = o.delegated_administrators.includes(accountId);
      if (how === 'register') {
        if (accountId === o.management_account)
          throw new SandboxError(
            'InvalidParameter.AccountId',
            `The account "${accountId}" is the management account; it administers the resource directory already and cannot be a delegated administrator.`,
          );
        if (registered)
          throw new SandboxError('EntityAlreadyExists.DelegatedAdministrator', `The account "${accountId}" is already a delegated administrator.`, 409);
        await tx.query('UPDATE sandbox_organization SET delegated_administrators = array_append(delegated_administrators, $1)', [accountId]);
      } else {
        if (!registered) throw new SandboxError('EntityNotExists.DelegatedAdministrator', `The account "${accountId}" is not a delegated administrator.`, 404);
        await tx.query('UPDATE sandbox_organization SET delegated_administrators = array_remove(delegated_administrators, $1)', [accountId]);
      }
    });
    return (await this.organization())!;
  }
}

function toRow(r: NormalizedResource) {
  return {
    account_id: r.accountId,
    region_id: r.regionId,
    resource_type: r.resourceType,
    resource_id: r.resourceId,
    tags: r.tags,
    configuration: r.configuration,
  };
}
