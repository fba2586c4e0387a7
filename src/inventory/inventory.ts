/** Read side of the recorder: list, filter and look up resources and their timelines. */
import type { Db } from '../store/index.js';
import { Where, pageSize } from '../store/where.js';
import type { ResourceKey } from '../providers/types.js';
import type { ConfigurationItem, InventoryResource } from './types.js';
import { ConfixError, kindOfStatus } from '../errors.js';

export interface ResourceFilter {
  /** The provider that recorded it (its name: sandbox, aws, …). */
  provider?: string;
  accountId?: string;
  regionId?: string;
  resourceType?: string;
  /** Exact id, or a prefix ending in '*'. */
  resourceId?: string;
  /** Tag filters: key=value, or key alone for "has the tag". */
  tags?: { key: string; value?: string }[];
  includeDeleted?: boolean;
  limit?: number;
  /** Opaque cursor from a previous page's nextCursor. */
  cursor?: string;
}

export interface ResourcePage {
  items: InventoryResource[];
  total: number;
  nextCursor: string | null;
}

interface ResourceRow {
  account_id: string;
  region_id: string;
  resource_type: string;
  resource_id: string;
  provider: string;
  resource_name: string | null;
  tags: Record<string, string>;
  status: InventoryResource['status'];
  version: number;
  first_seen_at: Date;
  captured_at: Date;
  configuration?: Record<string, unknown> | null;
}

function toResource(r: ResourceRow): InventoryResource {
  const out: InventoryResource = {
    accountId: r.account_id,
    regionId: r.region_id,
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    provider: r.provider,
    resourceName: r.resource_name,
    tags: r.tags,
    status: r.status,
    version: r.version,
    firstSeenAt: new Date(r.first_seen_at).toISOString(),
    capturedAt: new Date(r.captured_at).toISOString(),
  };
  if (r.configuration !== undefined) out.configuration = r.configuration;
  return out;
}

const encodeCursor = (r: ResourceKey) => Buffer.from(JSON.stringify([r.accountId, r.regionId, r.resourceType, r.resourceId])).toString('base64url');

function decodeCursor(c: string): string[] {
  try {
    const v = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 4 && v.every((x) => typeof x === 'string')) return v as string[];
  } catch {
    /* fall through */
  }
  throw new InventoryError('InvalidCursor', 'the cursor is not one this service gave out');
}

export class InventoryError extends ConfixError {
  constructor(code: string, message: string, status = 400) {
    super(code, kindOfStatus(status), message, { httpStatus: status });
  }
}

export class Inventory {
  constructor(private readonly db: Db) {}

