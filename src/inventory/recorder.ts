/**
 * The configuration recorder. Discovery takes full snapshots of a provider's
 * scopes; change notifications record single resources. Either way a new
 * configuration item is written only when the content really changed.
 */
import { EventEmitter } from 'node:events';
import { chunks, type Db, type Queryable } from '../store/index.js';
import type { Provider, ProviderCredentials, ResourceKey, ResourceState } from '../providers/types.js';
import { keyString, refusalOf } from '../providers/types.js';
import { silentLogger, type Logger } from '../util/log.js';
import { Semaphore } from '../util/semaphore.js';
import { contentHash } from './hash.js';
import { diffConfigurations, type DiffOp } from './diff.js';
import type { CiSource, CiStatus } from './types.js';

export interface SnapshotOptions {
  accountIds?: string[];
  resourceTypes?: string[];
  /** Scopes read at once (16). */
  concurrency?: number;
  /** Once at the start (scopesDone 0, no scope), then after every scope: the counts so far, the scope, what it held or why it was refused. */
  onProgress?: (p: {
    scopesDone: number;
    scopes: number;
    resources: number;
    scope?: { accountId: string; regionId: string; resourceType: string };
    found?: number;
    refused?: { code: string; message: string };
  }) => void;
}

export interface SnapshotSummary {
  provider: string;
  scopes: number;
  resources: number;
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
  durationMs: number;
  /** Scopes the provider refused to read (a read role without the permission), left as they were recorded. */
  refused?: { accountId: string; regionId: string; resourceType: string; code: string; message: string }[];
}

/** A snapshot that has recorded nothing yet. */
export const emptySnapshot = (provider: string): SnapshotSummary => ({
  provider,
  scopes: 0,
  resources: 0,
  created: 0,
  updated: 0,
  deleted: 0,
  unchanged: 0,
  durationMs: 0,
});

/**
 * The credentials to read an account's resources of a type with; undefined:
 * the provider's default access. Throws when they cannot be had (the refusal).
 */
export type ReadAccess = (accountId: string, resourceType: string) => Promise<ProviderCredentials | undefined>;

/** Emitted as 'recorded' for every new configuration item. */
export interface RecordedEvent extends ResourceKey {
  ciId: number;
  version: number;
  status: CiStatus;
  source: CiSource;
  capturedAt: Date;
  /** When the provider says the change happened (change notifications only). */
  changedAt: Date | null;
  /** The recorded state, on items from change notifications (null: deleted). */
  state?: { resourceName: string | null; tags: Record<string, string>; configuration: Record<string, unknown> } | null;
}

interface CurrentRow {
  resource_id: string;
  config_hash: string;
  status: CiStatus;
  version: number;
}

interface CiRow {
  account_id: string;
  region_id: string;
  resource_type: string;
  resource_id: string;
  provider: string;
  version: number;
  status: CiStatus;
  source: CiSource;
  captured_at: string;
  changed_at: string | null;
  resource_name: string | null;
  tags: Record<string, string>;
  configuration: Record<string, unknown> | null;
  config_hash: string;
  diff: DiffOp[];
}

const CI_COLUMNS = `account_id text, region_id text, resource_type text, resource_id text, version int,
  status text, source text, captured_at timestamptz, changed_at timestamptz, resource_name text, tags jsonb,
  configuration jsonb, config_hash text, diff jsonb`;

/**
 * Writes configuration items and moves the inventory to them, in one
 * statement (atomic without a transaction, and one round trip: the embedded
 * store pays about half a millisecond per statement). The configuration is
 * stored once, in the item; the inventory row points at it. With a cursor,
 * the recorder's place in a change feed moves in the same statement.
 */
