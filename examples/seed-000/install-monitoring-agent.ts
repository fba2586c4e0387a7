/**
 * Seed 000's custom remediation function ("ConfigRemediationFunction"),
 * ported from Python on Function Compute to confix's function runtime.
 *
 * Cloud Config invokes it with a JSON text: the list of non-compliant
 * resources, each { accountId, regionId, resourceId, resourceType,
 * configRuleId, configRuleName }. For each ECS instance, it assumes
 * ConfigCustomRemediationRole in the instance's account with the function's
 * own credentials (context.credentials: the function's role, assumed by the
 * function service fc.aliyuncs.com) and installs the CloudMonitor agent with
 * the credentials it got.
 *
 * Deploy it with the role ConfigCustomRemediationRole of the management
 * account, whose trust policy names fc.aliyuncs.com (examples/estates/seed-000.yaml):
 *
 *   confix function deploy install-monitoring-agent --file examples/seed-000/install-monitoring-agent.ts --role ConfigCustomRemediationRole
 *
 * and remediate with `remediation: { function: install-monitoring-agent }`
 * (examples/seed-000/policy-function.yaml).
 *
 * What differs from the seed, and why:
 * - The SDK calls are the sandbox cloud's: context.cloud.assumeRole for STS
 *   AssumeRole (the seed's sts-vpc endpoint and region do not matter there)
 *   and context.cloud.call('cms:InstallMonitoringAgent', …) for the
 *   CommonRequest to metrics.<region>.aliyuncs.com (InstanceIds.1 and
 *   Force=true, as the seed sends them).
 * - The seed logs the AssumeRole response and context.credentials whole,
 *   secrets included; this port logs the same lines with the access key ids,
 *   expirations and the assumed role, never a secret or token.
 * - An event that is not JSON: the seed logs the error and then fails
 *   iterating None; this port logs the same error and throws a TypeError
 *   saying so.
 */
import type { FunctionContext, FunctionCredentials } from '../../src/functions/types.js';

interface NonCompliantResource {
  accountId: string;
  regionId: string;
  resourceId: string;
  resourceType: string;
  configRuleId: string;
  configRuleName?: string;
}

interface Token {
  credentials: Required<FunctionCredentials>;
  assumedRoleUser: { arn: string };
}

// The sample code is used to remediate non-compliant resources based on the
// ecs-instance-monitor-enabled rule. You can modify the remediation logic
// based on your business requirements.
export async function handler(event: string, context: FunctionContext): Promise<void> {
  await getResourcesNonCompliant(event, context);
}

async function getResourcesNonCompliant(event: string, context: FunctionContext): Promise<void> {
  const resources = parseJson(event, context);
  if (!Array.isArray(resources)) throw new TypeError(`the event is not a JSON list of resources: ${String(event).slice(0, 200)}`);
  for (const resource of resources as NonCompliantResource[]) await remediation(resource, context);
}

/** Parse string to json object; null (logged) when it is not JSON. */
function parseJson(content: string, context: FunctionContext): unknown {
  try {
    return JSON.parse(content);
  } catch (e) {
    context.logger.error(`Parse content:${content} to json error:${(e as Error).message}.`);
    return null;
  }
}

async function remediation(resource: NonCompliantResource, context: FunctionContext): Promise<void> {
  const logger = context.logger;
  logger.info(JSON.stringify(resource));
  const regionId = resource.regionId;
  const accountId = resource.accountId;
  const resourceId = resource.resourceId;
  const resourceType = resource.resourceType;
  const configRuleId = resource.configRuleId;
  if (resourceType === 'ACS::ECS::Instance') {
    logger.info(`process account_id: ${accountId}, resource_id: ${resourceId}, config_rule_id: ${configRuleId}`);
    await installMonitoringAgent(context, accountId, regionId, resourceId);
  }
}

async function installMonitoringAgent(context: FunctionContext, accountId: string, resourceRegionId: string, resourceId: string): Promise<void> {
  context.logger.info(`start install agent ${resourceRegionId}: ${resourceId}`);
  const token = await assumeRoleAndGetToken(context, accountId, resourceRegionId);
  // CloudMonitor's InstallMonitoringAgent (version 2019-01-01) with InstanceIds.1 and Force=true, signed with the assumed role's token.
  const response = await context.cloud.call(
    'cms:InstallMonitoringAgent',
    { accountId, regionId: resourceRegionId, parameters: { InstanceIds: [resourceId], Force: true } },
    token.credentials,
  );
  context.logger.info(JSON.stringify(response));
}

// Assume the role to obtain a temporary Security Token Service (STS) token.
// Replace the role name in the sample code with the actual role that you use.
async function assumeRoleAndGetToken(context: FunctionContext, accountId: string, _regionId: string): Promise<Token> {
  const creds = context.credentials;
  context.logger.info('assume_role_and_get_token begin.');
  const token = await context.cloud.assumeRole(
    { roleArn: `acs:ram::${accountId}:role/configcustomremediationrole`, roleSessionName: 'ConfigCustomRemediationRole' },
    creds,
  );
  context.logger.info(`assume_role_and_get_token response : ${describeToken(token)}.`);
  context.logger.info(`assume_role_and_get_token: ${describeCredentials(creds)}, assume role: ${describeToken(token)}.`);
  return token;
}

/** Credentials as a log line may show them: the key id and expiry, not the secret or the token. */
function describeCredentials(c: FunctionCredentials | undefined): string {
  return c ? `{AccessKeyId: ${c.accessKeyId}, Expiration: ${c.expiration ?? '-'}}` : '{}';
}

function describeToken(t: Token): string {
  return `{AssumedRoleUser: ${t.assumedRoleUser.arn}, Credentials: ${describeCredentials(t.credentials)}}`;
}
