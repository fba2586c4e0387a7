/** Compliance views: per rule, per resource, and summaries people can act on. */
import type { Db } from '../store/index.js';
import { Where, pageSize } from '../store/where.js';
import type { ResourceKey } from '../providers/types.js';
import type { ComplianceType } from '../rules/types.js';
import type { Rule } from '../rules/model.js';

export type Counts = Record<'compliant' | 'nonCompliant' | 'notApplicable' | 'insufficientData', number>;

const field: Record<ComplianceType, keyof Counts> = {
  COMPLIANT: 'compliant',
  NON_COMPLIANT: 'nonCompliant',
  NOT_APPLICABLE: 'notApplicable',
  INSUFFICIENT_DATA: 'insufficientData',
};

export const zeroCounts = (): Counts => ({ compliant: 0, nonCompliant: 0, notApplicable: 0, insufficientData: 0 });

export interface ResultView extends ResourceKey {
  ruleId: string;
  ruleName: string;
  riskLevel: number;
  complianceType: ComplianceType;
  annotation: string;
  ciId: number | null;
  orderingAt: string;
  invokedAt: string;
  recordedAt: string;
}

export interface TimelineEntry extends ResourceKey {
  id: number;
  ruleId: string;
  ruleName: string;
  riskLevel: number;
  complianceType: ComplianceType;
  previousComplianceType: ComplianceType | null;
  annotation: string;
  ciId: number | null;
  closed: boolean;
  orderingAt: string;
  invokedAt: string;
  recordedAt: string;
}

const iso = (d: Date | string) => new Date(d).toISOString();

interface ResultRow {
  rule_id: string;
  name: string;
  risk_level: number;
  account_id: string;
  region_id: string;
  resource_type: string;
  resource_id: string;
  compliance_type: ComplianceType;
  annotation: string;
  ci_id: number | null;
  ordering_at: Date;
  invoked_at: Date;
  recorded_at: Date;
}

function toResult(r: ResultRow): ResultView {
  return {
    ruleId: r.rule_id,
    ruleName: r.name,
    riskLevel: r.risk_level,
    accountId: r.account_id,
    regionId: r.region_id,
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    complianceType: r.compliance_type,
    annotation: r.annotation,
    ciId: r.ci_id,
    orderingAt: iso(r.ordering_at),
    invokedAt: iso(r.invoked_at),
    recordedAt: iso(r.recorded_at),
  };
}

const RESULT_SQL = `SELECT e.*, r.name, r.risk_level FROM evaluation_results e JOIN rules r ON r.rule_id = e.rule_id`;

export class ComplianceViews {
  constructor(private readonly db: Db) {}

  /** Counts per rule (every rule, evaluated or not). */
  async byRule(): Promise<Map<string, Counts>> {
    const rows = await this.db.query<{ rule_id: string; compliance_type: ComplianceType; n: number }>(
      'SELECT rule_id, compliance_type, count(*)::int AS n FROM evaluation_results GROUP BY 1, 2',
    );
    const out = new Map<string, Counts>();
    for (const r of rows) {
      const c = out.get(r.rule_id) ?? zeroCounts();
      c[field[r.compliance_type]] += r.n;
      out.set(r.rule_id, c);
    }
    return out;
  }

