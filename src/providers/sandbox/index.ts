export { SandboxCloud, OrganizationInUseError, type CallResult, type CallTarget, type LoadSummary, type OrganizationChange } from './cloud.js';
export { SandboxError } from './errors.js';
export { EstateError, validateEstate, parseEstateText, readEstateFile, formatPath, type EstateIssue } from './estate.js';
export { allOperations, allResourceTypes, operation, resourceType } from './registry.js';
export { generateEstate, type GenerateOptions } from './generator.js';
// For the sandbox's own HTTP routes (its IAM): policy documents and identities as the sandbox's IAM reads them.
export { parsePolicyDocument, formatIssuePath } from './iam/document.js';
export { roleArn, dialectOfResourceType } from './iam/arn.js';
export type { Credentials } from './iam/sandbox-iam.js';
export type { Dialect } from './errors.js';
