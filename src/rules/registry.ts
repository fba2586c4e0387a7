import type { z } from 'zod';
import type { ManagedRule, ParameterDoc } from './types.js';

const rules = new Map<string, ManagedRule>();
const canonical = new Map<string, string>();

/** What a parameter's schema says of it in `.meta()`. */
interface ParameterMeta {
  description?: string;
  required?: boolean;
  default?: unknown;
  example?: unknown;
}

/** The parameters' docs, read from their schemas' metadata; a parameter without a description is a defect. */
function parameterDocs(identifier: string, schema: z.ZodType): Record<string, ParameterDoc> {
  const shape = (schema as unknown as { shape?: Record<string, z.ZodType> }).shape ?? {};
  const docs: Record<string, ParameterDoc> = {};
  for (const [name, field] of Object.entries(shape)) {
    const m = (field.meta() ?? {}) as ParameterMeta;
    if (!m.description) throw new Error(`managed rule ${identifier}: parameter ${name} has no description (.meta({ description }))`);
    docs[name] = {
      description: m.description,
      required: m.required === true,
      ...(m.default !== undefined ? { default: String(m.default) } : {}),
      ...(m.example !== undefined ? { example: String(m.example) } : {}),
    };
  }
  return docs;
}

export function registerManagedRule<P>(rule: Omit<ManagedRule<P>, 'parameterDocs'>): void {
  for (const id of [rule.identifier, ...(rule.aliases ?? [])]) {
    if (canonical.has(id)) throw new Error(`managed rule ${id} registered twice`);
    canonical.set(id, rule.identifier);
  }
  rules.set(rule.identifier, { ...rule, parameterDocs: parameterDocs(rule.identifier, rule.parameters) } as ManagedRule);
}

/** The managed rule an identifier (or alias) names. */
export function managedRule(identifier: string): ManagedRule | undefined {
  const id = canonical.get(identifier);
  return id ? rules.get(id) : undefined;
}

export function allManagedRules(): ManagedRule[] {
  return [...rules.values()];
}
