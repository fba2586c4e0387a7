/** Builds a WHERE clause with numbered parameters, for the list queries' optional filters. */
import type { ResourceKey } from '../providers/types.js';

export class Where {
  readonly params: unknown[] = [];
  private readonly clauses: string[] = [];

  /** A parameter placeholder ($n) for the value. */
  param(v: unknown): string {
    this.params.push(v);
    return `$${this.params.length}`;
  }

  add(clause: string): this {
    this.clauses.push(clause);
    return this;
  }

  /** `column = value`, when a value is given. */
  eq(column: string, value: unknown): this {
    if (value !== undefined && value !== null && value !== '') this.add(`${column} = ${this.param(value)}`);
    return this;
  }

  /** The four key columns (with a table alias) equal to a resource's key, when one is given. */
  resource(alias: string, key: ResourceKey | undefined): this {
    if (!key) return this;
    return this.eq(`${alias}.account_id`, key.accountId)
      .eq(`${alias}.region_id`, key.regionId)
      .eq(`${alias}.resource_type`, key.resourceType)
      .eq(`${alias}.resource_id`, key.resourceId);
  }

  /** The row (with a table alias, keyed like a resource) is of a resource this provider recorded, when one is given. */
  provider(alias: string, name: string | undefined): this {
    if (!name) return this;
    return this.add(
      `EXISTS (SELECT 1 FROM resources p WHERE p.account_id = ${alias}.account_id AND p.region_id = ${alias}.region_id AND p.resource_type = ${alias}.resource_type AND p.resource_id = ${alias}.resource_id AND p.provider = ${this.param(name)})`,
    );
  }

  toString(): string {
    return this.clauses.length ? `WHERE ${this.clauses.join(' AND ')}` : '';
  }
}

/** A page size: the default when absent, kept within 1..max. */
export function pageSize(value: number | undefined, dflt: number, max: number): number {
  return Math.min(Math.max(value ?? dflt, 1), max);
}

/**
 * Resource keys as one JSON parameter of rows {a, r, t, i} (account, region,
 * type, id), for queries over many resources at once
 * (`jsonb_to_recordset($n::jsonb) AS k(a text, r text, t text, i text)`).
 */
export const keysJson = (keys: ResourceKey[]) => JSON.stringify(keys.map((k) => ({ a: k.accountId, r: k.regionId, t: k.resourceType, i: k.resourceId })));
