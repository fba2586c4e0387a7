/**
 * The live demo's drift: every few seconds, break a random sandbox resource
 * the way people do (SSH opened to the world, a bucket made public), so a
 * newcomer watches detection and remediation happen.
 */
import type { Service } from './service.js';
import { Rng } from './util/random.js';

export interface DriftEvent {
  resourceType: string;
  resourceId: string;
  what: string;
}

type Breakage = { type: string; what: string; action: string; params: (id: string) => Record<string, unknown> };

const BREAKAGES: Breakage[] = [
  { type: 'ACS::ECS::SecurityGroup', what: 'opened SSH (22) to the world', action: 'ecs:AuthorizeSecurityGroup', params: (id) => ({ SecurityGroupId: id, IpProtocol: 'TCP', PortRange: '22/22', SourceCidrIp: '0.0.0.0/0', Description: 'quick debug' }) },
  { type: 'ACS::ECS::SecurityGroup', what: 'opened RDP (3389) to the world', action: 'ecs:AuthorizeSecurityGroup', params: (id) => ({ SecurityGroupId: id, IpProtocol: 'TCP', PortRange: '3389/3389', SourceCidrIp: '0.0.0.0/0' }) },
  { type: 'ACS::OSS::Bucket', what: 'made the bucket public-read', action: 'oss:PutBucketAcl', params: (id) => ({ BucketName: id, Acl: 'public-read' }) },
  { type: 'AWS::EC2::SecurityGroup', what: 'opened SSH (22) to the world', action: 'ec2:AuthorizeSecurityGroupIngress', params: (id) => ({ GroupId: id, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }) },
];

/** Breaks one random resource; returns what it did, or null when nothing could be broken. */
export async function driftOnce(svc: Pick<Service, 'inventory' | 'sandbox'>, rng: Rng): Promise<DriftEvent | null> {
  for (let tries = 0; tries < 5; tries++) {
    const b = rng.pick(BREAKAGES);
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
export function startDrift(svc: Pick<Service, 'inventory' | 'sandbox'>, opts: { everyMs: number; seed?: number; onDrift: (e: DriftEvent) => void; onError?: (err: Error) => void }): () => void {
  const rng = new Rng(opts.seed ?? Date.now());
  const timer = setInterval(() => {
    driftOnce(svc, rng)
      .then((e) => e && opts.onDrift(e))
      .catch((err: Error) => opts.onError?.(err));
  }, opts.everyMs);
  return () => clearInterval(timer);
}
