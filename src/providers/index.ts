/**
 * The providers' public face for the engine: the contract, the catalogue of
 * resource types, the registry, and the providers confix can build. The
 * engine imports from here, never from a provider's own folder.
 */
export * from './types.js';
import type { Provider } from './types.js';
export { ProviderRegistry } from './registry.js';
export { allResourceTypeFacts, resourceTypeFacts, allIdKeys } from './resource-types/index.js';
export { roleArn, parseRoleArn, principalArn, dialectOfResourceType, type Principal } from './identity.js';
export {
  SandboxCloud,
  SandboxError,
  OrganizationInUseError,
  EstateError,
  formatPath,
  parseEstateText,
  readEstateFile,
  type LoadSummary,
  type OrganizationChange,
} from './sandbox/index.js';
export { startDrift, driftOnce, type DriftEvent } from './sandbox/drift.js';
export type { DirectoryChange } from './organization.js';

/** The AWS provider, loaded on demand (the AWS SDK is large, and most runs never need it). */
export async function createAwsProvider(opts: import('./aws/index.js').AwsProviderOptions = {}): Promise<Provider> {
  const { AwsProvider } = await import('./aws/index.js');
  return new AwsProvider(opts);
}
export { loadConfig, parseConfig, buildProviders, rediscoveryPeriods, ConfigError, DEFAULT_CONFIG, type ConfixConfig } from './config.js';
/** The AWS provider's module (its event mapping and setup helpers), loaded on demand. */
export const loadAws = () => import('./aws/index.js');
