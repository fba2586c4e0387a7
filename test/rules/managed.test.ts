import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ZodError } from 'zod';
import '../../src/rules/managed/index.js';
import '../../src/providers/sandbox/types/index.js';
import { allManagedRules, managedRule } from '../../src/rules/registry.js';
import type { EvaluationInput, ManagedRule, Verdict } from '../../src/rules/types.js';
import { resourceType } from '../../src/providers/sandbox/registry.js';
import { parseEstateText, validateEstate } from '../../src/providers/sandbox/estate.js';
import { APPROVED_IMAGES, generateEstate } from '../../src/providers/sandbox/generator.js';
import type { Configuration } from '../../src/providers/types.js';

const ACCOUNT = '100931896542';
const WORLD = '0.0.0.0/0';
const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';
const AUTH_USERS = 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers';
const APPROVED = 'ami-0c55b159cbfafe1f0,ubuntu_22_04_x64_20G_alibase_20240710.vhd';

function rule(identifier: string): ManagedRule {
  const r = managedRule(identifier);
  assert.ok(r, `managed rule ${identifier} is registered`);
  return r;
}

function input(resourceType: string, resourceId: string, configuration: Configuration, regionId = 'cn-hangzhou'): EvaluationInput {
  return { accountId: ACCOUNT, regionId, resourceType, resourceId, resourceName: null, tags: {}, configuration };
}

/** Runs a configuration through the sandbox type's normalize, as the recorder stores it. */
function normalized(type: string, id: string, configuration: Configuration, regionId = 'cn-hangzhou'): EvaluationInput {
  const def = resourceType(type);
  assert.ok(def, `sandbox type ${type}`);
  return input(type, id, def.normalize({ id, accountId: ACCOUNT, regionId, tags: {}, configuration }), regionId);
}

function run(identifier: string, resource: EvaluationInput, rawParams: Record<string, unknown> = {}): Verdict {
  const r = rule(identifier);
  return r.evaluate(resource, r.parameters.parse(rawParams));
}

/** The issues of a refused parameters object (fails the test if it is accepted). */
function refused(identifier: string, rawParams: unknown): ZodError {
  const res = rule(identifier).parameters.safeParse(rawParams);
  assert.equal(res.success, false, `parameters ${JSON.stringify(rawParams)} should be refused`);
  assert.ok(res.error instanceof ZodError);
  return res.error;
}

// --- sg-risky-ports-check ----------------------------------------------------

const SG = 'sg-risky-ports-check';
type Perm = Record<string, unknown>;

const acsSg = (...perms: Perm[]) => input('ACS::ECS::SecurityGroup', 'sg-acs', { SecurityGroupId: 'sg-acs', Permissions: { Permission: perms } });
const acsIn = (p: Perm): Perm => ({
  SecurityGroupRuleId: 'sgr-x',
  Direction: 'ingress',
  IpProtocol: 'TCP',
  PortRange: '22/22',
  SourceCidrIp: WORLD,
  Policy: 'Accept',
  ...p,
});
const awsSg = (ingress: Perm[], egress: Perm[] = []) =>
  input('AWS::EC2::SecurityGroup', 'sg-0aws', { GroupId: 'sg-0aws', IpPermissions: ingress, IpPermissionsEgress: egress }, 'us-east-1');
const awsIn = (p: Perm): Perm => ({ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: WORLD }], ...p });

const sgVerdict = (r: EvaluationInput, params: Record<string, unknown> = {}) => run(SG, r, params).complianceType;

test('sg-risky-ports-check: ACS ingress rule opening 22 to the world is named in the annotation', () => {
  const v = run(SG, acsSg(acsIn({})));
  assert.equal(v.complianceType, 'NON_COMPLIANT');
  assert.equal(v.annotation, 'ingress rule sgr-x (TCP 22/22 from 0.0.0.0/0) opens port 22 to the Internet');
  const ok = run(SG, acsSg(acsIn({ PortRange: '443/443' })));
  assert.equal(ok.complianceType, 'COMPLIANT');
  assert.equal(ok.annotation, 'no ingress rule opens 22, 3389 to 0.0.0.0/0 or ::/0');
});

test('sg-risky-ports-check: ACS port ranges cover a port only when it lies inside them', () => {
  assert.equal(sgVerdict(acsSg(acsIn({ PortRange: '20/25' }))), 'NON_COMPLIANT');
  assert.equal(sgVerdict(acsSg(acsIn({ PortRange: '3389/3389' }))), 'NON_COMPLIANT');
  assert.equal(sgVerdict(acsSg(acsIn({ PortRange: '1/22' }))), 'NON_COMPLIANT');
  assert.equal(sgVerdict(acsSg(acsIn({ PortRange: '3389/65535' }))), 'NON_COMPLIANT');
  assert.equal(sgVerdict(acsSg(acsIn({ PortRange: '1/21' }), acsIn({ PortRange: '23/3388' }), acsIn({ PortRange: '3390/65535' }))), 'COMPLIANT');
  const v = run(SG, acsSg(acsIn({ PortRange: '1/65535' })));
  assert.equal(v.complianceType, 'NON_COMPLIANT');
  assert.match(v.annotation, /opens ports 22, 3389 to the Internet/);
});

