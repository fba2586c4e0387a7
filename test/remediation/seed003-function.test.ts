// Seed 003 as the seed does it, on the running service: rule
// sg-disallow-risky-ports-for-all-ips remediated automatically by the
// function revoke-risky-rules (examples/seed-003/revoke-risky-rules.ts, a
// port of the seed's index.py) running as the seed's role. The function
// re-reads the group through confix's API, selects the rules open to
// 0.0.0.0/0 with the seed's JMESPath and revokes them; the service-managed
// group is skipped (its execution fails: still non-compliant), the compliant
// group is never touched, and every execution and invocation is recorded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { testService } from '../helpers/service.js';
import { parseEstateText } from '../../src/providers/sandbox/index.js';
import { readPolicyDocuments } from '../../src/policy/files.js';
import { until } from '../helpers/wait.js';

const path = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const ESTATE = path('examples/estates/seed-003.yaml');
const FUNCTION = path('examples/seed-003/revoke-risky-rules.ts');
const POLICY_FILE = path('examples/seed-003/policy.yaml');
const ACCOUNT = '165839271003';
const REGION = 'cn-shenzhen';
const ROLE = `acs:ram::${ACCOUNT}:role/tf-example-role-30003`;
const RULE = 'sg-disallow-risky-ports-for-all-ips';
const SG = (id: string) => ({ accountId: ACCOUNT, regionId: REGION, resourceType: 'ACS::ECS::SecurityGroup', resourceId: id });