  async list(f: ResourceFilter = {}): Promise<ResourcePage> {
    const w = new Where().eq('provider', f.provider).eq('account_id', f.accountId).eq('region_id', f.regionId).eq('resource_type', f.resourceType);
    if (!f.includeDeleted) w.add(`status <> 'ResourceDeleted'`);
    if (f.resourceId?.endsWith('*')) w.add(`resource_id LIKE ${w.param(f.resourceId.slice(0, -1).replace(/[\\%_]/g, '\\$&') + '%')}`);
    else w.eq('resource_id', f.resourceId);
    for (const t of f.tags ?? []) w.add(t.value === undefined ? `tags ? ${w.param(t.key)}` : `tags @> ${w.param(JSON.stringify({ [t.key]: t.value }))}::jsonb`);
    // The total ignores the cursor, so it is counted before the cursor's parameters are added.
    const [{ n } = { n: 0 }] = await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM resources ${w}`, [...w.params]);
    const limit = pageSize(f.limit, 100, 5000);
    if (f.cursor) {
      const [a, r, t, i] = decodeCursor(f.cursor);
      w.add(`(account_id, region_id, resource_type, resource_id) > (${w.param(a)}, ${w.param(r)}, ${w.param(t)}, ${w.param(i)})`);
    }
    const rows = await this.db.query<ResourceRow>(
      `SELECT account_id, region_id, resource_type, resource_id, provider, resource_name, tags, status, version, first_seen_at, captured_at
       FROM resources ${w} ORDER BY account_id, region_id, resource_type, resource_id LIMIT ${limit + 1}`,
      w.params,
    );
    const items = rows.slice(0, limit).map(toResource);
    const last = items[items.length - 1];
    return { items, total: n, nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
  }

  /** Resources with this id, optionally narrowed; ids are unique per account, region and type only. */
  async find(resourceId: string, narrow: Partial<ResourceKey> = {}): Promise<InventoryResource[]> {
    const rows = await this.db.query<ResourceRow>(
      `SELECT r.account_id, r.region_id, r.resource_type, r.resource_id, r.provider, r.resource_name, r.tags, r.status,
              r.version, r.first_seen_at, r.captured_at, c.configuration
       FROM resources r JOIN configuration_items c ON c.id = r.ci_id
       WHERE r.resource_id = $1
         AND ($2::text IS NULL OR r.account_id = $2) AND ($3::text IS NULL OR r.region_id = $3) AND ($4::text IS NULL OR r.resource_type = $4)
       ORDER BY (r.status = 'ResourceDeleted'), r.account_id, r.region_id, r.resource_type`,
      [resourceId, narrow.accountId ?? null, narrow.regionId ?? null, narrow.resourceType ?? null],
    );
    return rows.map(toResource);
  }

  /** The one resource an id names, or an error that says why not (unknown, or ambiguous and how to narrow it). */
  async resolve(resourceId: string, narrow: Partial<ResourceKey> = {}): Promise<InventoryResource> {
    const found = await this.find(resourceId, narrow);
    const live = found.filter((r) => r.status !== 'ResourceDeleted');
    const candidates = live.length ? live : found;
    if (candidates.length === 0) throw new InventoryError('ResourceNotFound', `no recorded resource has the id "${resourceId}"`, 404);
    if (candidates.length > 1) {
      const where = candidates.map((c) => `${c.resourceType} in ${c.accountId}/${c.regionId}`).join('; ');
      throw new InventoryError(
        'AmbiguousResourceId',
        `"${resourceId}" names ${candidates.length} resources (${where}); narrow it with account, region or type`,
        409,
      );
    }
    return candidates[0]!;
  }

  async history(key: ResourceKey, opts: { limit?: number; withConfiguration?: boolean } = {}): Promise<ConfigurationItem[]> {
    const rows = await this.db.query<{
      id: number;
      account_id: string;
      region_id: string;
      resource_type: string;
      resource_id: string;
      version: number;
      status: ConfigurationItem['status'];
      source: ConfigurationItem['source'];
      captured_at: Date;
      changed_at: Date | null;
      resource_name: string | null;
      tags: Record<string, string>;
      configuration: Record<string, unknown> | null;
      config_hash: string;
      diff: ConfigurationItem['diff'];
    }>(
      `SELECT id, account_id, region_id, resource_type, resource_id, version, status, source, captured_at, changed_at, resource_name, tags,
              ${opts.withConfiguration === false ? 'NULL::jsonb AS configuration' : 'configuration'}, config_hash, diff
       FROM configuration_items WHERE account_id = $1 AND region_id = $2 AND resource_type = $3 AND resource_id = $4
       ORDER BY version DESC LIMIT $5`,
      [key.accountId, key.regionId, key.resourceType, key.resourceId, pageSize(opts.limit, 50, 1000)],
    );
    return rows.map((r) => ({
      id: r.id,
      accountId: r.account_id,
      regionId: r.region_id,
      resourceType: r.resource_type,
      resourceId: r.resource_id,
      version: r.version,
      status: r.status,
      source: r.source,
      capturedAt: new Date(r.captured_at).toISOString(),
      changedAt: r.changed_at ? new Date(r.changed_at).toISOString() : null,
      resourceName: r.resource_name,
      tags: r.tags,
      configuration: r.configuration,
      configHash: r.config_hash,
      diff: r.diff,
    }));
  }

  /** Counts of live resources by type and by account. */
  async summary(): Promise<{ total: number; byType: Record<string, number>; byAccount: Record<string, number> }> {
    const rows = await this.db.query<{ account_id: string; resource_type: string; n: number }>(
      `SELECT account_id, resource_type, count(*)::int AS n FROM resources WHERE status <> 'ResourceDeleted' GROUP BY 1, 2`,
    );
    const byType: Record<string, number> = {};
    const byAccount: Record<string, number> = {};
    let total = 0;
    for (const r of rows) {
      byType[r.resource_type] = (byType[r.resource_type] ?? 0) + r.n;
      byAccount[r.account_id] = (byAccount[r.account_id] ?? 0) + r.n;
      total += r.n;
    }
    return { total, byType, byAccount };
  }
}