test('sg-risky-ports-check: ACS -1/-1 and protocol ALL cover every port', () => {
  const v = run(SG, acsSg(acsIn({ SecurityGroupRuleId: 'sgr-any', PortRange: '-1/-1' })));
  assert.equal(v.complianceType, 'NON_COMPLIANT');
  assert.equal(v.annotation, 'ingress rule sgr-any (TCP -1/-1 from 0.0.0.0/0) opens ports 22, 3389 to the Internet');
  assert.equal(sgVerdict(acsSg(acsIn({ IpProtocol: 'ALL', PortRange: '-1/-1' }))), 'NON_COMPLIANT');
  assert.equal(sgVerdict(acsSg(acsIn({ IpProtocol: 'all', PortRange: '-1/-1' }))), 'NON_COMPLIANT');
  // Protocol ALL covers every port whatever the range says.
  assert.equal(sgVerdict(acsSg(acsIn({ IpProtocol: 'ALL', PortRange: '80/80' }))), 'NON_COMPLIANT');
  assert.equal(sgVerdict(acsSg(acsIn({ IpProtocol: 'tcp', PortRange: '80/80' }))), 'COMPLIANT');
  assert.equal(sgVerdict(acsSg(acsIn({ PortRange: '-1/-1' })), { ports: '1,65535' }), 'NON_COMPLIANT');
  assert.equal(sgVerdict(acsSg(acsIn({ IpProtocol: 'ALL', PortRange: '-1/-1' })), { ports: '65535' }), 'NON_COMPLIANT');
});

test('sg-risky-ports-check: ACS UDP counts; ICMP, ICMPv6 and GRE do not', () => {
  const v = run(SG, acsSg(acsIn({ IpProtocol: 'UDP', PortRange: '3389/3389', SecurityGroupRuleId: 'sgr-udp' })));
  assert.equal(v.complianceType, 'NON_COMPLIANT');
  assert.equal(v.annotation, 'ingress rule sgr-udp (UDP 3389/3389 from 0.0.0.0/0) opens port 3389 to the Internet');
  assert.equal(sgVerdict(acsSg(acsIn({ IpProtocol: 'udp', PortRange: '22/22' }))), 'NON_COMPLIANT');
  for (const IpProtocol of ['ICMP', 'ICMPV6', 'icmp', 'icmpv6', 'GRE'])
    assert.equal(
      sgVerdict(acsSg(acsIn({ IpProtocol, PortRange: '-1/-1' }), acsIn({ IpProtocol, PortRange: '22/22', Ipv6SourceCidrIp: '::/0' }))),
      'COMPLIANT',
      IpProtocol,
    );
});

test('sg-risky-ports-check: ACS egress and Drop rules are ignored; a missing Policy is Accept', () => {
  assert.equal(sgVerdict(acsSg(acsIn({ Direction: 'egress', SourceCidrIp: '', DestCidrIp: WORLD }))), 'COMPLIANT');
  // Direction decides, even when an egress rule carries a world source.
  assert.equal(sgVerdict(acsSg(acsIn({ Direction: 'egress', IpProtocol: 'ALL', PortRange: '-1/-1' }))), 'COMPLIANT');
  assert.equal(sgVerdict(acsSg(acsIn({ Policy: 'Drop' }))), 'COMPLIANT');
  assert.equal(sgVerdict(acsSg(acsIn({ Policy: 'drop' }))), 'COMPLIANT');
  assert.equal(sgVerdict(acsSg(acsIn({ Policy: 'accept' }))), 'NON_COMPLIANT');
  const { Policy: _p, ...noPolicy } = acsIn({});
  assert.equal(sgVerdict(acsSg(noPolicy)), 'NON_COMPLIANT');
  // A Drop rule does not cancel an Accept rule in this check.
  assert.equal(sgVerdict(acsSg(acsIn({ Policy: 'Drop' }), acsIn({ SecurityGroupRuleId: 'sgr-y' }))), 'NON_COMPLIANT');
});

test('sg-risky-ports-check: ACS narrower sources are ignored; IPv6 ::/0 counts', () => {
  for (const SourceCidrIp of ['10.0.0.0/8', '0.0.0.0/1', '128.0.0.0/1', '203.0.113.7/32', '0.0.0.0/10', ''])
    assert.equal(sgVerdict(acsSg(acsIn({ SourceCidrIp }))), 'COMPLIANT', SourceCidrIp);
  for (const Ipv6SourceCidrIp of ['::/1', '2001:db8::/32'])
    assert.equal(sgVerdict(acsSg(acsIn({ SourceCidrIp: '', Ipv6SourceCidrIp }))), 'COMPLIANT', Ipv6SourceCidrIp);
  assert.equal(sgVerdict(acsSg(acsIn({ SourceCidrIp: '', SourceGroupId: 'sg-other' }))), 'COMPLIANT');
  const v = run(SG, acsSg(acsIn({ SecurityGroupRuleId: 'sgr-v6', SourceCidrIp: '', Ipv6SourceCidrIp: '::/0', PortRange: '20/25' })));
  assert.equal(v.complianceType, 'NON_COMPLIANT');
  assert.equal(v.annotation, 'ingress rule sgr-v6 (TCP 20/25 from ::/0) opens port 22 to the Internet');
});

test('sg-risky-ports-check: every offending ACS rule is named', () => {
  const v = run(
    SG,
    acsSg(
      acsIn({ SecurityGroupRuleId: 'sgr-ssh' }),
      acsIn({ SecurityGroupRuleId: 'sgr-web', PortRange: '443/443' }),
      acsIn({ SecurityGroupRuleId: 'sgr-rdp', PortRange: '3389/3389' }),
    ),
  );
  assert.equal(v.complianceType, 'NON_COMPLIANT');
  assert.equal(
    v.annotation,
    'ingress rule sgr-ssh (TCP 22/22 from 0.0.0.0/0) opens port 22 to the Internet; ingress rule sgr-rdp (TCP 3389/3389 from 0.0.0.0/0) opens port 3389 to the Internet',
  );
  assert.doesNotMatch(v.annotation, /sgr-web/);
});

test('sg-risky-ports-check: AWS permission opening 3389 to the world is named in the annotation', () => {
  const v = run(SG, awsSg([awsIn({ FromPort: 3389, ToPort: 3389 })]));
  assert.equal(v.complianceType, 'NON_COMPLIANT');
  assert.equal(v.annotation, 'ingress permission tcp 3389-3389 from 0.0.0.0/0 opens port 3389 to the Internet');
  const ok = run(SG, awsSg([awsIn({ FromPort: 443, ToPort: 443 })]));
  assert.equal(ok.complianceType, 'COMPLIANT');
  assert.equal(ok.annotation, 'no ingress rule opens 22, 3389 to 0.0.0.0/0 or ::/0');
});

