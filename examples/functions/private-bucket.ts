// The README's first function: makes an OSS bucket private with the
// credentials of the role it is deployed with (ConfigFunctionRole in the demo
// estate, trusted by Function Compute and allowed oss:PutBucketAcl).
//
//   npx confix function deploy private-bucket --file examples/functions/private-bucket.ts --role ConfigFunctionRole
//   npx confix function invoke private-bucket --event '{"bucket":"confix-demo-public-assets"}'
import type { FunctionContext } from '../../src/functions/types.js'; // types only, gone once compiled

export async function handler(event: { bucket: string }, context: FunctionContext) {
  context.logger.info('making private', event.bucket);
  await context.cloud.call('oss:PutBucketAcl', { regionId: 'cn-hangzhou', parameters: { BucketName: event.bucket, Acl: 'private' } });
  return { done: event.bucket };
}
