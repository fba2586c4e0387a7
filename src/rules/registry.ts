import type { ManagedRule } from './types.js';

const rules = new Map<string, ManagedRule>();
const canonical = new Map<string, string>();

export function registerManagedRule<P>(rule: ManagedRule<P>): void {
  for (const id of [rule.identifier, ...(rule.aliases ?? [])]) {
    if (canonical.has(id)) throw new Error(`managed rule ${id} registered twice`);
    canonical.set(id, rule.identifier);
  }
  rules.set(rule.identifier, rule as ManagedRule);
}

/** The managed rule an identifier (or alias) names. */
export function managedRule(identifier: string): ManagedRule | undefined {
  const id = canonical.get(identifier);
  return id ? rules.get(id) : undefined;
}

export function allManagedRules(): ManagedRule[] {
  return [...rules.values()];
}