test('sg-risky-ports-check: AWS port ranges cover a port only when it lies inside them', () => {
  assert.equal(sgVerdict(awsSg([awsIn({ FromPort: 20, ToPort: 25 })])), 'NON_COMPLIANT');
  assert.equal(sgVerdict(awsSg([awsIn({ FromPort: 0, ToPort: 65535 })])), 'NON_COMPLIANT');
  assert.equal(sgVerdict(awsSg([awsIn({ FromPort: '22', ToPort: '22' })])), 'NON_COMPLIANT');
  // One port given alone is that port, not every port.
  assert.equal(
    run(SG, awsSg([awsIn({ FromPort: undefined, ToPort: 22 })])).annotation,
    'ingress permission tcp 22-22 from 0.0.0.0/0 opens port 22 to the Internet',
  );
  assert.equal(
    run(SG, awsSg([awsIn({ FromPort: 3389, ToPort: undefined })])).annotation,
    'ingress permission tcp 3389-3389 from 0.0.0.0/0 opens port 3389 to the Internet',
  );
  assert.equal(
    sgVerdict(awsSg([awsIn({ FromPort: 0, ToPort: 21 }), awsIn({ FromPort: 23, ToPort: 3388 }), awsIn({ FromPort: 3390, ToPort: 65535 })])),
    'COMPLIANT',
  );
});

test('sg-risky-ports-check: AWS protocol -1 (or all) and missing ports cover every port', () => {
  const v = run(SG, awsSg([{ IpProtocol: '-1', IpRanges: [{ CidrIp: WORLD }] }]));
  assert.equal(v.complianceType, 'NON_COMPLIANT');
  assert.equal(v.annotation, 'ingress permission all traffic from 0.0.0.0/0 opens ports 22, 3389 to the Internet');
  assert.equal(sgVerdict(awsSg([{ IpProtocol: -1, FromPort: -1, ToPort: -1, IpRanges: [{ CidrIp: WORLD }] }])), 'NON_COMPLIANT');
  assert.equal(sgVerdict(awsSg([{ IpProtocol: 'all', IpRanges: [{ CidrIp: WORLD }] }])), 'NON_COMPLIANT');
  // Ports on a -1 permission do not narrow it.
  assert.equal(sgVerdict(awsSg([{ IpProtocol: '-1', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: WORLD }] }])), 'NON_COMPLIANT');
  const tcpAll = run(SG, awsSg([{ IpProtocol: 'tcp', FromPort: -1, ToPort: -1, IpRanges: [{ CidrIp: WORLD }] }]));
  assert.equal(tcpAll.complianceType, 'NON_COMPLIANT');
  assert.equal(tcpAll.annotation, 'ingress permission tcp all ports from 0.0.0.0/0 opens ports 22, 3389 to the Internet');
  assert.equal(sgVerdict(awsSg([{ IpProtocol: 'tcp', IpRanges: [{ CidrIp: WORLD }] }])), 'NON_COMPLIANT');
  // Every port means every port, up to 65535.
  assert.equal(sgVerdict(awsSg([{ IpProtocol: 'tcp', FromPort: -1, ToPort: -1, IpRanges: [{ CidrIp: WORLD }] }]), { ports: '65535' }), 'NON_COMPLIANT');
  assert.equal(sgVerdict(awsSg([{ IpProtocol: '-1', IpRanges: [{ CidrIp: WORLD }] }]), { ports: '1,65535' }), 'NON_COMPLIANT');
});

test('sg-risky-ports-check: AWS UDP and protocol numbers count; ICMP does not', () => {
  assert.equal(sgVerdict(awsSg([awsIn({ IpProtocol: 'udp', FromPort: 3389, ToPort: 3389 })])), 'NON_COMPLIANT');
  assert.equal(sgVerdict(awsSg([awsIn({ IpProtocol: '17', FromPort: 3389, ToPort: 3389 })])), 'NON_COMPLIANT');
  assert.equal(sgVerdict(awsSg([awsIn({ IpProtocol: '6' })])), 'NON_COMPLIANT');
  assert.equal(sgVerdict(awsSg([awsIn({ IpProtocol: 'TCP' })])), 'NON_COMPLIANT');
  for (const IpProtocol of ['icmp', 'icmpv6', '1', '58'])
    assert.equal(sgVerdict(awsSg([awsIn({ IpProtocol, FromPort: -1, ToPort: -1, Ipv6Ranges: [{ CidrIpv6: '::/0' }] })])), 'COMPLIANT', IpProtocol);
});

test('sg-risky-ports-check: AWS egress permissions are ignored', () => {
  assert.equal(sgVerdict(awsSg([], [{ IpProtocol: '-1', IpRanges: [{ CidrIp: WORLD }], Ipv6Ranges: [{ CidrIpv6: '::/0' }] }, awsIn({})])), 'COMPLIANT');
});

test('sg-risky-ports-check: AWS narrower sources and group references are ignored; IPv6 ::/0 counts', () => {
  for (const CidrIp of ['10.0.0.0/8', '0.0.0.0/1', '198.51.100.0/24']) assert.equal(sgVerdict(awsSg([awsIn({ IpRanges: [{ CidrIp }] })])), 'COMPLIANT', CidrIp);
  assert.equal(sgVerdict(awsSg([awsIn({ IpRanges: [], Ipv6Ranges: [{ CidrIpv6: '2001:db8::/32' }] })])), 'COMPLIANT');
  assert.equal(sgVerdict(awsSg([awsIn({ IpRanges: [], UserIdGroupPairs: [{ GroupId: 'sg-1' }], PrefixListIds: [{ PrefixListId: 'pl-1' }] })])), 'COMPLIANT');
  const v = run(SG, awsSg([awsIn({ IpRanges: [{ CidrIp: '10.0.0.0/8' }], Ipv6Ranges: [{ CidrIpv6: '::/0' }] })]));
  assert.equal(v.complianceType, 'NON_COMPLIANT');
  assert.equal(v.annotation, 'ingress permission tcp 22-22 from ::/0 opens port 22 to the Internet');
  const both = run(SG, awsSg([awsIn({ Ipv6Ranges: [{ CidrIpv6: '::/0' }] })]));
  assert.equal(both.annotation, 'ingress permission tcp 22-22 from 0.0.0.0/0 and ::/0 opens port 22 to the Internet');
});

