/**
 * The AWS provider's public face: the provider, its options, and what the
 * CLI needs to set AWS up for confix (the EventBridge pattern of the events
 * it follows, the IAM actions it reads and calls with).
 */
import './quiet.js';
export { AwsProvider, type AwsProviderOptions, type AwsOrganizationOptions } from './provider.js';
export type { AwsIdentity, AwsIdentityProvider } from './clients.js';
export { SqsChangeFeed, type FeedCounters } from './feed.js';
export { CLOUDTRAIL_EVENTS, eventBridgePattern, mapMessage, mapDetail, type CloudTrailDetail, type EventOutcome } from './events.js';
export { AWS_ACTIONS, callPermissions } from './actions.js';
export { AWS_TYPES, DISCOVERY_PERMISSIONS } from './discovery.js';
export { toProviderError } from './errors.js';
