import type { Configuration, ResourceKey, Tags } from '../providers/types.js';
import type { DiffOp } from './diff.js';

/** AWS Config's configuration item statuses. */
export type CiStatus = 'ResourceDiscovered' | 'OK' | 'ResourceDeleted';

/** Where a configuration item came from. */
export type CiSource = 'discovery' | 'change';

export interface ConfigurationItem extends ResourceKey {
  id: number;
  version: number;
  status: CiStatus;
  source: CiSource;
  capturedAt: string;
  changedAt: string | null;
  resourceName: string | null;
  tags: Tags;
  configuration: Configuration | null;
  configHash: string;
  diff: DiffOp[];
}

export interface InventoryResource extends ResourceKey {
  provider: string;
  resourceName: string | null;
  tags: Tags;
  status: CiStatus;
  version: number;
  firstSeenAt: string;
  capturedAt: string;
  configuration?: Configuration | null;
}
