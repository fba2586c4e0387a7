// sg-risky-ports-check: no security group opens risky ports (SSH, RDP, …) to the whole Internet.
import { z } from 'zod';
import { registerManagedRule } from '../registry.js';
import type { EvaluationInput, Verdict } from '../types.js';
import { show } from './show.js';

export const DEFAULT_PORTS = '22,3389';
const EXPECTED = 'a comma-separated list of ports 1-65535';

/** "22, 3389" (or 22, or ["22", 3389]) → [22, 3389]; undefined when any item is not a port. */
export function parsePorts(v: unknown): number[] | undefined {
  let text: string | undefined;
  if (typeof v === 'string') text = v;
  else if (typeof v === 'number') text = String(v);
  else if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' || typeof x === 'number')) text = v.join(',');
  if (text === undefined) return undefined;
  const ports: number[] = [];
  for (const item of text.split(',')) {
    const s = item.trim();
    if (!/^\d{1,5}$/.test(s)) return undefined;
    const n = Number(s);
    if (n < 1 || n > 65535) return undefined;
    if (!ports.includes(n)) ports.push(n);
  }
  return ports;
}

const parameters = z.strictObject({
  ports: z
    .unknown()
    .transform((v, ctx): number[] => {
      const ports = parsePorts(v);
      if (ports) return ports;
      ctx.issues.push({ code: 'custom', message: `${show(v)} is not ${EXPECTED}`, input: v });
      return z.NEVER;
    })
    .prefault(DEFAULT_PORTS)
    .meta({
      description: 'The ports that must not be open to the Internet: a comma-separated list of ports 1-65535.',
      default: DEFAULT_PORTS,
      example: '22,3389,3306',
    }),
});

export type RiskyPortsParams = z.output<typeof parameters>;

/** A source covering every address: 0.0.0.0/0, ::/0 (or any address with prefix length 0). */
function isWorld(cidr: unknown): cidr is string {
  return typeof cidr === 'string' && cidr.trim().endsWith('/0');
}

const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const asObject = (v: unknown): Record<string, unknown> => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : {});

/** The configured ports inside [from, to], in the order they were configured. */
function portsIn(ports: number[], from: number, to: number): number[] {
  const hit: number[] = [];
  for (const p of ports) if (p >= from && p <= to) hit.push(p);
  return hit;
}

const portWord = (ports: number[]) => `port${ports.length === 1 ? '' : 's'} ${ports.join(', ')}`;

export interface Finding {
  what: string;
  ports: number[];
}

export function acsFindings(c: Record<string, unknown>, ports: number[]): Finding[] {
  const out: Finding[] = [];
  for (const raw of asArray(asObject(c.Permissions).Permission)) {
    const p = asObject(raw);
    if (typeof p.Direction === 'string' && p.Direction.toLowerCase() !== 'ingress') continue;
    // A missing (or empty) Policy is Accept, the API default.
    const policy = typeof p.Policy === 'string' ? p.Policy.toLowerCase() : '';
    if (policy !== '' && policy !== 'accept') continue;
    const protocol = typeof p.IpProtocol === 'string' ? p.IpProtocol.toUpperCase() : '';
    if (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'ALL') continue;
    const sources: string[] = [];
    if (isWorld(p.SourceCidrIp)) sources.push(p.SourceCidrIp.trim());
    if (isWorld(p.Ipv6SourceCidrIp)) sources.push(p.Ipv6SourceCidrIp.trim());
    if (sources.length === 0) continue;
    const range = typeof p.PortRange === 'string' ? p.PortRange.trim() : '';
    let from = 1;
    let to = 65535;
    if (protocol !== 'ALL') {
      const m = /^(-?\d+)(?:\/(-?\d+))?$/.exec(range);
      if (!m) continue;
      const a = Number(m[1]);
      const b = m[2] === undefined ? a : Number(m[2]);
      // -1/-1 is every port.
      if (a >= 0 || b >= 0) [from, to] = [a < 0 ? 1 : a, b < 0 ? 65535 : b];
    }
    const hit = portsIn(ports, from, to);
    if (hit.length === 0) continue;
    const id = typeof p.SecurityGroupRuleId === 'string' && p.SecurityGroupRuleId ? `${p.SecurityGroupRuleId} ` : '';
    out.push({ what: `ingress rule ${id}(${protocol} ${range || '-1/-1'} from ${sources.join(' and ')})`, ports: hit });
  }
  return out;
}