async function writeItems(q: Queryable, rows: CiRow[], cursor?: { provider: string; cursor: string }): Promise<number[]> {
  if (rows.length === 0) return [];
  const ids = await q.query<{ id: number }>(
    `WITH ci AS (
       INSERT INTO configuration_items (account_id, region_id, resource_type, resource_id, version, status, source,
         captured_at, changed_at, resource_name, tags, configuration, config_hash, diff)
       SELECT account_id, region_id, resource_type, resource_id, version, status, source, captured_at, changed_at,
         resource_name, tags, configuration, config_hash, diff
       FROM json_to_recordset($1::json) AS r(${CI_COLUMNS})
       RETURNING id, account_id, region_id, resource_type, resource_id, version, status, captured_at, resource_name, tags, config_hash),
     inv AS (
       INSERT INTO resources AS t (account_id, region_id, resource_type, resource_id, provider, resource_name, tags,
         ci_id, config_hash, status, version, first_seen_at, captured_at)
       SELECT account_id, region_id, resource_type, resource_id, $2, resource_name, tags, id, config_hash, status, version, captured_at, captured_at FROM ci
       ON CONFLICT (account_id, region_id, resource_type, resource_id) DO UPDATE SET
         provider = EXCLUDED.provider, resource_name = EXCLUDED.resource_name, tags = EXCLUDED.tags,
         ci_id = EXCLUDED.ci_id, config_hash = EXCLUDED.config_hash, status = EXCLUDED.status,
         version = EXCLUDED.version, captured_at = EXCLUDED.captured_at
       RETURNING 1)${
         cursor
           ? `, cur AS (INSERT INTO recorder_cursors (provider, cursor, updated_at) VALUES ($3, $4, now())
                ON CONFLICT (provider) DO UPDATE SET cursor = EXCLUDED.cursor, updated_at = now() RETURNING 1)`
           : ''
       }
     SELECT id FROM ci ORDER BY id`,
    cursor ? [JSON.stringify(rows), rows[0]!.provider, cursor.provider, cursor.cursor] : [JSON.stringify(rows), rows[0]!.provider],
  );
  return ids.map((r) => r.id);
}

function ciRow(
  provider: string,
  key: ResourceKey,
  state: ResourceState | null,
  prev: { version: number; configuration: Record<string, unknown> | null } | null,
  status: CiStatus,
  source: CiSource,
  capturedAt: Date,
  changedAt: Date | null,
  hash: string,
): CiRow {
  return {
    account_id: key.accountId,
    region_id: key.regionId,
    resource_type: key.resourceType,
    resource_id: key.resourceId,
    provider,
    version: (prev?.version ?? 0) + 1,
    status,
    source,
    captured_at: capturedAt.toISOString(),
    changed_at: changedAt?.toISOString() ?? null,
    resource_name: state?.resourceName ?? null,
    tags: state?.tags ?? {},
    configuration: state?.configuration ?? null,
    config_hash: hash,
    // A first or a deletion item has no diff (as in AWS Config): the whole
    // configuration is in the item itself, or in the one before it.
    diff: status === 'OK' ? diffConfigurations(prev?.configuration ?? {}, state?.configuration ?? {}) : [],
  };
}

