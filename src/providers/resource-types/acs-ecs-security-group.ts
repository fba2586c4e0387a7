// ACS::ECS::SecurityGroup: an ECS DescribeSecurityGroupAttribute result.
import { registerResourceTypeFacts } from './registry.js';

export default registerResourceTypeFacts({
  type: 'ACS::ECS::SecurityGroup',
  dialect: 'acs',
  description: 'An ECS security group with its ingress and egress rules (DescribeSecurityGroupAttribute)',
  arn: ({ accountId, regionId, resourceId }) => `acs:ecs:${regionId}:${accountId}:securitygroup/${resourceId}`,
  readPermission: 'ecs:DescribeSecurityGroups',
  readPermissions: ['ecs:DescribeSecurityGroups', 'ecs:DescribeSecurityGroupAttribute'],
  idKeys: ['SecurityGroupRuleId', 'TagKey'],
});