const AWS_PROTOCOLS: Record<string, 'tcp' | 'udp' | 'all'> = { tcp: 'tcp', '6': 'tcp', udp: 'udp', '17': 'udp', '-1': 'all', all: 'all' };

function portNumber(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isInteger(n) ? n : undefined;
}

export function awsFindings(c: Record<string, unknown>, ports: number[]): Finding[] {
  const out: Finding[] = [];
  for (const raw of asArray(c.IpPermissions)) {
    const p = asObject(raw);
    const protocol =
      AWS_PROTOCOLS[
        String(p.IpProtocol ?? '')
          .trim()
          .toLowerCase()
      ];
    if (!protocol) continue;
    const sources: string[] = [];
    // Items are { CidrIp } as Describe shows them; older recorders list bare strings.
    for (const r of asArray(p.IpRanges)) {
      const cidr = typeof r === 'string' ? r : asObject(r).CidrIp;
      if (isWorld(cidr)) sources.push(cidr.trim());
    }
    for (const r of asArray(p.Ipv6Ranges)) {
      const cidr = typeof r === 'string' ? r : asObject(r).CidrIpv6;
      if (isWorld(cidr)) sources.push(cidr.trim());
    }
    if (sources.length === 0) continue;
    let from = 1;
    let to = 65535;
    let label = 'all traffic';
    if (protocol !== 'all') {
      let a = portNumber(p.FromPort);
      let b = portNumber(p.ToPort);
      // Missing ports, or -1, mean every port; one port given alone is that port.
      a ??= b;
      b ??= a;
      if (a !== undefined && b !== undefined) [from, to] = [Math.max(a, 0), b < 0 ? 65535 : b];
      label = from <= 1 && to >= 65535 ? `${protocol} all ports` : `${protocol} ${from}-${to}`;
    }
    const hit = portsIn(ports, from, to);
    if (hit.length === 0) continue;
    out.push({ what: `ingress permission ${label} from ${sources.join(' and ')}`, ports: hit });
  }
  return out;
}

function evaluate(resource: EvaluationInput, params: RiskyPortsParams): Verdict {
  const c = asObject(resource.configuration);
  let findings: Finding[];
  if (resource.resourceType === 'ACS::ECS::SecurityGroup') findings = acsFindings(c, params.ports);
  else if (resource.resourceType === 'AWS::EC2::SecurityGroup') findings = awsFindings(c, params.ports);
  else return { complianceType: 'NOT_APPLICABLE', annotation: `${resource.resourceType} is not a security group` };
  if (findings.length === 0) return { complianceType: 'COMPLIANT', annotation: `no ingress rule opens ${params.ports.join(', ')} to 0.0.0.0/0 or ::/0` };
  return {
    complianceType: 'NON_COMPLIANT',
    annotation: findings.map((f) => `${f.what} opens ${portWord(f.ports)} to the Internet`).join('; '),
  };
}

registerManagedRule<RiskyPortsParams>({
  identifier: 'sg-risky-ports-check',
  description:
    'Checks that no security group lets the whole Internet reach risky ports. A group is non-compliant when one of its ' +
    'ingress rules accepts traffic from 0.0.0.0/0 or ::/0 for TCP, UDP or all protocols on a port range that covers ' +
    'one of the listed ports (by default 22 for SSH and 3389 for RDP). Egress rules, Drop rules, ICMP and GRE rules, ' +
    'and rules from narrower sources or other security groups are not counted.',
  resourceTypes: ['ACS::ECS::SecurityGroup', 'AWS::EC2::SecurityGroup'],
  parameters,
  defaultRiskLevel: 1,
  evaluate,
});