test('sg-risky-ports-check: the ports parameter picks the ports (custom "3306")', () => {
  const mysql = run(SG, acsSg(acsIn({ PortRange: '3306/3306' })), { ports: '3306' });
  assert.equal(mysql.complianceType, 'NON_COMPLIANT');
  assert.match(mysql.annotation, /opens port 3306 to the Internet/);
  assert.equal(sgVerdict(awsSg([awsIn({ FromPort: 3306, ToPort: 3306 })]), { ports: '3306' }), 'NON_COMPLIANT');
  // With only 3306 checked, SSH to the world is not this rule's business.
  const ssh = run(SG, acsSg(acsIn({})), { ports: '3306' });
  assert.equal(ssh.complianceType, 'COMPLIANT');
  assert.equal(ssh.annotation, 'no ingress rule opens 3306 to 0.0.0.0/0 or ::/0');
  assert.equal(sgVerdict(awsSg([awsIn({})]), { ports: '3306' }), 'COMPLIANT');
  // And the default ports do not include 3306.
  assert.equal(sgVerdict(acsSg(acsIn({ PortRange: '3306/3306' }))), 'COMPLIANT');
});

test('sg-risky-ports-check: ports parameter is parsed once into numbers', () => {
  const p = rule(SG).parameters;
  assert.deepEqual(p.parse({}), { ports: [22, 3389] });
  assert.deepEqual(p.parse({ ports: ' 22 , 3389 ,3306' }), { ports: [22, 3389, 3306] });
  assert.deepEqual(p.parse({ ports: 22 }), { ports: [22] });
  assert.deepEqual(p.parse({ ports: ['22', 3389] }), { ports: [22, 3389] });
  assert.deepEqual(p.parse({ ports: '22,22' }), { ports: [22] });
  assert.deepEqual(p.parse({ ports: '1,65535' }), { ports: [1, 65535] });
  // The documented default is what the schema uses.
  assert.deepEqual(p.parse({ ports: rule(SG).parameterDocs.ports!.default }), p.parse({}));
});

test('sg-risky-ports-check: a bad ports parameter is refused, naming ports and what was expected', () => {
  const err = refused(SG, { ports: '22,abc' });
  assert.equal(err.issues.length, 1);
  assert.deepEqual(err.issues[0]!.path, ['ports']);
  assert.equal(`${err.issues[0]!.path.join('.')}: ${err.issues[0]!.message}`, 'ports: "22,abc" is not a comma-separated list of ports 1-65535');
  assert.match(err.message, /ports/);
  for (const ports of ['0', '65536', '', ' ', '22,,3389', '-1', '22.5', '22/tcp', 'ssh', true, [], ['22', null], 70000])
    assert.deepEqual(refused(SG, { ports }).issues[0]!.path, ['ports'], JSON.stringify(ports));
  const unknown = refused(SG, { port: '22' });
  assert.match(unknown.issues[0]!.message, /port/);
});

test('sg-risky-ports-check: malformed configurations do not throw', () => {
  const weird: Configuration[] = [
    {},
    { Permissions: null },
    { Permissions: { Permission: 'nope' } },
    { Permissions: { Permission: [null, 7, 'x', { IpProtocol: 'TCP' }, { IpProtocol: 'TCP', SourceCidrIp: WORLD, PortRange: 'abc' }] } },
  ];
  for (const c of weird) assert.equal(run(SG, input('ACS::ECS::SecurityGroup', 'sg-w', c)).complianceType, 'COMPLIANT', JSON.stringify(c));
  const awsWeird: Configuration[] = [
    {},
    { IpPermissions: {} },
    { IpPermissions: [null, { IpProtocol: 'tcp', IpRanges: 'x' }, { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [null, 5] }] },
  ];
  for (const c of awsWeird) assert.equal(run(SG, input('AWS::EC2::SecurityGroup', 'sg-w', c)).complianceType, 'COMPLIANT', JSON.stringify(c));
});

test('sg-risky-ports-check: works on configurations normalized by the sandbox types', () => {
  // Lowercase protocol and no Policy or Direction: the ACS type fills them in (TCP, ingress, Accept) and assigns rule ids.
  const acs = normalized('ACS::ECS::SecurityGroup', 'sg-norm', {
    Permissions: {
      Permission: [
        { IpProtocol: 'tcp', PortRange: '22/22', SourceCidrIp: WORLD },
        { IpProtocol: 'icmp', PortRange: '-1/-1', SourceCidrIp: WORLD },
      ],
    },
  });
  const v = run(SG, acs);
  assert.equal(v.complianceType, 'NON_COMPLIANT');
  assert.equal(v.annotation, 'ingress rule sgr-norm-1 (TCP 22/22 from 0.0.0.0/0) opens port 22 to the Internet');
  // The AWS type turns "6" into tcp and drops the ports of -1 permissions.
  const aws = normalized(
    'AWS::EC2::SecurityGroup',
    'sg-0norm',
    { IpPermissions: [{ IpProtocol: '6', FromPort: 3389, ToPort: 3389, IpRanges: [{ CidrIp: WORLD }] }] },
    'us-east-1',
  );
  assert.equal(run(SG, aws).annotation, 'ingress permission tcp 3389-3389 from 0.0.0.0/0 opens port 3389 to the Internet');
  const awsAll = normalized(
    'AWS::EC2::SecurityGroup',
    'sg-0all',
    { IpPermissions: [{ IpProtocol: 'all', FromPort: -1, ToPort: -1, Ipv6Ranges: [{ CidrIpv6: '::/0' }] }] },
    'us-east-1',
  );
  assert.equal((awsAll.configuration.IpPermissions as Perm[])[0]!.FromPort, undefined);
  assert.equal(run(SG, awsAll).complianceType, 'NON_COMPLIANT');
  const egressOnly = normalized(
    'AWS::EC2::SecurityGroup',
    'sg-0egress',
    { IpPermissionsEgress: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: WORLD }] }] },
    'us-east-1',
  );
  assert.equal(run(SG, egressOnly).complianceType, 'COMPLIANT');
});