export class Recorder extends EventEmitter {
  private readonly providers = new Map<string, Provider>();
  private readonly unsubscribe: (() => void)[] = [];
  private draining = new Map<string, Promise<void>>();
  private again = new Set<string>();
  private poller: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly db: Db,
    providers: Provider[],
    private readonly log: Logger = silentLogger,
  ) {
    super();
    this.setMaxListeners(100);
    for (const p of providers) this.providers.set(p.name, p);
  }

  private readAccess: ReadAccess = async () => undefined;

  /** How accounts are read: account groups with a read role read their members through it. */
  setReadAccess(access: ReadAccess): void {
    this.readAccess = access;
  }

  provider(name: string): Provider {
    const p = this.providers.get(name);
    if (!p) throw new Error(`unknown provider ${name}`);
    return p;
  }

  /** Full snapshot of every account, region and type of a provider (or the given subset). */
  async snapshot(providerName: string, opts: SnapshotOptions = {}): Promise<SnapshotSummary> {
    const started = Date.now();
    const provider = this.provider(providerName);
    const types = opts.resourceTypes ?? provider.resourceTypes().map((t) => t.type);
    const accounts = (await provider.listAccounts()).filter((a) => !opts.accountIds || opts.accountIds.includes(a.accountId));
    const scopes = new Map<string, { accountId: string; regionId: string; resourceType: string }>();
    for (const a of accounts)
      for (const regionId of a.regions)
        for (const resourceType of types) scopes.set(`${a.accountId}/${regionId}/${resourceType}`, { accountId: a.accountId, regionId, resourceType });
    // Scopes recorded before but gone from the provider (a region disabled, an
    // account removed): snapshot them too so their resources are marked deleted.
    const known = await this.db.query<{ account_id: string; region_id: string; resource_type: string }>(
      `SELECT DISTINCT account_id, region_id, resource_type FROM resources WHERE provider = $1 AND status <> 'ResourceDeleted'`,
      [providerName],
    );
    for (const k of known) {
      if (opts.accountIds && !opts.accountIds.includes(k.account_id)) continue;
      if (!types.includes(k.resource_type)) continue;
      scopes.set(`${k.account_id}/${k.region_id}/${k.resource_type}`, { accountId: k.account_id, regionId: k.region_id, resourceType: k.resource_type });
    }
    const summary: SnapshotSummary = { ...emptySnapshot(providerName), scopes: scopes.size };
    let done = 0;
    opts.onProgress?.({ scopesDone: 0, scopes: scopes.size, resources: 0 });
    const liveRegions = new Map(accounts.map((a) => [a.accountId, new Set(a.regions)]));
    // Scopes are read side by side (a real cloud answers in hundreds of
    // milliseconds; its provider keeps its own limits per account); the first
    // failure that is not a refusal stops new reads and is thrown once the
    // reads under way have ended.
    const pool = new Semaphore(opts.concurrency ?? 16);
    let failure: { err: unknown } | undefined;
    const one = async (scope: { accountId: string; regionId: string; resourceType: string }): Promise<void> => {
      if (failure) return;
      const live = liveRegions.get(scope.accountId)?.has(scope.regionId) ?? false;
      let states: ResourceState[] = [];
      try {
        states = live ? await provider.discover(scope, await this.readAccess(scope.accountId, scope.resourceType)) : [];
      } catch (err) {
        const refused = refusalOf(err);
        if (!refused) {
          failure ??= { err };
          return;
        }
        // Refused, not empty: what was recorded stays as it was (nothing is marked deleted).
        (summary.refused ??= []).push({ ...scope, ...refused });
        this.log.warn('discovery refused; the scope keeps its last recorded state', { ...scope, code: refused.code, reason: refused.message });
        done++;
        opts.onProgress?.({ scopesDone: done, scopes: scopes.size, resources: summary.resources, scope, refused });
        return;
      }
      if (failure) return;
      await this.recordScope(providerName, scope, states, summary);
      done++;
      opts.onProgress?.({ scopesDone: done, scopes: scopes.size, resources: summary.resources, scope, found: states.length });
    };
    await Promise.all([...scopes.values()].map((scope) => pool.run(() => one(scope))));
    if (failure) throw failure.err;
    summary.durationMs = Date.now() - started;
    this.log.info('snapshot recorded', { ...summary });
    return summary;
  }

  private async recordScope(
    provider: string,
    scope: { accountId: string; regionId: string; resourceType: string },
    states: ResourceState[],
    summary: SnapshotSummary,
  ): Promise<void> {
    summary.resources += states.length;
    const existing = new Map(
      (
        await this.db.query<CurrentRow>(
          `SELECT resource_id, config_hash, status, version FROM resources WHERE account_id = $1 AND region_id = $2 AND resource_type = $3`,
          [scope.accountId, scope.regionId, scope.resourceType],
        )
      ).map((r) => [r.resource_id, r]),
    );
    const now = new Date();
    const hashed = states.map((s) => ({ s, hash: contentHash(s.configuration, s.tags) }));
    const changedIds = hashed.filter(({ s, hash }) => {
      const e = existing.get(s.resourceId);
      return e && e.status !== 'ResourceDeleted' && e.config_hash !== hash;
    });
    // Previous configurations only for the resources whose content changed, for their diffs.
    const previous = new Map<string, Record<string, unknown> | null>();
    for (const batch of chunks(
      changedIds.map((c) => c.s.resourceId),
      1000,
    )) {
      const rows = await this.db.query<{ resource_id: string; configuration: Record<string, unknown> | null }>(
        `SELECT r.resource_id, c.configuration FROM resources r JOIN configuration_items c ON c.id = r.ci_id
         WHERE r.account_id = $1 AND r.region_id = $2 AND r.resource_type = $3 AND r.resource_id = ANY($4::text[])`,
        [scope.accountId, scope.regionId, scope.resourceType, batch],
      );
      for (const r of rows) previous.set(r.resource_id, r.configuration);
    }
    const rows: CiRow[] = [];
    const seen = new Set<string>();
    for (const { s, hash } of hashed) {
      seen.add(s.resourceId);
      const e = existing.get(s.resourceId);
      if (!e || e.status === 'ResourceDeleted') {
        rows.push(ciRow(provider, s, s, e ? { version: e.version, configuration: null } : null, 'ResourceDiscovered', 'discovery', now, null, hash));
        summary.created++;
      } else if (e.config_hash !== hash) {
        rows.push(ciRow(provider, s, s, { version: e.version, configuration: previous.get(s.resourceId) ?? null }, 'OK', 'discovery', now, null, hash));
        summary.updated++;
      } else summary.unchanged++;
    }
    const gone = [...existing.values()].filter((e) => e.status !== 'ResourceDeleted' && !seen.has(e.resource_id));
    if (gone.length) {
      const prevRows = await this.db.query<{ resource_id: string; configuration: Record<string, unknown> | null }>(
        `SELECT r.resource_id, c.configuration FROM resources r JOIN configuration_items c ON c.id = r.ci_id
         WHERE r.account_id = $1 AND r.region_id = $2 AND r.resource_type = $3 AND r.resource_id = ANY($4::text[])`,
        [scope.accountId, scope.regionId, scope.resourceType, gone.map((g) => g.resource_id)],
      );
      const prevCfg = new Map(prevRows.map((r) => [r.resource_id, r.configuration]));
      for (const g of gone) {
        const key = { ...scope, resourceId: g.resource_id };
        rows.push(
          ciRow(
            provider,
            key,
            null,
            { version: g.version, configuration: prevCfg.get(g.resource_id) ?? null },
            'ResourceDeleted',
            'discovery',
            now,
            null,
            contentHash(null, {}),
          ),
        );
        summary.deleted++;
      }
    }
    for (const batch of chunks(rows, 1000)) {
      const ids = await writeItems(this.db, batch);
      batch.forEach((r, i) => {
        this.emitRecorded(r, ids[i]!, null);
      });
    }
  }

  /**
   * Records one resource as the provider describes it now. Returns the new
   * configuration item's id, or null when nothing changed. Two recorders
   * racing on one resource cannot both write a version: the item's
   * (resource, version) key is unique, and the loser tries again.
   */
  async recordOne(
    providerName: string,
    key: ResourceKey,
    changedAt: Date | null = null,
    cursor?: { provider: string; cursor: string },
  ): Promise<number | null> {
    const provider = this.provider(providerName);
    for (let attempt = 1; ; attempt++) {
      let state: ResourceState | null;
      try {
        state = await provider.describe(key, await this.readAccess(key.accountId, key.resourceType));
      } catch (err) {
        const refused = refusalOf(err);
        if (!refused) throw err;
        // The change is passed by (the feed goes on); the next snapshot says the same, once per scope.
        this.log.warn('reading a changed resource was refused; it keeps its last recorded state', { ...key, code: refused.code, reason: refused.message });
        if (cursor) await this.saveCursor(cursor);
        return null;
      }
      const hash = contentHash(state?.configuration ?? null, state?.tags ?? {});
      const [cur] = await this.db.query<CurrentRow & { configuration: Record<string, unknown> | null }>(
        `SELECT r.resource_id, r.config_hash, r.status, r.version, c.configuration FROM resources r
         JOIN configuration_items c ON c.id = r.ci_id
         WHERE r.account_id = $1 AND r.region_id = $2 AND r.resource_type = $3 AND r.resource_id = $4`,
        [key.accountId, key.regionId, key.resourceType, key.resourceId],
      );
      let row: CiRow | null = null;
      const now = new Date();
      if (!state) {
        if (cur && cur.status !== 'ResourceDeleted') row = ciRow(providerName, key, null, cur, 'ResourceDeleted', 'change', now, changedAt, hash);
      } else if (!cur || cur.status === 'ResourceDeleted') {
        row = ciRow(providerName, key, state, cur ? { version: cur.version, configuration: null } : null, 'ResourceDiscovered', 'change', now, changedAt, hash);
      } else if (cur.config_hash !== hash) {
        row = ciRow(providerName, key, state, cur, 'OK', 'change', now, changedAt, hash);
      }
      if (!row) {
        if (cursor) await this.saveCursor(cursor);
        return null;
      }
      try {
        const [id] = await writeItems(this.db, [row], cursor);
        this.emitRecorded(row, id!, changedAt, state);
        return id!;
      } catch (err) {
        if ((err as { code?: string }).code !== '23505' || attempt >= 3) throw err;
      }
    }
  }

  private async saveCursor(c: { provider: string; cursor: string }): Promise<void> {
    await this.db.query(
      `INSERT INTO recorder_cursors (provider, cursor, updated_at) VALUES ($1, $2, now())
       ON CONFLICT (provider) DO UPDATE SET cursor = EXCLUDED.cursor, updated_at = now()`,
      [c.provider, c.cursor],
    );
  }

  private emitRecorded(r: CiRow, id: number, changedAt: Date | null, state?: ResourceState | null) {
    if (this.listenerCount('recorded') === 0) return;
    const ev: RecordedEvent = {
      accountId: r.account_id,
      regionId: r.region_id,
      resourceType: r.resource_type,
      resourceId: r.resource_id,
      ciId: id,
      version: r.version,
      status: r.status,
      source: r.source,
      capturedAt: new Date(r.captured_at),
      changedAt,
    };
    // Single changes carry the state, so listeners need not read it back.
    if (state !== undefined) ev.state = state ? { resourceName: state.resourceName ?? null, tags: state.tags, configuration: state.configuration } : null;
    this.emit('recorded', ev);
  }

  /** Follows every provider's change feed until stop(). */
  start(pollMs = 1000): void {
    this.stopped = false;
    for (const p of this.providers.values()) {
      if (!p.changeFeed) continue;
      this.unsubscribe.push(p.changeFeed.onChange(() => void this.drain(p.name)));
      void this.drain(p.name);
    }
    // Changes made by other processes sharing the database are found by polling.
    this.poller = setInterval(() => {
      for (const p of this.providers.values()) if (p.changeFeed) void this.drain(p.name);
    }, pollMs);
    this.poller.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.poller) clearInterval(this.poller);
    for (const u of this.unsubscribe.splice(0)) u();
    await Promise.allSettled([...this.draining.values()]);
  }

  /** Drains one provider's feed; calls while a drain runs make it go round once more. */
  drain(providerName: string): Promise<void> {
    const running = this.draining.get(providerName);
    if (running) {
      this.again.add(providerName);
      return running;
    }
    const run = (async () => {
      try {
        do {
          this.again.delete(providerName);
          while (!this.stopped && (await this.drainBatch(providerName)) > 0);
        } while (!this.stopped && this.again.has(providerName));
      } catch (err) {
        this.log.error('recording changes failed; will retry', { provider: providerName, err: err as Error });
      } finally {
        this.draining.delete(providerName);
      }
    })();
    this.draining.set(providerName, run);
    return run;
  }

  private cursors = new Map<string, string | null>();

  private async drainBatch(providerName: string): Promise<number> {
    const feed = this.provider(providerName).changeFeed!;
    if (!this.cursors.has(providerName)) {
      const [cur] = await this.db.query<{ cursor: string }>('SELECT cursor FROM recorder_cursors WHERE provider = $1', [providerName]);
      this.cursors.set(providerName, cur?.cursor ?? null);
    }
    const { changes, cursor } = await feed.read(this.cursors.get(providerName) ?? null, 500);
    if (changes.length === 0) return 0;
    // Several changes to one resource in a batch need one look at its state now;
    // the earliest change time is kept, so latency is measured from the first.
    const byKey = new Map<string, { key: ResourceKey; changedAt: Date }>();
    for (const c of changes) {
      const k = keyString(c);
      if (!byKey.has(k)) byKey.set(k, { key: c, changedAt: c.changedAt });
    }
    const list = [...byKey.values()];
    for (let i = 0; i < list.length; i++) {
      const { key, changedAt } = list[i]!;
      // The feed position is saved with the batch's last write (one statement).
      const save = i === list.length - 1 && cursor ? { provider: providerName, cursor } : undefined;
      await this.recordOne(
        providerName,
        { accountId: key.accountId, regionId: key.regionId, resourceType: key.resourceType, resourceId: key.resourceId },
        changedAt,
        save,
      );
    }
    this.cursors.set(providerName, cursor);
    // Only now, with the batch recorded, may a feed that deletes what was read (a queue) let go of it.
    if (cursor) await feed.acknowledge?.(cursor);
    return changes.length;
  }
}
