import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { scan } from '../../src/scan.js';
import { parseEstateText } from '../../src/providers/sandbox/index.js';
import { readPolicyDocuments } from '../../src/policy/files.js';
import { DEMO_ESTATE, EXAMPLE_POLICIES } from '../../src/service.js';

test('the seed rules give the expected results on the hand-written demo estate', async () => {
  const { raw, lineOf } = parseEstateText(readFileSync(DEMO_ESTATE, 'utf8'), DEMO_ESTATE);
  const docs = readPolicyDocuments([EXAMPLE_POLICIES]);
  const report = await scan({ estate: raw, estateSource: DEMO_ESTATE, estateLineOf: lineOf, policies: docs });
  assert.equal(report.resources, 15);
  assert.equal(report.evaluations, 15);
  const byRule = Object.fromEntries(report.rules.map((r) => [r.name, r]));
  const ids = (name: string) => byRule[name]!.nonCompliantResources.map((r) => r.resourceId).sort();
  assert.deepEqual(ids('sg-disallow-risky-ports-for-all-ips'), ['sg-0123456789abcdef0', 'sg-ack-managed', 'sg-debug-open', 'sg-member-db']);
  assert.deepEqual([byRule['sg-disallow-risky-ports-for-all-ips']!.compliant], [2]);
  assert.deepEqual(ids('oss-bucket-public-read-prohibited'), ['confix-demo-public-assets', 'confix-demo-website']);
  assert.deepEqual(ids('ecs-instance-monitor-enabled'), ['i-bp1memberapp0000001']);
  assert.equal(byRule['ecs-instance-monitor-enabled']!.notApplicable, 1, 'the stopped instance');
  assert.deepEqual(ids('approved-amis-by-id'), ['i-0a1b2c3d4e5f60002']);
  const debug = byRule['sg-disallow-risky-ports-for-all-ips']!.nonCompliantResources.find((r) => r.resourceId === 'sg-debug-open')!;
  assert.match(debug.annotation, /sgr-debug-ssh-world/);
  assert.match(debug.annotation, /sgr-debug-rdp-world/);
  assert.deepEqual(Object.keys(report).sort(), ['evaluations', 'resources', 'rules']);
  assert.deepEqual(Object.keys(report.rules[0]!).sort(), ['compliant', 'insufficientData', 'name', 'nonCompliant', 'nonCompliantResources', 'notApplicable']);
});

test('scan --remediate fixes what it can, reports every execution, and the results before and after', async () => {
  const { raw } = parseEstateText(readFileSync(DEMO_ESTATE, 'utf8'), DEMO_ESTATE);
  const report = await scan({ estate: raw, estateSource: DEMO_ESTATE, policies: readPolicyDocuments([EXAMPLE_POLICIES]), remediate: true });
  const nc = (rules: typeof report.rules, name: string) => rules.find((r) => r.name === name)!.nonCompliant;
  assert.equal(nc(report.before!, 'sg-disallow-risky-ports-for-all-ips'), 4);
  assert.equal(nc(report.rules, 'sg-disallow-risky-ports-for-all-ips'), 2, 'the service-managed group and the AWS group remain');
  assert.equal(nc(report.before!, 'ecs-instance-monitor-enabled'), 1);
  assert.equal(nc(report.rules, 'ecs-instance-monitor-enabled'), 0);
  assert.equal(nc(report.rules, 'approved-amis-by-id'), 1, 'stopping the instance leaves it non-compliant (seed 002)');
  const by = Object.fromEntries(report.remediations!.map((r) => [`${r.rule}/${r.resourceId}`, r]));
  assert.equal(by['sg-disallow-risky-ports-for-all-ips/sg-debug-open']!.status, 'SUCCEEDED');
  assert.equal(by['sg-disallow-risky-ports-for-all-ips/sg-ack-managed']!.status, 'FAILED');
  assert.match(by['sg-disallow-risky-ports-for-all-ips/sg-ack-managed']!.error!, /^Refused: .*service-managed/);
  assert.equal(by['approved-amis-by-id/i-0a1b2c3d4e5f60002']!.status, 'SUCCEEDED');
  assert.deepEqual(Object.keys(report.remediations![0]!).sort(), ['error', 'resourceId', 'rule', 'status']);
});
