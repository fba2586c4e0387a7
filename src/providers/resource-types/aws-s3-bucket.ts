// AWS::S3::Bucket: a ListBuckets item with its location, ACL, public access block and policy status.
import { registerResourceTypeFacts } from './registry.js';

export default registerResourceTypeFacts({
  type: 'AWS::S3::Bucket',
  dialect: 'aws',
  description: 'An S3 bucket with its region, ACL, public access block and policy status',
  arn: ({ resourceId }) => `arn:aws:s3:::${resourceId}`,
  readPermission: 's3:GetBucketAcl',
  readPermissions: [
    's3:ListAllMyBuckets',
    's3:GetBucketLocation',
    's3:GetBucketAcl',
    's3:GetBucketPublicAccessBlock',
    's3:GetBucketPolicyStatus',
    's3:GetBucketVersioning',
    's3:GetEncryptionConfiguration',
    's3:GetBucketTagging',
  ],
  idKeys: ['ID', 'URI', 'Key'],
});
