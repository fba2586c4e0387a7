/**
 * Remediation exceptions declared in policy files (kind: RemediationException),
 * so that "this group is managed by the container service, leave it alone"
 * lives in git next to the rule:
 *
 *   kind: RemediationException
 *   rule: sg-disallow-risky-ports-for-all-ips
 *   resourceId: sg-ack-managed
 *   reason: managed by the container service
 *   expires: 2027-01-31T00:00:00Z      # optional; an absolute time, so re-applying never extends it
 *
 * accountId, regionId and resourceType narrow an ambiguous id, and are all
 * needed for a resource confix has not recorded yet.
 */
import { z } from 'zod';
import type { ResourceKey } from '../providers/types.js';
import type { Inventory } from '../inventory/index.js';
import type { RemediationException } from '../remediation/exceptions.js';

export const exceptionDocSchema = z.strictObject({
  rule: z.string().min(1),
  resourceId: z.string().min(1),
  accountId: z.string().min(1).optional(),
  regionId: z.string().min(1).optional(),
  resourceType: z.string().min(1).optional(),
  reason: z.string().min(1),
  expires: z
    .union([z.string(), z.date()])
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return null;
      const d = v instanceof Date ? v : new Date(v);
      // A duration would move the expiry each time the file is applied.
      if (Number.isNaN(d.getTime()) || (typeof v === 'string' && !/^\d{4}-\d{2}-\d{2}/.test(v))) {
        ctx.addIssue({
          code: 'custom',
          message: `"${String(v)}" is not a time; write an absolute time such as 2027-01-31T00:00:00Z (a duration would move each time the file is applied)`,
        });
        return z.NEVER;
      }
      return d.toISOString();
    }),
});

export interface ExceptionSpec extends ResourceKey {
  rule: string;
  reason: string;
  expiresAt: string | null;
}

export interface ExceptionPlan {
  create: ExceptionSpec[];
  update: (ExceptionSpec & { before: { reason: string; expiresAt: string | null } })[];
  delete: (ResourceKey & { rule: string })[];
  unchanged: number;
  /** Declared in policy files earlier, not in these documents: kept because prune was not asked for. */
  notDeclared: (ResourceKey & { rule: string })[];
}

export const keyOfException = (e: ResourceKey & { rule: string }) =>
  `${e.rule}\u0000${e.accountId}\u0000${e.regionId}\u0000${e.resourceType}\u0000${e.resourceId}`;

/**
 * Resolves a declared exception's resource: by the inventory, or, for a
 * resource not recorded yet, by the full key given in the document.
 */
export async function resolveExceptionResource(inventory: Inventory, d: z.output<typeof exceptionDocSchema>): Promise<ResourceKey | string> {
  const narrow = { accountId: d.accountId, regionId: d.regionId, resourceType: d.resourceType };
  try {
    const r = await inventory.resolve(d.resourceId, Object.fromEntries(Object.entries(narrow).filter(([, v]) => v !== undefined)));
    return { accountId: r.accountId, regionId: r.regionId, resourceType: r.resourceType, resourceId: r.resourceId };
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ResourceNotFound' && d.accountId && d.regionId && d.resourceType)
      return { accountId: d.accountId, regionId: d.regionId, resourceType: d.resourceType, resourceId: d.resourceId };
    if (code === 'ResourceNotFound') return `${(err as Error).message}; for a resource not recorded yet, give accountId, regionId and resourceType as well`;
    return (err as Error).message;
  }
}

/** Compares the declared exceptions with the stored ones. */
export function planExceptions(declared: ExceptionSpec[], current: RemediationException[], prune: boolean): ExceptionPlan {
  const plan: ExceptionPlan = { create: [], update: [], delete: [], unchanged: 0, notDeclared: [] };
  const byKey = new Map(current.map((e) => [keyOfException({ ...e, rule: e.ruleName }), e]));
  const seen = new Set<string>();
  for (const d of declared) {
    const k = keyOfException(d);
    seen.add(k);
    const cur = byKey.get(k);
    if (!cur) plan.create.push(d);
    else if (cur.reason !== d.reason || cur.expiresAt !== d.expiresAt || cur.origin !== 'policy')
      plan.update.push({ ...d, before: { reason: cur.reason, expiresAt: cur.expiresAt } });
    else plan.unchanged++;
  }
  for (const e of current) {
    const ref = { rule: e.ruleName, accountId: e.accountId, regionId: e.regionId, resourceType: e.resourceType, resourceId: e.resourceId };
    if (e.origin === 'policy' && !seen.has(keyOfException(ref))) (prune ? plan.delete : plan.notDeclared).push(ref);
  }
  return plan;
}
