/**
 * The providers' public face for the engine: the contract, the catalogue of
 * resource types, the registry, and the providers confix can build. The
 * engine imports from here, never from a provider's own folder.
 */
export * from './types.js';
export { ProviderRegistry } from './registry.js';
export { allResourceTypeFacts, resourceTypeFacts, allIdKeys } from './resource-types/index.js';
export { roleArn, parseRoleArn, principalArn, dialectOfResourceType, type Principal } from './identity.js';
export { SandboxCloud, SandboxError, OrganizationInUseError, EstateError, formatPath, parseEstateText, readEstateFile, type LoadSummary, type OrganizationChange } from './sandbox/index.js';
export { startDrift, driftOnce, type DriftEvent } from './sandbox/drift.js';
export type { DirectoryChange } from './organization.js';
