export { SandboxCloud, OrganizationInUseError, type CallResult, type CallTarget, type LoadSummary, type OrganizationChange } from './cloud.js';
export { SandboxError } from './errors.js';
export { EstateError, validateEstate, parseEstateText, readEstateFile, formatPath, type EstateIssue } from './estate.js';
export { allOperations, allResourceTypes, operation, resourceType } from './registry.js';
export { generateEstate, type GenerateOptions } from './generator.js';
