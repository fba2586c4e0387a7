/**
 * Seed 003's remediation function (the Terraform's "HHM-FC-TEST", index.py),
 * ported from Python on Function Compute to confix's function runtime.
 *
 * Cloud Config invokes it with a JSON text: the list of non-compliant
 * resources, each { accountId, regionId, resourceId, resourceType,
 * configRuleId, configRuleName }. For each security group it re-reads the
 * group's configuration as recorded (to re-verify the assessment), skips
 * service-managed groups, selects the ids of the rules that grant access to
 * 0.0.0.0/0 with the seed's JMESPath expression, and revokes them with
 * ecs:RevokeSecurityGroup as the function's own role.
 *
 * Deploy it with the seed's role (examples/estates/seed-003.yaml: trusted by
 * fc.aliyuncs.com, allowed config:GetDiscoveredResource and
 * ecs:RevokeSecurityGroup):
 *
 *   confix function deploy revoke-risky-rules --file examples/seed-003/revoke-risky-rules.ts \
 *     --role acs:ram::165839271003:role/tf-example-role-30003
 *
 * What differs from the seed, and why:
 * - GetDiscoveredResource (Config's API at config.cn-shanghai.aliyuncs.com)
 *   is confix's own inventory: GET /resources/{id} through
 *   context.confix.request, which answers the recorded configuration as an
 *   object where Config answers it as JSON text
 *   (body.DiscoveredResourceDetail.Configuration, parsed by the seed).
 * - The JMESPath expression is the seed's, unchanged: confix records ECS
 *   security groups as DescribeSecurityGroupAttribute shows them, so
 *   Permissions.Permission[].SourceCidrIp and SecurityGroupRuleId are the
 *   same names. Like the seed's, it selects every rule open to 0.0.0.0/0,
 *   whatever its port (HTTPS too), and no rule open to ::/0; egress rules
 *   (which have DestCidrIp, not SourceCidrIp) are not selected.
 * - RevokeSecurityGroup (the OpenAPI call to ecs.<region>.aliyuncs.com) is
 *   context.cloud.call('ecs:RevokeSecurityGroup', …) with the same query:
 *   RegionId, SecurityGroupId and the SecurityGroupRuleId list.
 * - The seed returns nothing; this port also returns what it did, per group
 *   (revoked or skipped, and why), which confix shows on the execution.
 * - When the group cannot be read, the seed logs the error and then fails
 *   reading the empty answer; this port logs the same error and throws it.
 */
import jmespath from 'jmespath';
import type { FunctionContext } from '../../src/functions/types.js';

interface NonCompliantResource {
  accountId: string;
  regionId: string;
  resourceId: string;
  resourceType: string;
  configRuleId?: string;
  configRuleName?: string;
}

interface Outcome {
  resourceId: string;
  revoked?: string[];
  skipped?: string;
}

export async function handler(event: string, context: FunctionContext): Promise<Outcome[]> {
  context.logger.info(`This is event: ${event}`);
  return getResourcesNonCompliant(event, context);
}

async function getResourcesNonCompliant(event: string, context: FunctionContext): Promise<Outcome[]> {
  // Get information about non-compliant resources.
  const resources = parseJson(event, context);
  if (!Array.isArray(resources)) throw new TypeError(`the event is not a JSON list of resources: ${String(event).slice(0, 200)}`);
  // Traverse the non-compliant resources and perform remediation.
  const out: Outcome[] = [];
  for (const resource of resources as NonCompliantResource[]) {
    const done = await remediation(resource, context);
    if (done) out.push(done);
  }
  return out;
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

async function remediation(resource: NonCompliantResource, context: FunctionContext): Promise<Outcome | undefined> {
  context.logger.info(`Information about the resource to be remediated: ${JSON.stringify(resource)}`);
  const regionId = resource.regionId;
  const accountId = resource.accountId;
  const resourceId = resource.resourceId;
  const resourceType = resource.resourceType;
  if (resourceType !== 'ACS::ECS::SecurityGroup') return undefined;
  // Get the configuration of the non-compliant security group and re-verify it to ensure the accuracy of the assessment.
  const resourceResult = await getDiscoveredResource(context, accountId, resourceId, resourceType, regionId);
  const configuration = (resourceResult.configuration ?? {}) as Record<string, unknown>;
  // Check whether the security group is a managed security group.
  const isManagedSecurityGroup = configuration.ServiceManaged;
  // Use jmespath to get the IDs of security group rules that have an inbound direction and grant access to 0.0.0.0/0.
  const deleteSecurityGroupRuleIds = jmespath.search(configuration, "Permissions.Permission[?SourceCidrIp=='0.0.0.0/0'].SecurityGroupRuleId") as string[] | null;
  // If the security group is not a managed security group and has an inbound rule that grants access to 0.0.0.0/0, delete the rule.
  // (As in the seed: `is False`, so a configuration without ServiceManaged is left alone too.)
  if (isManagedSecurityGroup === false && deleteSecurityGroupRuleIds && deleteSecurityGroupRuleIds.length) {
    context.logger.info(`Note: Deleting security group rule ${regionId}:${resourceId}:${JSON.stringify(deleteSecurityGroupRuleIds)}`);
    await revokeSecurityGroup(context, accountId, regionId, resourceId, deleteSecurityGroupRuleIds);
    return { resourceId, revoked: deleteSecurityGroupRuleIds };
  }
  const skipped = isManagedSecurityGroup !== false ? `ServiceManaged is ${JSON.stringify(isManagedSecurityGroup)}` : 'no rule grants access to 0.0.0.0/0';
  context.logger.info(`Skipping ${regionId}:${resourceId}: ${skipped}`);
  return { resourceId, skipped };
}

async function revokeSecurityGroup(context: FunctionContext, accountId: string, regionId: string, resourceId: string, securityGroupRuleIds: string[]): Promise<void> {
  const creds = context.credentials;
  const query = { RegionId: regionId, SecurityGroupId: resourceId, SecurityGroupRuleId: securityGroupRuleIds };
  const response = await context.cloud.call('ecs:RevokeSecurityGroup', { accountId, regionId, parameters: query }, creds);
  context.logger.info(`Deletion result: ${JSON.stringify(response)}`);
}

/**
 * Get resource details: the configuration confix recorded, as Config's
 * GetDiscoveredResource gives it (ResourceId, ResourceType, Region).
 */
async function getDiscoveredResource(
  context: FunctionContext,
  accountId: string,
  resourceId: string,
  resourceType: string,
  regionId: string,
): Promise<{ configuration?: Record<string, unknown> | null }> {
  const query = new URLSearchParams({ accountId, regionId, resourceType });
  try {
    return await context.confix.request('GET', `/resources/${encodeURIComponent(resourceId)}?${query}`);
  } catch (e) {
    context.logger.error(`GetDiscoveredResource error: ${(e as Error).message}`);
    throw e;
  }
}