// --- oss-bucket-public-read-prohibited ------------------------------------

const BUCKET = 'oss-bucket-public-read-prohibited';
const oss = (c: Configuration) => input('ACS::OSS::Bucket', 'confix-b', { Name: 'confix-b', ...c });
const s3 = (c: Configuration) => input('AWS::S3::Bucket', 'confix-b', { Name: 'confix-b', ...c }, 'us-east-1');
const group = (URI: string, Permission: string) => ({ Grantee: { Type: 'Group', URI }, Permission });
const owner = { Grantee: { Type: 'CanonicalUser', ID: 'abc123' }, Permission: 'FULL_CONTROL' };

test('oss-bucket-public-read-prohibited: the alias resolves to the same rule', () => {
  assert.equal(managedRule('s3-bucket-public-read-prohibited'), managedRule(BUCKET));
  assert.ok(managedRule(BUCKET));
  assert.equal(rule(BUCKET).identifier, BUCKET);
  assert.deepEqual(rule(BUCKET).resourceTypes, ['ACS::OSS::Bucket', 'AWS::S3::Bucket']);
  // The alias is not a second rule in the library.
  assert.equal(allManagedRules().filter((r) => r.identifier === 's3-bucket-public-read-prohibited').length, 0);
});

test('oss-bucket-public-read-prohibited: OSS ACLs', () => {
  const ro = run(BUCKET, oss({ AccessControlList: { Grant: 'public-read' } }));
  assert.equal(ro.complianceType, 'NON_COMPLIANT');
  assert.match(ro.annotation, /public-read\b/);
  const rw = run(BUCKET, oss({ AccessControlList: { Grant: 'public-read-write' } }));
  assert.equal(rw.complianceType, 'NON_COMPLIANT');
  assert.match(rw.annotation, /public-read-write/);
  const priv = run(BUCKET, oss({ AccessControlList: { Grant: 'private' } }));
  assert.equal(priv.complianceType, 'COMPLIANT');
  assert.match(priv.annotation, /private/);
  assert.equal(run(BUCKET, oss({})).complianceType, 'COMPLIANT');
  assert.equal(run(BUCKET, oss({ AccessControlList: null })).complianceType, 'COMPLIANT');
  // Block Public Access makes OSS ignore a public ACL.
  const blocked = run(BUCKET, oss({ AccessControlList: { Grant: 'public-read' }, BlockPublicAccess: true }));
  assert.equal(blocked.complianceType, 'COMPLIANT');
  assert.match(blocked.annotation, /Block Public Access/);
});

test('oss-bucket-public-read-prohibited: S3 public grants', () => {
  const read = run(BUCKET, s3({ Acl: { Grants: [owner, group(ALL_USERS, 'READ')] } }));
  assert.equal(read.complianceType, 'NON_COMPLIANT');
  assert.equal(read.annotation, 'bucket ACL grants READ to AllUsers and IgnorePublicAcls is off');
  const write = run(BUCKET, s3({ Acl: { Grants: [group(AUTH_USERS, 'WRITE')] } }));
  assert.equal(write.complianceType, 'NON_COMPLIANT');
  assert.match(write.annotation, /WRITE to AuthenticatedUsers/);
  const full = run(BUCKET, s3({ Acl: { Grants: [group(ALL_USERS, 'FULL_CONTROL'), group(AUTH_USERS, 'READ')] } }));
  assert.equal(full.annotation, 'bucket ACL grants FULL_CONTROL to AllUsers, READ to AuthenticatedUsers and IgnorePublicAcls is off');
  // ACL-only permissions and grants to people are not public reads.
  const acp = run(BUCKET, s3({ Acl: { Grants: [owner, group(ALL_USERS, 'READ_ACP'), group(AUTH_USERS, 'WRITE_ACP')] } }));
  assert.equal(acp.complianceType, 'COMPLIANT');
  assert.equal(acp.annotation, 'bucket ACL grants nothing to AllUsers or AuthenticatedUsers');
  assert.equal(
    run(BUCKET, s3({ Acl: { Grants: [owner, { Grantee: { Type: 'CanonicalUser', ID: 'other' }, Permission: 'READ' }] } })).complianceType,
    'COMPLIANT',
  );
  assert.equal(run(BUCKET, s3({ Acl: { Grants: [group('http://acs.amazonaws.com/groups/s3/LogDelivery', 'WRITE')] } })).complianceType, 'COMPLIANT');
  assert.equal(run(BUCKET, s3({})).complianceType, 'COMPLIANT');
  assert.equal(run(BUCKET, s3({ Acl: { Grants: 'x' } })).complianceType, 'COMPLIANT');
});

