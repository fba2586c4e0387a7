// ACS::OSS::Bucket: an OSS GetBucketInfo result with its ACL.
import { registerResourceTypeFacts } from './registry.js';

export default registerResourceTypeFacts({
  type: 'ACS::OSS::Bucket',
  dialect: 'acs',
  description: 'An OSS bucket (GetBucketInfo) with its ACL',
  arn: ({ accountId, resourceId }) => `acs:oss:*:${accountId}:${resourceId}`,
  readPermission: 'oss:GetBucketInfo',
  readPermissions: ['oss:ListBuckets', 'oss:GetBucketInfo', 'oss:GetBucketAcl'],
  idKeys: ['Key'],
});
