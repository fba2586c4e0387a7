/**
 * The catalogue of resource types: each type's facts in one file that
 * registers itself (its ARN, the permissions that read it, the keys that tell
 * its array items apart). Providers serve types from it; the engine asks it,
 * never a provider's internals, for what a type is.
 */
import type { ResourceTypeFacts } from '../types.js';

const types = new Map<string, ResourceTypeFacts>();

export function registerResourceTypeFacts(facts: ResourceTypeFacts): ResourceTypeFacts {
  if (types.has(facts.type)) throw new Error(`resource type ${facts.type} is registered twice`);
  if (!facts.readPermissions.includes(facts.readPermission)) throw new Error(`${facts.type}: readPermissions must include readPermission`);
  types.set(facts.type, facts);
  return facts;
}

export function resourceTypeFacts(type: string): ResourceTypeFacts | undefined {
  return types.get(type);
}

export function allResourceTypeFacts(): ResourceTypeFacts[] {
  return [...types.values()].sort((a, b) => a.type.localeCompare(b.type));
}

/** Every key any type uses to tell array items apart (for diffs), in the order the types registered: the first an item has wins. */
export function allIdKeys(): string[] {
  return [...new Set([...types.values()].flatMap((t) => t.idKeys))];
}