test('oss-bucket-public-read-prohibited: the S3 public access block ignoring public ACLs makes it compliant', () => {
  const grants = [owner, group(ALL_USERS, 'READ')];
  const ignored = run(
    BUCKET,
    s3({
      Acl: { Grants: grants },
      PublicAccessBlockConfiguration: { BlockPublicAcls: false, IgnorePublicAcls: true, BlockPublicPolicy: false, RestrictPublicBuckets: false },
    }),
  );
  assert.equal(ignored.complianceType, 'COMPLIANT');
  assert.equal(ignored.annotation, 'bucket ACL grants READ to AllUsers, but the public access block ignores public ACLs (IgnorePublicAcls)');
  // BlockPublicAcls only stops new public ACLs; an existing one still applies.
  const blockOnly = run(
    BUCKET,
    s3({
      Acl: { Grants: grants },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: false, BlockPublicPolicy: true, RestrictPublicBuckets: true },
    }),
  );
  assert.equal(blockOnly.complianceType, 'NON_COMPLIANT');
});

test('oss-bucket-public-read-prohibited: takes no parameters', () => {
  assert.deepEqual(rule(BUCKET).parameters.parse({}), {});
  assert.match(refused(BUCKET, { public: 'true' }).issues[0]!.message, /public/);
  assert.deepEqual(rule(BUCKET).parameterDocs, {});
});

test('oss-bucket-public-read-prohibited: works on configurations normalized by the sandbox types', () => {
  assert.equal(run(BUCKET, normalized('ACS::OSS::Bucket', 'confix-n', {})).complianceType, 'COMPLIANT');
  assert.equal(run(BUCKET, normalized('ACS::OSS::Bucket', 'confix-n', { AccessControlList: { Grant: 'public-read' } })).complianceType, 'NON_COMPLIANT');
  // S3 fills in the owner's FULL_CONTROL grant: private.
  const priv = normalized('AWS::S3::Bucket', 'confix-n', {}, 'us-east-1');
  assert.equal((priv.configuration.Acl as { Grants: unknown[] }).Grants.length, 1);
  assert.equal(run(BUCKET, priv).complianceType, 'COMPLIANT');
  const pub = normalized('AWS::S3::Bucket', 'confix-n', { Acl: { Grants: [group(ALL_USERS, 'READ')] } }, 'us-east-1');
  assert.equal(run(BUCKET, pub).complianceType, 'NON_COMPLIANT');
  const pubIgnored = normalized(
    'AWS::S3::Bucket',
    'confix-n',
    { Acl: { Grants: [group(ALL_USERS, 'READ')] }, PublicAccessBlockConfiguration: { IgnorePublicAcls: true } },
    'us-east-1',
  );
  assert.equal(run(BUCKET, pubIgnored).complianceType, 'COMPLIANT');
});

// --- ecs-instance-monitor-enabled -----------------------------------------

const MONITOR = 'ecs-instance-monitor-enabled';
const ecs = (c: Configuration) =>
  input('ACS::ECS::Instance', 'i-bp1test', { InstanceId: 'i-bp1test', ImageId: 'ubuntu_22_04_x64_20G_alibase_20240710.vhd', ...c });

test('ecs-instance-monitor-enabled: running instances need a running agent', () => {
  const ok = run(MONITOR, ecs({ Status: 'Running', MonitoringAgentStatus: 'running' }));
  assert.equal(ok.complianceType, 'COMPLIANT');
  const missing = run(MONITOR, ecs({ Status: 'Running', MonitoringAgentStatus: 'not_installed' }));
  assert.equal(missing.complianceType, 'NON_COMPLIANT');
  assert.equal(missing.annotation, 'monitoring agent is not_installed on running instance i-bp1test');
  const stopped = run(MONITOR, ecs({ Status: 'Running', MonitoringAgentStatus: 'stopped' }));
  assert.equal(stopped.complianceType, 'NON_COMPLIANT');
  assert.equal(stopped.annotation, 'monitoring agent is stopped on running instance i-bp1test');
  assert.equal(run(MONITOR, ecs({ Status: 'Running' })).complianceType, 'NON_COMPLIANT');
});

test('ecs-instance-monitor-enabled: instances that are not running are not applicable', () => {
  for (const MonitoringAgentStatus of ['not_installed', 'stopped', 'running']) {
    const v = run(MONITOR, ecs({ Status: 'Stopped', MonitoringAgentStatus }));
    assert.equal(v.complianceType, 'NOT_APPLICABLE', MonitoringAgentStatus);
    assert.match(v.annotation, /Stopped/);
  }
  assert.equal(run(MONITOR, ecs({ Status: 'Starting', MonitoringAgentStatus: 'not_installed' })).complianceType, 'NOT_APPLICABLE');
  assert.equal(run(MONITOR, ecs({ MonitoringAgentStatus: 'not_installed' })).complianceType, 'INSUFFICIENT_DATA');
});

test('ecs-instance-monitor-enabled: takes no parameters; works on normalized configurations', () => {
  assert.deepEqual(rule(MONITOR).parameters.parse({}), {});
  refused(MONITOR, { agent: 'running' });
  // The ECS type defaults Status to Running and the agent to not_installed.
  const bare = normalized('ACS::ECS::Instance', 'i-bp1norm', { ImageId: 'aliyun_3_x64_20G_alibase_20240528.vhd' });
  assert.equal(run(MONITOR, bare).annotation, 'monitoring agent is not_installed on running instance i-bp1norm');
  assert.equal(run(MONITOR, normalized('ACS::ECS::Instance', 'i-bp1norm', { ImageId: 'x', MonitoringAgentStatus: 'running' })).complianceType, 'COMPLIANT');
  assert.equal(run(MONITOR, normalized('ACS::ECS::Instance', 'i-bp1norm', { ImageId: 'x', Status: 'Stopped' })).complianceType, 'NOT_APPLICABLE');
});

// --- approved-amis-by-id --------------------------------------------------

const AMIS = 'approved-amis-by-id';
const ec2 = (ImageId: string | undefined, state: string) =>
  input('AWS::EC2::Instance', 'i-0test', { InstanceId: 'i-0test', ...(ImageId ? { ImageId } : {}), State: { Name: state } }, 'us-east-1');
const ecsImage = (ImageId: string, Status: string) => ecs({ ImageId, Status, MonitoringAgentStatus: 'running' });

