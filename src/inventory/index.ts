export { Recorder, type RecordedEvent, type SnapshotOptions, type SnapshotSummary } from './recorder.js';
export { Inventory, InventoryError, type ResourceFilter, type ResourcePage } from './inventory.js';
export { diffConfigurations, readablePath, type DiffOp } from './diff.js';
export { contentHash } from './hash.js';
export type { ConfigurationItem, InventoryResource, CiStatus, CiSource } from './types.js';
