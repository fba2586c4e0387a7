// The ARN each sandbox resource type has in its cloud, for matching the
// Resource of policy statements and for naming the resource in refusals.
const ARNS: Record<string, (account: string, region: string, id: string) => string> = {
  'ACS::ECS::SecurityGroup': (a, r, id) => `acs:ecs:${r}:${a}:securitygroup/${id}`,
  'ACS::ECS::Instance': (a, r, id) => `acs:ecs:${r}:${a}:instance/${id}`,
  'ACS::OSS::Bucket': (a, _r, id) => `acs:oss:*:${a}:${id}`,
  'AWS::EC2::SecurityGroup': (a, r, id) => `arn:aws:ec2:${r}:${a}:security-group/${id}`,
  'AWS::EC2::Instance': (a, r, id) => `arn:aws:ec2:${r}:${a}:instance/${id}`,
  'AWS::S3::Bucket': (_a, _r, id) => `arn:aws:s3:::${id}`,
};

export function resourceArn(resourceType: string, accountId: string, regionId: string, resourceId: string): string {
  const f = ARNS[resourceType];
  if (f) return f(accountId, regionId, resourceId);
  // A type without a known ARN shape: a readable, unique stand-in.
  const [cloud, service, kind] = resourceType.toLowerCase().split('::');
  return `${cloud === 'aws' ? 'arn:aws' : 'acs'}:${service}:${regionId}:${accountId}:${kind}/${resourceId}`;
}

// The API action each type is read with, as IAM names it: what a discovery
// (read) role must be allowed to see the type's resources.
const READ_ACTIONS: Record<string, string> = {
  'ACS::ECS::SecurityGroup': 'ecs:DescribeSecurityGroups',
  'ACS::ECS::Instance': 'ecs:DescribeInstances',
  'ACS::OSS::Bucket': 'oss:GetBucketInfo',
  'AWS::EC2::SecurityGroup': 'ec2:DescribeSecurityGroups',
  'AWS::EC2::Instance': 'ec2:DescribeInstances',
  'AWS::S3::Bucket': 's3:GetBucketAcl',
};

export function readAction(resourceType: string): string {
  const known = READ_ACTIONS[resourceType];
  if (known) return known;
  const [, service, kind] = resourceType.toLowerCase().split('::');
  return `${service}:Describe${kind ? kind[0]!.toUpperCase() + kind.slice(1) : ''}s`;
}
