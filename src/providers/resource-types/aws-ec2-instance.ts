// AWS::EC2::Instance: an EC2 DescribeInstances item.
import { registerResourceTypeFacts } from './registry.js';

export default registerResourceTypeFacts({
  type: 'AWS::EC2::Instance',
  dialect: 'aws',
  description: 'An EC2 instance (a DescribeInstances item)',
  arn: ({ accountId, regionId, resourceId }) => `arn:aws:ec2:${regionId}:${accountId}:instance/${resourceId}`,
  readPermission: 'ec2:DescribeInstances',
  readPermissions: ['ec2:DescribeInstances'],
  idKeys: ['InstanceId', 'GroupId', 'Key'],
});
