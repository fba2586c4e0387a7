import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateEstate, validateEstate, allResourceTypes } from '../../src/providers/sandbox/index.js';
import { APPROVED_IMAGES } from '../../src/providers/sandbox/generator.js';

test('the generator is deterministic for a seed and different across seeds', () => {
  const a = generateEstate({ accounts: 3, resources: 500, seed: 11 });
  const b = generateEstate({ accounts: 3, resources: 500, seed: 11 });
  const c = generateEstate({ accounts: 3, resources: 500, seed: 12 });
  assert.equal(JSON.stringify(a), JSON.stringify(b));
  assert.notEqual(JSON.stringify(a), JSON.stringify(c));
});

test('a generated estate is valid, covers every type, and has about the stated share misconfigured', () => {
  const estate = generateEstate({ accounts: 4, resources: 3000, seed: 5, misconfiguredShare: 0.25 });
  const { accounts, resources } = validateEstate(estate);
  assert.equal(accounts.length, 4);
  assert.equal(resources.length, 3000);
  for (const a of accounts) assert.match(a.id, /^\d{12}$/);
  const types = new Set(resources.map((r) => r.resourceType));
  assert.deepEqual(
    [...types].sort(),
    allResourceTypes()
      .map((t) => t.type)
      .sort(),
  );
  // Count what the seed rules would flag, per type, with plain checks.
  const world = (s?: string) => s === '0.0.0.0/0' || s === '::/0';
  const isBad = (type: string, c: any): boolean => {
    switch (type) {
      case 'ACS::ECS::SecurityGroup':
        return c.Permissions.Permission.some(
          (p: any) =>
            p.Direction === 'ingress' &&
            p.Policy === 'Accept' &&
            (world(p.SourceCidrIp) || world(p.Ipv6SourceCidrIp)) &&
            p.IpProtocol !== 'ICMP' &&
            covers(p.PortRange),
        );
      case 'AWS::EC2::SecurityGroup':
        return c.IpPermissions.some(
          (p: any) =>
            p.IpProtocol !== 'icmp' &&
            (p.IpRanges.some((r: any) => world(r.CidrIp)) || p.Ipv6Ranges.some((r: any) => world(r.CidrIpv6))) &&
            (p.IpProtocol === '-1' || [22, 3389].some((x) => p.FromPort <= x && x <= p.ToPort)),
        );
      case 'ACS::ECS::Instance':
        return (c.Status === 'Running' && c.MonitoringAgentStatus !== 'running') || !APPROVED_IMAGES.acs.includes(c.ImageId);
      case 'AWS::EC2::Instance':
        return !APPROVED_IMAGES.aws.includes(c.ImageId) || c.Monitoring.State !== 'enabled';
      case 'ACS::OSS::Bucket':
        return c.AccessControlList.Grant !== 'private';
      case 'AWS::S3::Bucket':
        return c.Acl.Grants.some((g: any) => /AllUsers|AuthenticatedUsers/.test(g.Grantee.URI ?? ''));
      default:
        throw new Error(type);
    }
  };
  function covers(range: string) {
    const [f, t] = range.split('/').map(Number) as [number, number];
    return (f === -1 && t === -1) || [22, 3389].some((x) => f <= x && x <= t);
  }
  const bad = resources.filter((r) => isBad(r.resourceType, r.configuration)).length;
  const share = bad / resources.length;
  // Some "good" web groups legitimately differ; the share must be near 25%.
  assert.ok(share > 0.18 && share < 0.35, `misconfigured share ${share.toFixed(3)}`);
  const none = generateEstate({ accounts: 2, resources: 1000, seed: 5, misconfiguredShare: 0 });
  const noneBad = validateEstate(none).resources.filter((r) => isBad(r.resourceType, r.configuration)).length;
  assert.ok(noneBad / 1000 < 0.03, `with share 0, almost nothing is misconfigured (${noneBad})`);
});

test('generator arguments are checked', () => {
  assert.throws(() => generateEstate({ accounts: 0, resources: 1, seed: 1 }), /--accounts/);
  assert.throws(() => generateEstate({ accounts: 1, resources: -1, seed: 1 }), /--resources/);
  assert.throws(() => generateEstate({ accounts: 1, resources: 1, seed: 1, misconfiguredShare: 2 }), /--misconfigured/);
});
