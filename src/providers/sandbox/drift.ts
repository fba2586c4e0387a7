/**
 * The live demo's drift: every few seconds, break a random sandbox resource
 * the way people do (SSH opened to the world, a bucket made public), so a
 * newcomer watches detection and remediation happen. The breakages are each
 * resource type's own (`drifts` in its file under types/).
 */
import { Rng } from '../../util/random.js';
import { allResourceTypes } from './registry.js';
import type { SandboxCloud } from './cloud.js';

export interface DriftEvent {
  resourceType: string;
  resourceId: string;
  what: string;
}

/** What drift needs: the sandbox to call, and the inventory to pick recorded resources from. */
export interface DriftDeps {
  sandbox: Pick<SandboxCloud, 'call'>;
  inventory: {
    list(f: { resourceType: string; limit: number }): Promise<{ items: { accountId: string; regionId: string; resourceType: string; resourceId: string }[] }>;
  };
}

const breakages = () => allResourceTypes().flatMap((t) => (t.drifts ?? []).map((d) => ({ type: t.type, ...d })));

/** Breaks one random resource; returns what it did, or null when nothing could be broken. */
export async function driftOnce(svc: DriftDeps, rng: Rng): Promise<DriftEvent | null> {
  const all = breakages();
  for (let tries = 0; tries < 5 && all.length; tries++) {
    const b = rng.pick(all);
    const { items } = await svc.inventory.list({ resourceType: b.type, limit: 500 });
    if (!items.length) continue;
    const r = rng.pick(items);
    try {
      const res = await svc.sandbox.call(b.action, { accountId: r.accountId, regionId: r.regionId }, b.params(r.resourceId));
      if (res.changed) return { resourceType: r.resourceType, resourceId: r.resourceId, what: b.what };
    } catch {
      // Already broken that way (EC2 refuses duplicates), service-managed, …: try another.
    }
  }
  return null;
}

/** Drifts every `everyMs` until the returned function is called. */
export function startDrift(
  svc: DriftDeps,
  opts: { everyMs: number; seed?: number; onDrift: (e: DriftEvent) => void; onError?: (err: Error) => void },
): () => void {
  const rng = new Rng(opts.seed ?? Date.now());
  const timer = setInterval(() => {
    driftOnce(svc, rng)
      .then((e) => e && opts.onDrift(e))
      .catch((err: Error) => opts.onError?.(err));
  }, opts.everyMs);
  return () => clearInterval(timer);
}