test('seed 003 by function: the open group loses its 0.0.0.0/0 rules, the service-managed one is skipped, all recorded', async () => {
  const svc = await testService({ demo: false });
  try {
    const { raw } = parseEstateText(readFileSync(ESTATE, 'utf8'), ESTATE);
    const loaded = await svc.api('/sandbox/estate', { json: { estate: raw } });
    assert.equal(loaded.status, 200, JSON.stringify(loaded.body));

    await svc.functions.deploy({ name: 'revoke-risky-rules', fileName: 'revoke-risky-rules.ts', source: readFileSync(FUNCTION, 'utf8'), role: ROLE });
    const documents = readPolicyDocuments([POLICY_FILE]).map(({ source, kind, body }) => ({ source, kind, body }));
    assert.deepEqual(
      documents.map((d) => d.kind),
      ['Rule'],
      'the exception stays commented out',
    );
    const applied = await svc.api('/policy/apply', { json: { documents } });
    assert.equal(applied.status, 200, JSON.stringify(applied.body));

    const finished = async () => (await svc.api(`/executions?rule=${RULE}`)).body.items.filter((x: any) => ['SUCCEEDED', 'FAILED'].includes(x.status));
    const [open, managed] = await until('both non-compliant groups to be tried', async () => {
      const done = await finished();
      const o = done.find((x: any) => x.resourceId === 'sg-dev-open');
      const m = done.find((x: any) => x.resourceId === 'sg-ack-managed');
      return o && m ? [o, m] : undefined;
    });

    // The open group: fixed by the function, confirmed by the rule.
    assert.equal(open.status, 'SUCCEEDED', `${open.errorCode}: ${open.errorMessage}`);
    assert.equal(open.trigger, 'AUTOMATIC');
    assert.equal(open.action, 'function:revoke-risky-rules');
    assert.deepEqual(
      open.steps.map((s: any) => s.name),
      ['reread', 'reevaluate', 'preview', 'invoke', 'confirm'],
    );
    assert.match(open.steps[3].message, /^invocation inv-[0-9a-f]+ of revoke-risky-rules v1 SUCCEEDED in \d+ ms, returning \[\{/);
    assert.deepEqual(open.steps[3].detail.result, [{ resourceId: 'sg-dev-open', revoked: ['sgr-dev-ssh-world', 'sgr-dev-rdp-world', 'sgr-dev-https-world'] }]);
    assert.match(open.steps[4].message, /now reports COMPLIANT/);
    const rules = ((await svc.sandbox.describe(SG('sg-dev-open')))!.configuration as any).Permissions.Permission.map((p: any) => p.SecurityGroupRuleId);
    // The seed's expression takes every rule open to 0.0.0.0/0 (HTTPS too); the office SSH and the egress rule stay.
    assert.deepEqual(rules, ['sgr-dev-ssh-office', 'sgr-dev-egress']);
    await svc.evaluator.idle();
    assert.equal((await svc.api(`/compliance?rule=${RULE}&resourceId=sg-dev-open`)).body.items[0].complianceType, 'COMPLIANT');

    // Its invocation: the seed's event, the re-read through confix's API, the revocation as the role.
    const inv = await svc.invocations.get(open.steps[3].detail.invocationId);
    assert.equal(inv.status, 'SUCCEEDED');
    assert.deepEqual(inv.source, { type: 'remediation', id: open.executionId });
    const rule = await svc.rules.get(RULE);
    assert.deepEqual(JSON.parse(inv.input as string), [{ provider: 'sandbox', ...SG('sg-dev-open'), configRuleId: rule.ruleId, configRuleName: RULE }]);
    const logs = inv.logs.map((l) => l.message).join('\n');
    assert.match(logs, /This is event: \[\{"accountId":"165839271003"/);
    assert.match(logs, /Note: Deleting security group rule cn-shenzhen:sg-dev-open:\["sgr-dev-ssh-world","sgr-dev-rdp-world","sgr-dev-https-world"\]/);
    assert.match(logs, /Deletion result: .*"action":"ecs:RevokeSecurityGroup".*"changed":true/);
    const history = await svc.api(`/resources/sg-dev-open/history?accountId=${ACCOUNT}`);
    assert.equal(history.status, 200, JSON.stringify(history.body));

    // The service-managed group: skipped by the function as the seed does; the rule still flags it, so the execution fails saying why.
    assert.equal(managed.status, 'FAILED');
    assert.equal(managed.errorCode, 'PostconditionFailed');
    assert.match(
      managed.errorMessage,
      /^function revoke-risky-rules succeeded \(invocation inv-[0-9a-f]+\), but sg-disallow-risky-ports-for-all-ips still reports NON_COMPLIANT: .*sgr-ack-all.*; it returned \[\{.*"skipped":"ServiceManaged is true".*\}\] \(attempt 1 of 5; retrying in 60 s\)$/,
    );
    assert.deepEqual(
      ((await svc.sandbox.describe(SG('sg-ack-managed')))!.configuration as any).Permissions.Permission.map((p: any) => p.SecurityGroupRuleId),
      ['sgr-ack-all'],
    );

    // The compliant group: no execution, nothing changed.
    assert.equal((await svc.api(`/compliance?rule=${RULE}&resourceId=sg-web-public`)).body.items[0].complianceType, 'COMPLIANT');
    assert.ok(!(await svc.api(`/executions?rule=${RULE}`)).body.items.some((x: any) => x.resourceId === 'sg-web-public'));
    assert.equal(((await svc.sandbox.describe(SG('sg-web-public')))!.configuration as any).Permissions.Permission.length, 1);

    // Recorded: one invocation per execution, found by its source; the detail lists the executions.
    const byFunction = await svc.invocations.list({ functionName: 'revoke-risky-rules', sourceType: 'remediation' });
    assert.deepEqual(byFunction.map((i) => (i.source as { id: string }).id).sort(), [open.executionId, managed.executionId].sort());
    const detail = await svc.api(`/rules/${RULE}/remediation`);
    assert.equal(detail.body.remediation.function, 'revoke-risky-rules');
    assert.equal(detail.body.counts.SUCCEEDED, 1);
    assert.ok(detail.body.counts.FAILED >= 1);

    // A function's execution cannot be rolled back: no prior state was recorded.
    const rb = await svc.api(`/executions/${open.executionId}/rollback`, { method: 'POST' });
    assert.equal(rb.status, 400, JSON.stringify(rb.body));
    assert.match(rb.body.error.message, /invoked function revoke-risky-rules: .*cannot be rolled back/);
  } finally {
    await svc.close();
  }
});
