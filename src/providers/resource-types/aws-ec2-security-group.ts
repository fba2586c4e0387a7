// AWS::EC2::SecurityGroup: an EC2 DescribeSecurityGroups item.
import { registerResourceTypeFacts } from './registry.js';

export default registerResourceTypeFacts({
  type: 'AWS::EC2::SecurityGroup',
  dialect: 'aws',
  description: 'An EC2 security group (a DescribeSecurityGroups item)',
  arn: ({ accountId, regionId, resourceId }) => `arn:aws:ec2:${regionId}:${accountId}:security-group/${resourceId}`,
  readPermission: 'ec2:DescribeSecurityGroups',
  readPermissions: ['ec2:DescribeSecurityGroups'],
  idKeys: ['CidrIp', 'CidrIpv6', 'GroupId', 'PrefixListId', 'Key'],
});
