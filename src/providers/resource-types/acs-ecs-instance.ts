// ACS::ECS::Instance: an ECS DescribeInstances item (with its CloudMonitor agent status).
import { registerResourceTypeFacts } from './registry.js';

export default registerResourceTypeFacts({
  type: 'ACS::ECS::Instance',
  dialect: 'acs',
  description: 'An ECS instance (DescribeInstances), with its CloudMonitor agent status',
  arn: ({ accountId, regionId, resourceId }) => `acs:ecs:${regionId}:${accountId}:instance/${resourceId}`,
  readPermission: 'ecs:DescribeInstances',
  readPermissions: ['ecs:DescribeInstances', 'cms:DescribeMonitoringAgentStatuses'],
  idKeys: ['InstanceId', 'TagKey'],
});