test('approved-amis-by-id: EC2 instances, running or stopped', () => {
  const params = { amiIds: APPROVED };
  assert.equal(run(AMIS, ec2('ami-0c55b159cbfafe1f0', 'running'), params).complianceType, 'COMPLIANT');
  assert.equal(run(AMIS, ec2('ami-0c55b159cbfafe1f0', 'stopped'), params).complianceType, 'COMPLIANT');
  const bad = run(AMIS, ec2('ami-0123456789abcdef0', 'running'), params);
  assert.equal(bad.complianceType, 'NON_COMPLIANT');
  assert.match(bad.annotation, /^image ami-0123456789abcdef0 is not approved/);
  // Stopping an instance does not make its image approved.
  assert.equal(run(AMIS, ec2('ami-0123456789abcdef0', 'stopped'), params).complianceType, 'NON_COMPLIANT');
});

test('approved-amis-by-id: ECS instances, running or stopped', () => {
  const params = { amiIds: APPROVED };
  const ok = run(AMIS, ecsImage('ubuntu_22_04_x64_20G_alibase_20240710.vhd', 'Running'), params);
  assert.equal(ok.complianceType, 'COMPLIANT');
  assert.match(ok.annotation, /ubuntu_22_04_x64_20G_alibase_20240710\.vhd is approved/);
  const bad = run(AMIS, ecsImage('centos_7_9_x64_20G_alibase_20230919.vhd', 'Running'), params);
  assert.equal(bad.complianceType, 'NON_COMPLIANT');
  assert.match(bad.annotation, /centos_7_9_x64_20G_alibase_20230919\.vhd is not approved/);
  assert.equal(run(AMIS, ecsImage('centos_7_9_x64_20G_alibase_20230919.vhd', 'Stopped'), params).complianceType, 'NON_COMPLIANT');
  // Ids are matched exactly.
  assert.equal(run(AMIS, ecsImage('ubuntu_22_04_x64_20G_alibase_20240710', 'Running'), params).complianceType, 'NON_COMPLIANT');
});

test('approved-amis-by-id: a configuration with no ImageId has insufficient data', () => {
  const v = run(AMIS, ec2(undefined, 'running'), { amiIds: APPROVED });
  assert.equal(v.complianceType, 'INSUFFICIENT_DATA');
  assert.equal(v.annotation, 'the configuration has no ImageId');
  assert.equal(run(AMIS, input('ACS::ECS::Instance', 'i-x', { ImageId: '' }), { amiIds: APPROVED }).complianceType, 'INSUFFICIENT_DATA');
});

test('approved-amis-by-id: amiIds is required and parsed once', () => {
  const p = rule(AMIS).parameters;
  assert.deepEqual(p.parse({ amiIds: ' ami-1 , ami-2,ami-1 ' }), { amiIds: new Set(['ami-1', 'ami-2']) });
  assert.deepEqual(p.parse({ amiIds: ['ami-1', 'ami-2,ami-3'] }), { amiIds: new Set(['ami-1', 'ami-2', 'ami-3']) });
  const missing = refused(AMIS, {});
  assert.deepEqual(missing.issues[0]!.path, ['amiIds']);
  assert.match(missing.issues[0]!.message, /required/);
  assert.match(missing.message, /amiIds/);
  for (const amiIds of ['', ' , ', 'ami-1 ami-2', 7, [], [7]]) assert.deepEqual(refused(AMIS, { amiIds }).issues[0]!.path, ['amiIds'], JSON.stringify(amiIds));
  refused(AMIS, { amiIds: 'ami-1', imageIds: 'ami-2' });
  assert.equal(rule(AMIS).parameterDocs.amiIds!.required, true);
});

test('approved-amis-by-id: works on configurations normalized by the sandbox types', () => {
  const params = { amiIds: APPROVED_IMAGES.aws.join(',') };
  const stopped = normalized('AWS::EC2::Instance', 'i-0norm', { ImageId: 'ami-0123456789abcdef0', State: { Name: 'stopped' } }, 'us-east-1');
  assert.equal((stopped.configuration.State as { Code: number }).Code, 80);
  assert.equal(run(AMIS, stopped, params).complianceType, 'NON_COMPLIANT');
  assert.equal(run(AMIS, normalized('AWS::EC2::Instance', 'i-0norm', { ImageId: APPROVED_IMAGES.aws[0]! }, 'us-east-1'), params).complianceType, 'COMPLIANT');
});

// --- the library as a whole -----------------------------------------------

test('the library registers the four rules with docs, risk levels and documented parameters', () => {
  const ids = allManagedRules().map((r) => r.identifier);
  for (const id of [SG, BUCKET, MONITOR, AMIS]) assert.ok(ids.includes(id), id);
  assert.equal(rule(SG).defaultRiskLevel, 1);
  assert.equal(rule(BUCKET).defaultRiskLevel, 1);
  assert.equal(rule(MONITOR).defaultRiskLevel, 2);
  assert.equal(rule(AMIS).defaultRiskLevel, 2);
  assert.deepEqual(rule(SG).resourceTypes, ['ACS::ECS::SecurityGroup', 'AWS::EC2::SecurityGroup']);
  assert.deepEqual(rule(MONITOR).resourceTypes, ['ACS::ECS::Instance']);
  assert.deepEqual(rule(AMIS).resourceTypes, ['AWS::EC2::Instance', 'ACS::ECS::Instance']);
  for (const id of [SG, BUCKET, MONITOR, AMIS]) {
    const r = rule(id);
    assert.ok(r.description.length > 80, `${id} has a paragraph of description`);
    for (const [name, doc] of Object.entries(r.parameterDocs)) {
      assert.ok(doc.description, `${id}.${name} is described`);
      assert.ok(doc.example, `${id}.${name} has an example`);
      // The example is accepted as given.
      assert.ok(r.parameters.safeParse({ [name]: doc.example }).success, `${id}.${name} example parses`);
    }
  }
  assert.deepEqual(Object.keys(rule(SG).parameterDocs), ['ports']);
  assert.deepEqual(Object.keys(rule(AMIS).parameterDocs), ['amiIds']);
});

