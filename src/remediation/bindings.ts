/**
 * Remediation parameters: static values, or bound to the resource
 * ({ resourceValue: RESOURCE_ID | REGION_ID | ACCOUNT_ID }) or to its
 * configuration ({ jmespath: "…" }, evaluated as the clouds' consoles do).
 */
import jmespath from 'jmespath';
import { z } from 'zod';
import type { Configuration, ResourceKey } from '../providers/types.js';

// jmespath's parser is exported but not in its type declarations.
const { compile, search } = jmespath as unknown as { compile(expr: string): unknown; search(doc: unknown, expr: string): unknown };

export const bindingSchema = z.union([
  z.strictObject({ resourceValue: z.enum(['RESOURCE_ID', 'REGION_ID', 'ACCOUNT_ID']) }),
  z.strictObject({ jmespath: z.string().min(1) }),
  z.strictObject({ staticValue: z.unknown() }),
]);

export const parameterValueSchema = z.union([bindingSchema, z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number()]))]);

export type Binding = z.output<typeof bindingSchema>;
export type ParameterValue = z.output<typeof parameterValueSchema>;

/** Throws with the parser's message when a JMESPath expression does not compile. */
export function checkJmespath(expr: string): void {
  try {
    compile(expr);
  } catch (err) {
    throw new Error(`JMESPath expression does not compile: ${(err as Error).message}`);
  }
}

function isBinding(v: ParameterValue): v is Binding {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The parameter values for one resource: bindings resolved, static values as given. */
export function resolveParameters(params: Record<string, ParameterValue>, resource: ResourceKey & { configuration: Configuration }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(params)) {
    if (!isBinding(v)) out[name] = v;
    else if ('resourceValue' in v)
      out[name] = v.resourceValue === 'RESOURCE_ID' ? resource.resourceId : v.resourceValue === 'REGION_ID' ? resource.regionId : resource.accountId;
    else if ('jmespath' in v) out[name] = search(resource.configuration, v.jmespath);
    else out[name] = v.staticValue;
  }
  return out;
}