  /**
   * The resources a rule finds NON_COMPLIANT now (of `resourceTypes`; of
   * `keys` only, when given), with the configuration item it judged.
   */
  async nonCompliant(ruleId: string, resourceTypes: string[], keys?: ResourceKey[]): Promise<(ResourceKey & { ciId: number | null })[]> {
    if (keys && keys.length === 0) return [];
    const rows = await this.db.query<{ account_id: string; region_id: string; resource_type: string; resource_id: string; ci_id: number | string | null }>(
      keys
        ? `SELECT e.account_id, e.region_id, e.resource_type, e.resource_id, e.ci_id FROM evaluation_results e
             JOIN jsonb_to_recordset($3::jsonb) AS k(a text, r text, t text, i text)
               ON e.account_id = k.a AND e.region_id = k.r AND e.resource_type = k.t AND e.resource_id = k.i
           WHERE e.rule_id = $1 AND e.compliance_type = 'NON_COMPLIANT' AND e.resource_type = ANY($2::text[])`
        : `SELECT e.account_id, e.region_id, e.resource_type, e.resource_id, e.ci_id FROM evaluation_results e
           WHERE e.rule_id = $1 AND e.compliance_type = 'NON_COMPLIANT' AND e.resource_type = ANY($2::text[])
           ORDER BY e.account_id, e.region_id, e.resource_type, e.resource_id`,
      keys
        ? [ruleId, resourceTypes, JSON.stringify(keys.map((k) => ({ a: k.accountId, r: k.regionId, t: k.resourceType, i: k.resourceId })))]
        : [ruleId, resourceTypes],
    );
    return rows.map((r) => ({
      accountId: r.account_id,
      regionId: r.region_id,
      resourceType: r.resource_type,
      resourceId: r.resource_id,
      ciId: r.ci_id === null ? null : Number(r.ci_id),
    }));
  }

