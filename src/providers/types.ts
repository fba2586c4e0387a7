/**
 * The provider contract: what the recorder and (later) the remediation engine
 * need from a cloud. The sandbox implements it; real clouds will too.
 */

/** Identifies one resource everywhere in confix. */
export interface ResourceKey {
  accountId: string;
  regionId: string;
  resourceType: string;
  resourceId: string;
}

export type Tags = Record<string, string>;
export type Configuration = Record<string, unknown>;

/** A resource as the cloud describes it now. */
export interface ResourceState extends ResourceKey {
  resourceName?: string;
  tags: Tags;
  /** In the shape of the cloud's own describe API. */
  configuration: Configuration;
}

export type ChangeType = 'create' | 'update' | 'delete';

/** A change notification: something about this resource changed at this time. */
export interface ResourceChange extends ResourceKey {
  changeType: ChangeType;
  /** The API action that caused it, e.g. ecs:AuthorizeSecurityGroup. */
  action: string;
  changedAt: Date;
}

/** An access key, or temporary credentials with their security token. */
export interface ProviderCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string;
}

export interface Account {
  accountId: string;
  name: string;
  regions: string[];
}

export interface DiscoveryScope {
  accountId: string;
  regionId: string;
  resourceType: string;
}

/** A durable, ordered feed of change notifications read from a cursor. */
export interface ChangeFeed {
  read(cursor: string | null, limit: number): Promise<{ changes: ResourceChange[]; cursor: string | null }>;
  /** Called (without data) whenever new changes may be readable; returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
}

export interface Provider {
  /** Stable name, used as the recorder's cursor key and on every recorded resource. */
  readonly name: string;
  listAccounts(): Promise<Account[]>;
  /** The resource types this provider can discover. */
  resourceTypes(): string[];
  /**
   * Every resource of one type in one account and region (a full snapshot of
   * that scope). With credentials, the read is authorised by the cloud's IAM.
   */
  discover(scope: DiscoveryScope, credentials?: ProviderCredentials): Promise<ResourceState[]>;
  /** One resource's current state, or null when it no longer exists. */
  describe(key: ResourceKey, credentials?: ProviderCredentials): Promise<ResourceState | null>;
  changeFeed?: ChangeFeed;
}

export function keyString(k: ResourceKey): string {
  return `${k.accountId}/${k.regionId}/${k.resourceType}/${k.resourceId}`;
}