function demoResources() {
  const path = fileURLToPath(new URL('../../examples/estates/demo.yaml', import.meta.url));
  const { raw, lineOf } = parseEstateText(readFileSync(path, 'utf8'), path);
  return validateEstate(raw, path, lineOf).resources.map((r) => input(r.resourceType, r.resourceId, r.configuration, r.regionId));
}

function verdicts(identifier: string, resources: EvaluationInput[], rawParams: Record<string, unknown> = {}): Record<string, string> {
  const r = rule(identifier);
  const params = r.parameters.parse(rawParams);
  return Object.fromEntries(resources.filter((x) => r.resourceTypes.includes(x.resourceType)).map((x) => [x.resourceId, r.evaluate(x, params).complianceType]));
}

test('the demo estate gets the verdicts its comments describe', () => {
  const resources = demoResources();
  assert.deepEqual(verdicts(SG, resources), {
    'sg-web-prod': 'COMPLIANT',
    'sg-debug-open': 'NON_COMPLIANT',
    'sg-ack-managed': 'NON_COMPLIANT',
    'sg-member-db': 'NON_COMPLIANT',
    'sg-0123456789abcdef0': 'NON_COMPLIANT',
    'sg-0fedcba9876543210': 'COMPLIANT',
  });
  const open = resources.find((r) => r.resourceId === 'sg-debug-open')!;
  assert.equal(
    run(SG, open).annotation,
    'ingress rule sgr-debug-ssh-world (TCP 22/22 from 0.0.0.0/0) opens port 22 to the Internet; ingress rule sgr-debug-rdp-world (TCP 3389/3389 from 0.0.0.0/0) opens port 3389 to the Internet',
  );
  assert.deepEqual(verdicts(BUCKET, resources), {
    'confix-demo-public-assets': 'NON_COMPLIANT',
    'confix-demo-logs': 'COMPLIANT',
    'confix-demo-website': 'NON_COMPLIANT',
    'confix-demo-backups': 'COMPLIANT',
  });
  assert.deepEqual(verdicts(MONITOR, resources), {
    'i-bp1mgmtweb000000001': 'COMPLIANT',
    'i-bp1memberapp0000001': 'NON_COMPLIANT',
    'i-bp1memberbatch00001': 'NOT_APPLICABLE',
  });
  assert.deepEqual(verdicts(AMIS, resources, { amiIds: [...APPROVED_IMAGES.acs, ...APPROVED_IMAGES.aws].join(',') }), {
    'i-bp1mgmtweb000000001': 'COMPLIANT',
    'i-bp1memberapp0000001': 'COMPLIANT',
    'i-bp1memberbatch00001': 'COMPLIANT',
    'i-0a1b2c3d4e5f60001': 'COMPLIANT',
    'i-0a1b2c3d4e5f60002': 'NON_COMPLIANT',
  });
});

function generated(misconfiguredShare: number, resources: number): EvaluationInput[] {
  const estate = generateEstate({ accounts: 3, resources, seed: 42, misconfiguredShare });
  return validateEstate(estate, 'generated').resources.map((r) => input(r.resourceType, r.resourceId, r.configuration, r.regionId));
}

const allImages = { amiIds: [...APPROVED_IMAGES.acs, ...APPROVED_IMAGES.aws].join(',') };

test('generated estates: nothing misconfigured is all compliant; everything misconfigured breaks its seed rule', () => {
  const clean = generated(0, 1500);
  for (const [id, params] of [
    [SG, {}],
    [BUCKET, {}],
    [MONITOR, {}],
    [AMIS, allImages],
  ] as const) {
    const v = Object.values(verdicts(id, clean, params));
    assert.ok(v.length > 50, `${id} saw resources`);
    assert.ok(!v.includes('NON_COMPLIANT') && !v.includes('INSUFFICIENT_DATA'), `${id} finds nothing wrong in a clean estate`);
  }
  const broken = generated(1, 1500);
  for (const id of [SG, BUCKET]) {
    const v = Object.values(verdicts(id, broken));
    assert.ok(v.length > 50 && v.every((c) => c === 'NON_COMPLIANT'), `${id} flags every misconfigured resource`);
  }
  // An ECS instance breaks either the monitoring rule or the approved-images rule.
  const monitor = verdicts(MONITOR, broken);
  const amis = verdicts(AMIS, broken, allImages);
  const ecsIds = broken.filter((r) => r.resourceType === 'ACS::ECS::Instance').map((r) => r.resourceId);
  assert.ok(ecsIds.length > 50);
  for (const id of ecsIds) assert.ok(monitor[id] === 'NON_COMPLIANT' || amis[id] === 'NON_COMPLIANT', id);
  assert.ok(ecsIds.some((id) => monitor[id] === 'NON_COMPLIANT') && ecsIds.some((id) => amis[id] === 'NON_COMPLIANT'));
});

test('evaluate is fast: 100,000 evaluations per rule in well under a second', () => {
  const resources = generated(0.3, 2000);
  for (const [id, rawParams] of [
    [SG, {}],
    [BUCKET, {}],
    [MONITOR, {}],
    [AMIS, allImages],
  ] as const) {
    const r = rule(id);
    const params = r.parameters.parse(rawParams);
    const mine = resources.filter((x) => r.resourceTypes.includes(x.resourceType));
    const start = performance.now();
    let non = 0;
    for (let i = 0; i < 100_000; i++) if (r.evaluate(mine[i % mine.length]!, params).complianceType === 'NON_COMPLIANT') non++;
    const ms = performance.now() - start;
    assert.ok(non > 0, `${id} found something`);
    assert.ok(ms < 1000, `${id}: 100,000 evaluations took ${ms.toFixed(0)} ms`);
  }
});