  async results(f: {
    ruleId?: string;
    complianceType?: ComplianceType;
    resource?: ResourceKey;
    provider?: string;
    limit?: number;
  }): Promise<{ items: ResultView[]; total: number }> {
    const w = new Where().eq('e.rule_id', f.ruleId).eq('e.compliance_type', f.complianceType).resource('e', f.resource).provider('e', f.provider);
    const [{ n } = { n: 0 }] = await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM evaluation_results e ${w}`, w.params);
    const rows = await this.db.query<ResultRow>(
      `${RESULT_SQL} ${w} ORDER BY r.risk_level, r.name, e.account_id, e.region_id, e.resource_type, e.resource_id LIMIT ${pageSize(f.limit, 100, 10000)}`,
      w.params,
    );
    return { items: rows.map(toResult), total: n };
  }

  async timeline(f: { ruleId?: string; resource?: ResourceKey; limit?: number }): Promise<TimelineEntry[]> {
    const w = new Where().eq('t.rule_id', f.ruleId).resource('t', f.resource);
    const rows = await this.db.query<ResultRow & { id: number; previous_compliance_type: ComplianceType | null; closed: boolean }>(
      `SELECT t.*, r.name, r.risk_level FROM evaluation_timeline t JOIN rules r ON r.rule_id = t.rule_id
       ${w} ORDER BY t.id DESC LIMIT ${pageSize(f.limit, 50, 1000)}`,
      w.params,
    );
    return rows.map((r) => ({ ...toResult(r), id: r.id, previousComplianceType: r.previous_compliance_type, closed: r.closed }));
  }

  /**
   * Summaries of active rules' results: by account, resource type and risk
   * level, counting results and the distinct non-compliant resources.
   */
  async summary(): Promise<{
    totals: Counts & { nonCompliantResources: number };
    byRiskLevel: Record<string, Counts>;
    byAccount: Record<string, Counts & { nonCompliantResources: number }>;
    byResourceType: Record<string, Counts & { nonCompliantResources: number }>;
  }> {
    const rows = await this.db.query<{ risk_level: number; account_id: string; resource_type: string; compliance_type: ComplianceType; n: number }>(
      `SELECT r.risk_level, e.account_id, e.resource_type, e.compliance_type, count(*)::int AS n
       FROM evaluation_results e JOIN rules r ON r.rule_id = e.rule_id WHERE r.state = 'ACTIVE' GROUP BY 1, 2, 3, 4`,
    );
    const nc = await this.db.query<{ account_id: string; resource_type: string; n: number }>(
      `SELECT account_id, resource_type, count(DISTINCT (region_id, resource_id))::int AS n FROM evaluation_results e JOIN rules r ON r.rule_id = e.rule_id
       WHERE e.compliance_type = 'NON_COMPLIANT' AND r.state = 'ACTIVE' GROUP BY 1, 2`,
    );
    const totals = { ...zeroCounts(), nonCompliantResources: 0 };
    const byRiskLevel: Record<string, Counts> = {};
    const byAccount: Record<string, Counts & { nonCompliantResources: number }> = {};
    const byResourceType: Record<string, Counts & { nonCompliantResources: number }> = {};
    for (const r of rows) {
      const f = field[r.compliance_type];
      totals[f] += r.n;
      (byRiskLevel[r.risk_level] ??= zeroCounts())[f] += r.n;
      (byAccount[r.account_id] ??= { ...zeroCounts(), nonCompliantResources: 0 })[f] += r.n;
      (byResourceType[r.resource_type] ??= { ...zeroCounts(), nonCompliantResources: 0 })[f] += r.n;
    }
    for (const r of nc) {
      totals.nonCompliantResources += r.n;
      byAccount[r.account_id]!.nonCompliantResources += r.n;
      byResourceType[r.resource_type]!.nonCompliantResources += r.n;
    }
    return { totals, byRiskLevel, byAccount, byResourceType };
  }

  /** Results of the given rules broken down by account, for the given accounts only. */
  async byAccountWithin(rules: { ruleId: string; name: string }[], accountIds: string[]): Promise<GroupCompliance> {
    const ruleIds = rules.map((r) => r.ruleId);
    const rows =
      ruleIds.length && accountIds.length
        ? await this.db.query<{ account_id: string; rule_id: string; compliance_type: ComplianceType; n: number }>(
            `SELECT account_id, rule_id, compliance_type, count(*)::int AS n FROM evaluation_results
           WHERE rule_id = ANY($1::text[]) AND account_id = ANY($2::text[]) GROUP BY 1, 2, 3`,
            [ruleIds, accountIds],
          )
        : [];
    const nc =
      ruleIds.length && accountIds.length
        ? await this.db.query<{ account_id: string; n: number }>(
            `SELECT account_id, count(DISTINCT (region_id, resource_type, resource_id))::int AS n FROM evaluation_results
           WHERE compliance_type = 'NON_COMPLIANT' AND rule_id = ANY($1::text[]) AND account_id = ANY($2::text[]) GROUP BY 1`,
            [ruleIds, accountIds],
          )
        : [];
    const ruleRow = (r: { ruleId: string; name: string }) => ({ ruleName: r.name, ruleId: r.ruleId, ...zeroCounts() });
    const accounts = new Map<string, AccountCompliance>(
      [...accountIds].sort().map((a) => [a, { accountId: a, rules: rules.map(ruleRow), totals: { ...zeroCounts(), nonCompliantResources: 0 } }]),
    );
    const byRule = new Map(rules.map((r) => [r.ruleId, ruleRow(r)]));
    const totals = { ...zeroCounts(), nonCompliantResources: 0 };
    for (const r of rows) {
      const a = accounts.get(r.account_id)!;
      const f = field[r.compliance_type];
      a.rules.find((x) => x.ruleId === r.rule_id)![f] += r.n;
      a.totals[f] += r.n;
      byRule.get(r.rule_id)![f] += r.n;
      totals[f] += r.n;
    }
    for (const r of nc) {
      accounts.get(r.account_id)!.totals.nonCompliantResources = r.n;
      totals.nonCompliantResources += r.n;
    }
    return { accounts: [...accounts.values()], rules: [...byRule.values()], totals };
  }

  /**
   * Non-compliant results and resources of active rules over time, in equal
   * buckets from `since` (default: a day ago, or the first result if later)
   * to now. It returns the state at the window's start (the last entry of
   * each result before it, open non-compliant ones only) and the entries
   * inside the window, not the whole timeline; finding those last entries
   * still scans the entries before the window (the current results rewound by
   * the window's entries would not: a next step).
   */
  async trend(opts: { since?: Date; buckets?: number } = {}): Promise<{ from: string; to: string; points: TrendPoint[] }> {
    const now = Date.now();
    const [first] = await this.db.query<{ at: Date | string | null }>('SELECT min(recorded_at) AS at FROM evaluation_timeline');
    const firstAt = first?.at ? new Date(first.at).getTime() : now - 3_600_000;
    let from = opts.since ? opts.since.getTime() : Math.max(firstAt, now - TREND_DEFAULT_WINDOW_MS);
    if (now - from < 60_000) from = now - 60_000;
    const fromDate = new Date(from);
    const before = await this.db.query<TimelineRow>(
      `SELECT * FROM (
         SELECT DISTINCT ON (t.rule_id, t.account_id, t.region_id, t.resource_type, t.resource_id)
                t.rule_id, t.account_id, t.region_id, t.resource_type, t.resource_id, t.compliance_type, t.closed, t.recorded_at
           FROM evaluation_timeline t JOIN rules r ON r.rule_id = t.rule_id
          WHERE r.state = 'ACTIVE' AND t.recorded_at <= $1
          ORDER BY t.rule_id, t.account_id, t.region_id, t.resource_type, t.resource_id, t.id DESC) s
        WHERE s.compliance_type = 'NON_COMPLIANT' AND NOT s.closed`,
      [fromDate],
    );
    const inside = await this.db.query<TimelineRow>(
      `SELECT t.rule_id, t.account_id, t.region_id, t.resource_type, t.resource_id, t.compliance_type, t.closed, t.recorded_at
         FROM evaluation_timeline t JOIN rules r ON r.rule_id = t.rule_id
        WHERE r.state = 'ACTIVE' AND t.recorded_at > $1 ORDER BY t.id`,
      [fromDate],
    );
    const n = opts.buckets ?? 60;
    const width = (now - from) / n;
    // Replay: the state of every (rule, resource) result, and per resource the rules it fails.
    const state = new Map<string, boolean>();
    const perResource = new Map<string, number>();
    let nc = 0;
    const apply = (r: TimelineRow) => {
      const res = `${r.account_id}|${r.region_id}|${r.resource_type}|${r.resource_id}`;
      const key = `${r.rule_id}|${res}`;
      const was = state.get(key) ?? false;
      const is = !r.closed && r.compliance_type === 'NON_COMPLIANT';
      if (was === is) return;
      state.set(key, is);
      nc += is ? 1 : -1;
      const k = (perResource.get(res) ?? 0) + (is ? 1 : -1);
      if (k === 0) perResource.delete(res);
      else perResource.set(res, k);
    };
    for (const r of before) apply(r);
    const points: TrendPoint[] = [];
    let i = 0;
    for (let b = 1; b <= n; b++) {
      const end = b === n ? now : from + width * b;
      let peak = perResource.size;
      while (i < inside.length && new Date(inside[i]!.recorded_at).getTime() <= end) {
        apply(inside[i++]!);
        peak = Math.max(peak, perResource.size);
      }
      points.push({ at: new Date(end).toISOString(), nonCompliant: nc, nonCompliantResources: perResource.size, peakNonCompliantResources: peak });
    }
    return { from: fromDate.toISOString(), to: new Date(now).toISOString(), points };
  }
}

/** One account's results within an account group: per rule scoped to the group, and in total. */
export interface AccountCompliance {
  accountId: string;
  rules: ({ ruleName: string; ruleId: string } & Counts)[];
  totals: Counts & { nonCompliantResources: number };
}

export interface GroupCompliance {
  /** Every member account, with zeros where nothing was judged. */
  accounts: AccountCompliance[];
  /** Each rule's results over the group's members. */
  rules: ({ ruleName: string; ruleId: string } & Counts)[];
  totals: Counts & { nonCompliantResources: number };
}

/** One point of the compliance trend: the state at the end of a bucket. */
export interface TrendPoint {
  /** End of the bucket. */
  at: string;
  /** Non-compliant results (rule × resource) then. */
  nonCompliant: number;
  /** Distinct resources non-compliant under at least one rule then. */
  nonCompliantResources: number;
  /** The most non-compliant resources at any moment in the bucket. */
  peakNonCompliantResources: number;
}

interface TimelineRow {
  rule_id: string;
  account_id: string;
  region_id: string;
  resource_type: string;
  resource_id: string;
  compliance_type: string;
  closed: boolean;
  recorded_at: Date | string;
}

/** How far back the trend looks when not told (and never before the first result). */
export const TREND_DEFAULT_WINDOW_MS = 24 * 3_600_000;

export function withCounts<T extends Rule>(rules: T[], counts: Map<string, Counts>): (T & { compliance: Counts })[] {
  return rules.map((r) => ({ ...r, compliance: counts.get(r.ruleId) ?? zeroCounts() }));
}
