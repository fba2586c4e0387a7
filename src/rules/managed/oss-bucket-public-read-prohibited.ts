// oss-bucket-public-read-prohibited (s3-bucket-public-read-prohibited): no bucket is readable by everyone.
import { z } from 'zod';
import { registerManagedRule } from '../registry.js';
import type { EvaluationInput, Verdict } from '../types.js';

const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';
const AUTHENTICATED_USERS = 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers';
/** Group URIs (and the bare names some recorders show) → the name used in annotations. */
const PUBLIC_GROUPS: Record<string, string> = {
  [ALL_USERS]: 'AllUsers',
  [AUTHENTICATED_USERS]: 'AuthenticatedUsers',
  AllUsers: 'AllUsers',
  AuthenticatedUsers: 'AuthenticatedUsers',
};
/** Permissions that expose objects; READ_ACP and WRITE_ACP only expose the ACL itself. */
const EXPOSING = new Set(['READ', 'WRITE', 'FULL_CONTROL']);
const PUBLIC_OSS_ACLS = new Set(['public-read', 'public-read-write']);

const parameters = z.strictObject({});
type NoParams = z.output<typeof parameters>;

const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const asObject = (v: unknown): Record<string, unknown> => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : {});

function evaluateOss(c: Record<string, unknown>): Verdict {
  const grant = asObject(c.AccessControlList).Grant;
  // OSS reports private when no ACL was ever set.
  const acl = typeof grant === 'string' && grant !== '' ? grant : 'private';
  if (!PUBLIC_OSS_ACLS.has(acl.toLowerCase())) return { complianceType: 'COMPLIANT', annotation: `bucket ACL is ${acl}` };
  // Block Public Access makes OSS ignore a public ACL (and refuse new ones).
  if (c.BlockPublicAccess === true)
    return { complianceType: 'COMPLIANT', annotation: `bucket ACL is ${acl}, but Block Public Access is on, so OSS ignores it` };
  return {
    complianceType: 'NON_COMPLIANT',
    annotation: `bucket ACL is ${acl}: anyone can ${acl.toLowerCase() === 'public-read' ? 'read' : 'read and write'} its objects`,
  };
}

function evaluateS3(c: Record<string, unknown>): Verdict {
  const publicGrants: string[] = [];
  for (const raw of asArray(asObject(c.Acl).Grants)) {
    const g = asObject(raw);
    const grantee = typeof g.Grantee === 'string' ? g.Grantee : asObject(g.Grantee).URI;
    const group = typeof grantee === 'string' ? PUBLIC_GROUPS[grantee] : undefined;
    const permission = typeof g.Permission === 'string' ? g.Permission.toUpperCase() : '';
    if (group && EXPOSING.has(permission)) publicGrants.push(`${permission} to ${group}`);
  }
  if (publicGrants.length === 0) return { complianceType: 'COMPLIANT', annotation: 'bucket ACL grants nothing to AllUsers or AuthenticatedUsers' };
  const grants = publicGrants.join(', ');
  if (asObject(c.PublicAccessBlockConfiguration).IgnorePublicAcls === true)
    return { complianceType: 'COMPLIANT', annotation: `bucket ACL grants ${grants}, but the public access block ignores public ACLs (IgnorePublicAcls)` };
  return { complianceType: 'NON_COMPLIANT', annotation: `bucket ACL grants ${grants} and IgnorePublicAcls is off` };
}

function evaluate(resource: EvaluationInput): Verdict {
  const c = asObject(resource.configuration);
  if (resource.resourceType === 'ACS::OSS::Bucket') return evaluateOss(c);
  if (resource.resourceType === 'AWS::S3::Bucket') return evaluateS3(c);
  return { complianceType: 'NOT_APPLICABLE', annotation: `${resource.resourceType} is not a bucket` };
}

registerManagedRule<NoParams>({
  identifier: 'oss-bucket-public-read-prohibited',
  aliases: ['s3-bucket-public-read-prohibited'],
  description:
    'Checks that no storage bucket can be read by everyone. An OSS bucket is non-compliant when its ACL is public-read ' +
    'or public-read-write (unless Block Public Access is on, which makes OSS ignore the ACL). An S3 bucket is ' +
    'non-compliant when its ACL grants READ, WRITE or FULL_CONTROL to the AllUsers or AuthenticatedUsers group, ' +
    'unless its public access block has IgnorePublicAcls on. Bucket policies are not examined.',
  resourceTypes: ['ACS::OSS::Bucket', 'AWS::S3::Bucket'],
  parameters,
  defaultRiskLevel: 1,
  evaluate,
});
