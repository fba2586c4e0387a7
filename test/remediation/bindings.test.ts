import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkJmespath, resolveParameters } from '../../src/remediation/bindings.js';

const resource = {
  accountId: '100931896542',
  regionId: 'cn-hangzhou',
  resourceType: 'ACS::ECS::SecurityGroup',
  resourceId: 'sg-1',
  configuration: {
    Permissions: {
      Permission: [
        { SecurityGroupRuleId: 'sgr-a', SourceCidrIp: '0.0.0.0/0', PortRange: '22/22' },
        { SecurityGroupRuleId: 'sgr-b', SourceCidrIp: '10.0.0.0/8', PortRange: '22/22' },
        { SecurityGroupRuleId: 'sgr-c', SourceCidrIp: '0.0.0.0/0', PortRange: '3389/3389' },
      ],
    },
  },
};

test("bindings resolve to the resource's values, and the seeds' JMESPath works unchanged", () => {
  const out = resolveParameters(
    {
      securityGroupId: { resourceValue: 'RESOURCE_ID' },
      regionId: { resourceValue: 'REGION_ID' },
      account: { resourceValue: 'ACCOUNT_ID' },
      securityGroupRuleIds: { jmespath: "Permissions.Permission[?SourceCidrIp=='0.0.0.0/0'].SecurityGroupRuleId" },
      ports: '22,3389',
      force: true,
      literal: { staticValue: { resourceValue: 'not a binding' } },
    },
    resource,
  );
  assert.deepEqual(out, {
    securityGroupId: 'sg-1',
    regionId: 'cn-hangzhou',
    account: '100931896542',
    securityGroupRuleIds: ['sgr-a', 'sgr-c'],
    ports: '22,3389',
    force: true,
    literal: { resourceValue: 'not a binding' },
  });
});

test("a JMESPath expression that does not compile is refused with the parser's words", () => {
  assert.doesNotThrow(() => checkJmespath("Permissions.Permission[?SourceCidrIp=='0.0.0.0/0'].SecurityGroupRuleId"));
  assert.throws(() => checkJmespath('Permissions.Permission[?SourceCidrIp=='), /JMESPath expression does not compile/);
});
