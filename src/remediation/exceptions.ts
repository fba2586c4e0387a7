/**
 * Remediation exceptions: a resource exempted from a rule's remediation, with
 * a reason and an optional expiry. Automatic remediation passes it by, a
 * manual one is refused with the reason, and a queued execution whose
 * resource became exempt is cancelled when it comes to run.
 */
import type { Db, Queryable } from '../store/index.js';
import { keyString, type ResourceKey } from '../providers/types.js';
import { keysJson } from '../store/where.js';

export interface RemediationException extends ResourceKey {
  ruleId: string;
  ruleName: string;
  reason: string;
  expiresAt: string | null;
  createdAt: string;
  expired: boolean;
  /** 'policy' when declared in policy files (apply --prune removes it once undeclared), else 'api'. */
  origin: 'policy' | 'api';
}

interface Row {
  rule_id: string;
  name: string;
  account_id: string;
  region_id: string;
  resource_type: string;
  resource_id: string;
  reason: string;
  expires_at: Date | null;
  created_at: Date;
  origin: 'policy' | 'api';
}

function toException(r: Row, now = new Date()): RemediationException {
  return {
    ruleId: r.rule_id,
    ruleName: r.name,
    accountId: r.account_id,
    regionId: r.region_id,
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    reason: r.reason,
    expiresAt: r.expires_at ? new Date(r.expires_at).toISOString() : null,
    createdAt: new Date(r.created_at).toISOString(),
    expired: r.expires_at !== null && new Date(r.expires_at) <= now,
    origin: r.origin,
  };
}

const SELECT = 'SELECT e.*, r.name FROM remediation_exceptions e JOIN rules r ON r.rule_id = e.rule_id';
const KEY = 'e.rule_id = $1 AND e.account_id = $2 AND e.region_id = $3 AND e.resource_type = $4 AND e.resource_id = $5';

export class ExceptionStore {
  constructor(private readonly db: Db) {}

  /** Adds or replaces the exception of a resource under a rule. */
  async put(
    ruleId: string,
    key: ResourceKey,
    reason: string,
    expiresAt: Date | null,
    origin: 'policy' | 'api' = 'api',
    q: Queryable = this.db,
  ): Promise<RemediationException> {
    await q.query(
      `INSERT INTO remediation_exceptions (rule_id, account_id, region_id, resource_type, resource_id, reason, expires_at, origin)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (rule_id, account_id, region_id, resource_type, resource_id) DO UPDATE SET reason = EXCLUDED.reason, expires_at = EXCLUDED.expires_at, origin = EXCLUDED.origin, created_at = now()`,
      [ruleId, key.accountId, key.regionId, key.resourceType, key.resourceId, reason, expiresAt, origin],
    );
    const [row] = await q.query<Row>(`${SELECT} WHERE ${KEY}`, [ruleId, key.accountId, key.regionId, key.resourceType, key.resourceId]);
    return toException(row!);
  }

  async remove(ruleId: string, key: ResourceKey, q: Queryable = this.db): Promise<boolean> {
    const rows = await q.query('DELETE FROM remediation_exceptions e WHERE ' + KEY + ' RETURNING 1', [
      ruleId,
      key.accountId,
      key.regionId,
      key.resourceType,
      key.resourceId,
    ]);
    return rows.length > 0;
  }

  async list(ruleId?: string): Promise<RemediationException[]> {
    const rows = await this.db.query<Row>(
      `${SELECT} ${ruleId ? 'WHERE e.rule_id = $1' : ''} ORDER BY r.name, e.account_id, e.region_id, e.resource_type, e.resource_id`,
      ruleId ? [ruleId] : [],
    );
    return rows.map((r) => toException(r));
  }

  /** The unexpired exception of a resource under a rule, if any. */
  async active(ruleId: string, key: ResourceKey, now = new Date()): Promise<RemediationException | undefined> {
    const [row] = await this.db.query<Row>(`${SELECT} WHERE ${KEY} AND (e.expires_at IS NULL OR e.expires_at > $6)`, [
      ruleId,
      key.accountId,
      key.regionId,
      key.resourceType,
      key.resourceId,
      now,
    ]);
    return row ? toException(row, now) : undefined;
  }

  /** The unexpired exceptions of a rule for many resources, in one query, by keyString of the resource. */
  async activeMany(ruleId: string, keys: ResourceKey[], now = new Date()): Promise<Map<string, RemediationException>> {
    const out = new Map<string, RemediationException>();
    if (keys.length === 0) return out;
    const rows = await this.db.query<Row>(
      `${SELECT} JOIN jsonb_to_recordset($2::jsonb) AS k(a text, r text, t text, i text)
         ON e.account_id = k.a AND e.region_id = k.r AND e.resource_type = k.t AND e.resource_id = k.i
       WHERE e.rule_id = $1 AND (e.expires_at IS NULL OR e.expires_at > $3)`,
      [ruleId, keysJson(keys), now],
    );
    for (const r of rows) {
      const x = toException(r, now);
      out.set(keyString(x), x);
    }
    return out;
  }
}

export function describeException(e: RemediationException): string {
  return `exempted from remediation${e.expiresAt ? ` until ${e.expiresAt}` : ''}: ${e.reason}`;
}
