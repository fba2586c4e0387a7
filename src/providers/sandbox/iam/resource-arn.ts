// The ARN and read permission of each resource type, from the catalogue of
// resource types, for matching the Resource of policy statements and for
// naming the resource in refusals.
import { resourceTypeFacts } from '../../resource-types/index.js';

export function resourceArn(resourceType: string, accountId: string, regionId: string, resourceId: string): string {
  const f = resourceTypeFacts(resourceType);
  if (f) return f.arn({ accountId, regionId, resourceId });
  // A type without a known ARN shape: a readable, unique stand-in.
  const [cloud, service, kind] = resourceType.toLowerCase().split('::');
  return `${cloud === 'aws' ? 'arn:aws' : 'acs'}:${service}:${regionId}:${accountId}:${kind}/${resourceId}`;
}

/** The API action a type is read with, as IAM names it: what a discovery (read) role must be allowed. */
export function readAction(resourceType: string): string {
  const known = resourceTypeFacts(resourceType)?.readPermission;
  if (known) return known;
  const [, service, kind] = resourceType.toLowerCase().split('::');
  return `${service}:Describe${kind ? kind[0]!.toUpperCase() + kind.slice(1) : ''}s`;
}
