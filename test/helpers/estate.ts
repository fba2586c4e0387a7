/** Small estates for tests. */
export const MGMT = '100931896542';
export const MEMBER = '139876543210';

export function sgEstate() {
  return {
    accounts: [
      { id: MGMT, name: 'management', regions: ['cn-hangzhou', 'us-east-1'] },
      { id: MEMBER, name: 'member', regions: ['cn-hangzhou'] },
    ],
    resources: [
      {
        account: MGMT,
        region: 'cn-hangzhou',
        type: 'ACS::ECS::SecurityGroup',
        id: 'sg-web',
        tags: { env: 'prod' },
        configuration: {
          SecurityGroupName: 'web',
          Permissions: {
            Permission: [{ SecurityGroupRuleId: 'sgr-https', Direction: 'ingress', IpProtocol: 'TCP', PortRange: '443/443', SourceCidrIp: '0.0.0.0/0' }],
          },
        },
      },
      {
        account: MGMT,
        region: 'cn-hangzhou',
        type: 'ACS::ECS::SecurityGroup',
        id: 'sg-managed',
        tags: {},
        configuration: {
          SecurityGroupName: 'managed',
          ServiceManaged: true,
          Permissions: { Permission: [{ SecurityGroupRuleId: 'sgr-all', IpProtocol: 'ALL', PortRange: '-1/-1', SourceCidrIp: '0.0.0.0/0' }] },
        },
      },
      {
        account: MEMBER,
        region: 'cn-hangzhou',
        type: 'ACS::ECS::SecurityGroup',
        id: 'sg-db',
        tags: { env: 'prod', tier: 'db' },
        configuration: { SecurityGroupName: 'db' },
      },
    ],
  };
}
