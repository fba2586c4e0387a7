/**
 * Seed 001's function, oss_repair_acl_trigger (Function Compute, Python 3),
 * ported to TypeScript for confix's function runtime, statement for
 * statement. It is subscribed to the MNS topic that Cloud Config sends
 * non-compliance notifications to: the event is the message body, a base64
 * Cloud Config notification; when the notification is about the rule named
 * in the prepareRuleName environment variable, the bucket it names is made
 * private with the credentials of the function's role.
 *
 * The seed's page lost a few lines when it was copied (the logger.info
 * calls, `try:`, `import oss2`, the put_bucket_acl call, `return SUCC`);
 * they are put back here as the surrounding code implies them, each marked
 * with the Python line it stands for.
 *
 * Deploy: confix function deploy oss_repair_acl_trigger --file examples/seed-001/oss-repair-acl.ts \
 *   --role AliyunFCLogExecutionRole --env prepareRuleName=test-oss-bucket-public-read-prohibited
 */
import type { FunctionContext } from '../../src/functions/types.js';

const IDENTIFIER = 'evaluationResultIdentifier';
const QUALIFIER = 'evaluationResultQualifier';
const RULE_NAME = 'configRuleName';
const ENV_RULE_NAME = 'prepareRuleName';
const RESOURCE_ID = 'resourceId';
const REGION_ID = 'regionId';
const FAIL = 'fail';
const SUCC = 'success';

export async function handler(event: unknown, context: FunctionContext): Promise<typeof FAIL | typeof SUCC> {
  const logger = context.logger; // logger = logging.getLogger()
  logger.info(`mns_topic trigger event = ${typeof event === 'string' ? event : JSON.stringify(event)}`); // logger.info("mns_topic trigger event = {}".format(event))
  let decoded: Buffer | null = null;
  if (truthy(event)) {
    try {
      decoded = b64decode(event);
    } catch (ex) {
      if (!(ex instanceof BinasciiError)) throw ex; // except binascii.Error as ex:
      logger.error('mns_topic trigger event malformed!', ex); // logger.exception(…)
      return FAIL;
    }
  }
  if (!decoded || decoded.length === 0) return FAIL;
  const notifyJson: unknown = JSON.parse(decoded.toString('utf8')); // json.loads(decoded): a malformed message fails the invocation, as in Python
  if (truthy(notifyJson) && contains(notifyJson, IDENTIFIER)) {
    const evaluationResultIdentifier = get(notifyJson, IDENTIFIER);
    if (contains(evaluationResultIdentifier, QUALIFIER) && contains(get(evaluationResultIdentifier, QUALIFIER), RULE_NAME)) {
      const evaluationResultQualifier = get(evaluationResultIdentifier, QUALIFIER);
      const configRuleName = get(evaluationResultQualifier, RULE_NAME);
      // process.env.prepareRuleName: the rule name, such as test-oss-bucket-public-read-prohibited.
      if (configRuleName === (process.env[ENV_RULE_NAME] ?? null)) {
        if (contains(evaluationResultQualifier, RESOURCE_ID) && contains(evaluationResultQualifier, REGION_ID)) {
          const bucketName = get(evaluationResultQualifier, RESOURCE_ID);
          const region = get(evaluationResultQualifier, REGION_ID);
          if (truthy(region) && truthy(bucketName)) {
            try {
              await remedyByFcAssume(context, String(region), String(bucketName));
              return SUCC; // return SUCC
            } catch (ex) {
              logger.error('remedy fail!', ex); // logger.exception('remedy fail!')
            }
          }
        }
      }
    }
  }
  return FAIL;
}

/**
 * def remedy_by_fc_assume(context, region, bucket_name): the bucket's ACL set
 * to private with the function role's STS credentials (oss2.StsAuth), at the
 * region's OSS endpoint: here the sandbox cloud's oss:PutBucketAcl, signed
 * with those credentials, so the sandbox's IAM checks the role's policy.
 */
async function remedyByFcAssume(context: FunctionContext, region: string, bucketName: string): Promise<void> {
  const creds = context.credentials; // creds = context.credentials
  if (!creds) throw new TypeError("'NoneType' object has no attribute 'access_key_id'"); // the function has no role
  // auth = oss2.StsAuth(creds.access_key_id, creds.access_key_secret, creds.security_token)
  // bucket = oss2.Bucket(auth, 'http://oss-' + region + '.aliyuncs.com', bucket_name)
  // bucket.put_bucket_acl(oss2.BUCKET_ACL_PRIVATE)
  await context.cloud.call('oss:PutBucketAcl', { regionId: region, parameters: { BucketName: bucketName, Acl: 'private' } }, creds);
  context.logger.info(`bucket ${bucketName} in ${region} acl remedy succ.`); // logger.info('bucket {bucket_name} in {region} acl remedy succ.'.format(…))
}

// ------------------------------------------------ Python's semantics, where the port leans on them

/** binascii.Error: what base64.b64decode raises for a string that is not base64. */
class BinasciiError extends Error {
  override name = 'binascii.Error';
}

/**
 * base64.b64decode(s) (validate=False): characters outside the base64
 * alphabet are dropped, then the padding must be right (binascii.Error if
 * not). A str that is not ASCII is a ValueError; anything but str and bytes
 * a TypeError; neither is caught by the handler, so the invocation fails.
 */
function b64decode(s: unknown): Buffer {
  let text: string;
  if (typeof s === 'string') {
    if (/[^\x00-\x7f]/.test(s)) throw Object.assign(new Error('string argument should contain only ASCII characters'), { name: 'ValueError' });
    text = s;
  } else if (s instanceof Uint8Array) {
    text = Buffer.from(s).toString('latin1');
  } else {
    throw new TypeError(`argument should be a bytes-like object or ASCII string, not '${pythonType(s)}'`);
  }
  const data = text.replace(/[^A-Za-z0-9+/=]/g, '');
  const chars = data.replace(/=/g, '').length;
  if (chars % 4 === 1) throw new BinasciiError(`Invalid base64-encoded string: number of data characters (${chars}) cannot be 1 more than a multiple of 4`);
  if (data.length % 4 !== 0) throw new BinasciiError('Incorrect padding');
  return Buffer.from(data, 'base64');
}

/** Python's truth value of a JSON value (an empty string, list or dict is false). */
function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) return Object.keys(v).length > 0;
  if (v instanceof Uint8Array) return v.length > 0;
  return Boolean(v);
}

/** Python's `key in container` for a JSON value: a dict's keys, a list's items, a substring; TypeError for numbers and None. */
function contains(container: unknown, key: string): boolean {
  if (typeof container === 'string') return container.includes(key);
  if (Array.isArray(container)) return container.includes(key);
  if (container !== null && typeof container === 'object') return Object.prototype.hasOwnProperty.call(container, key);
  throw new TypeError(`argument of type '${pythonType(container)}' is not iterable`);
}

/** dict.get(key): None when missing. */
function get(o: unknown, key: string): unknown {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new TypeError(`'${pythonType(o)}' object has no attribute 'get'`);
  return Object.prototype.hasOwnProperty.call(o, key) ? (o as Record<string, unknown>)[key] : null;
}

function pythonType(v: unknown): string {
  if (v === null || v === undefined) return 'NoneType';
  if (Array.isArray(v)) return 'list';
  switch (typeof v) {
    case 'string':
      return 'str';
    case 'number':
      return Number.isInteger(v) ? 'int' : 'float';
    case 'boolean':
      return 'bool';
    case 'object':
      return 'dict';
    default:
      return typeof v;
  }
}
