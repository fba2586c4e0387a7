/**
 * Which security group rules open ports to the whole Internet, in both
 * vocabularies. The decision is sg-risky-ports-check's own (asked one rule or
 * one source at a time), so a remediation removes exactly what the rule flags.
 */
import { z } from 'zod';
import type { Configuration } from '../../providers/types.js';
import { DEFAULT_PORTS, acsFindings, awsFindings, parsePorts } from '../../rules/managed/sg-risky-ports-check.js';
import { show } from '../../rules/managed/show.js';

/** A `ports` parameter as the rule takes it: "22,3389", 22 or [22, "3389"] → [22, 3389]. */
export const portsParameter = () =>
  z
    .unknown()
    .transform((v, ctx): number[] => {
      const ports = parsePorts(v);
      if (ports) return ports;
      ctx.issues.push({ code: 'custom', message: `${show(v)} is not a comma-separated list of ports 1-65535`, input: v });
      return z.NEVER;
    })
    .prefault(DEFAULT_PORTS);

const asArray = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.filter((x) => x !== null && typeof x === 'object') : []);

// --- ACS: one permission is one rule ----------------------------------------

export type AcsRule = Record<string, unknown>;

export const acsRules = (c: Configuration): AcsRule[] => asArray((c.Permissions as { Permission?: unknown } | undefined)?.Permission);

export const isIngress = (r: AcsRule) => typeof r.Direction !== 'string' || r.Direction.toLowerCase() === 'ingress';

/** An ingress Accept rule taking TCP/UDP/ALL traffic from 0.0.0.0/0 or ::/0 on one of the ports. */
export const acsWorldOpen = (r: AcsRule, ports: number[]) => acsFindings({ Permissions: { Permission: [r] } }, ports).length > 0;

/** "sgr-a (TCP 22/22 from 0.0.0.0/0)". */
export function describeAcsRule(r: AcsRule): string {
  const sources = [r.SourceCidrIp, r.Ipv6SourceCidrIp, r.SourceGroupId].filter((s) => typeof s === 'string' && s !== '');
  return `${String(r.SecurityGroupRuleId ?? '(no id)')} (${String(r.IpProtocol)} ${String(r.PortRange)} from ${sources.join(' and ') || 'no source'})`;
}

// --- AWS: a permission is a protocol and port range with several sources ----

/** One protocol and port range with only the sources concerned (the shape the EC2 API takes). */
export interface AwsPiece {
  IpProtocol: string;
  FromPort?: number;
  ToPort?: number;
  IpRanges: Record<string, unknown>[];
  Ipv6Ranges: Record<string, unknown>[];
}

const portsOf = (p: { IpProtocol?: unknown; FromPort?: unknown; ToPort?: unknown }) =>
  `${String(p.IpProtocol)}|${String(p.FromPort ?? '')}|${String(p.ToPort ?? '')}`;
const cidrOf = (r: Record<string, unknown>) => String(r.CidrIp ?? r.CidrIpv6);

/** For each ingress permission, its world ranges that reach one of the ports (other sources are left alone). */
export function awsWorldOpenPieces(c: Configuration, ports: number[]): AwsPiece[] {
  const out: AwsPiece[] = [];
  for (const p of asArray(c.IpPermissions)) {
    const opens = (list: 'IpRanges' | 'Ipv6Ranges', r: unknown) =>
      awsFindings({ IpPermissions: [{ ...p, IpRanges: [], Ipv6Ranges: [], [list]: [r] }] }, ports).length > 0;
    const v4 = asArray(p.IpRanges).filter((r) => opens('IpRanges', r));
    const v6 = asArray(p.Ipv6Ranges).filter((r) => opens('Ipv6Ranges', r));
    if (v4.length + v6.length === 0) continue;
    const piece: AwsPiece = { IpProtocol: String(p.IpProtocol), IpRanges: v4, Ipv6Ranges: v6 };
    if (typeof p.FromPort === 'number') piece.FromPort = p.FromPort;
    if (typeof p.ToPort === 'number') piece.ToPort = p.ToPort;
    out.push(piece);
  }
  return out;
}

/** Whether the permissions hold this source for this protocol and port range. */
export function awsHas(perms: unknown, piece: AwsPiece, range: Record<string, unknown>): boolean {
  return asArray(perms).some(
    (p) => portsOf(p) === portsOf(piece) && [...asArray(p.IpRanges), ...asArray(p.Ipv6Ranges)].some((r) => cidrOf(r) === cidrOf(range)),
  );
}

/** The permissions without the pieces' sources; a permission left with no source disappears, as in EC2. */
export function awsWithout(perms: unknown, pieces: AwsPiece[]): Record<string, unknown>[] {
  const drop = (p: Record<string, unknown>, r: Record<string, unknown>) =>
    pieces.some((x) => portsOf(x) === portsOf(p) && [...x.IpRanges, ...x.Ipv6Ranges].some((y) => cidrOf(y) === cidrOf(r)));
  return asArray(perms)
    .map((p) => ({ ...p, IpRanges: asArray(p.IpRanges).filter((r) => !drop(p, r)), Ipv6Ranges: asArray(p.Ipv6Ranges).filter((r) => !drop(p, r)) }))
    .filter((p: Record<string, unknown>) => ['IpRanges', 'Ipv6Ranges', 'PrefixListIds', 'UserIdGroupPairs'].some((k) => asArray(p[k]).length > 0));
}

/** "TCP 3389 from 0.0.0.0/0", "all traffic from ::/0". */
export function describeAwsPiece(p: AwsPiece): string {
  const ports =
    p.IpProtocol === '-1'
      ? 'all traffic'
      : `${p.IpProtocol.toUpperCase()} ${p.FromPort === p.ToPort ? String(p.FromPort) : `${String(p.FromPort)}-${String(p.ToPort)}`}`;
  return `${ports} from ${[...p.IpRanges, ...p.Ipv6Ranges].map(cidrOf).join(' and ')}`;
}
