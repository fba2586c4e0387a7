/**
 * A rule's remediation configuration, as declared under `remediation:` in
 * the rule's YAML or in API bodies, checked against the action library.
 */
import { z } from 'zod';
import { parameterValueSchema, checkJmespath, type ParameterValue } from './bindings.js';
import { allActions, remediationAction } from './registry.js';
import './actions/index.js';

export const remediationSchema = z.strictObject({
  action: z.string().min(1).optional(),
  function: z.string().min(1).optional(),
  parameters: z.record(z.string(), parameterValueSchema).default({}),
  invokeType: z.enum(['AUTO_EXECUTION', 'MANUAL_EXECUTION']).default('MANUAL_EXECUTION'),
  maximumAutomaticAttempts: z.int().min(1).max(25).default(5),
  retryAttemptSeconds: z.int().min(1).max(86_400).default(60),
  delaySeconds: z.int().min(0).max(86_400).default(0),
  approval: z.enum(['none', 'required']).default('none'),
  executionControls: z
    .strictObject({
      concurrency: z.int().min(1).max(1000).default(10),
      perMinute: z.int().min(1).max(100_000).default(600),
      errorPercentage: z.int().min(1).max(100).default(50),
    })
    .default({ concurrency: 10, perMinute: 600, errorPercentage: 50 }),
  executionRole: z.string().min(1).optional(),
});

export type RemediationSpec = Omit<z.output<typeof remediationSchema>, 'parameters' | 'function'> & {
  action: string;
  parameters: Record<string, ParameterValue>;
};

export interface RemediationIssue {
  path: (string | number)[];
  message: string;
}

/**
 * Validates a remediation for a rule covering `resourceTypes`. The action's
 * resource parameter (and region/account ones) are bound to the resource
 * unless given, so `{ action: ACS-OSS-PutBucketAcl }` alone works.
 */
export function validateRemediation(raw: unknown, resourceTypes: string[]): { spec?: RemediationSpec; issues: RemediationIssue[] } {
  const at = (...p: (string | number)[]) => ['remediation', ...p];
  const parsed = remediationSchema.safeParse(raw);
  if (!parsed.success) return { issues: parsed.error.issues.map((i) => ({ path: at(...(i.path as (string | number)[])), message: i.message })) };
  const r = parsed.data;
  const issues: RemediationIssue[] = [];
  if (r.function) return { issues: [{ path: at('function'), message: 'remediation by function is not available yet; use a built-in action' }] };
  if (!r.action) return { issues: [{ path: at('action'), message: `an action is required: one of ${allActions().map((a) => a.name).join(', ')}` }] };
  const action = remediationAction(r.action);
  if (!action) return { issues: [{ path: at('action'), message: `unknown action "${r.action}"; the library has ${allActions().map((a) => a.name).join(', ')}` }] };
  if (!resourceTypes.some((t) => action.resourceTypes.includes(t)))
    issues.push({ path: at('action'), message: `${action.name} fixes ${action.resourceTypes.join(', ')}, and the rule covers none of those (${resourceTypes.join(', ')})` });
  const known = action.parameters instanceof z.ZodObject ? Object.keys(action.parameters.shape) : undefined;
  const parameters: Record<string, ParameterValue> = { ...r.parameters };
  for (const [name, v] of Object.entries(parameters)) {
    if (known && !known.includes(name)) issues.push({ path: at('parameters', name), message: `${action.name} has no parameter "${name}"; it takes ${known.join(', ')}` });
    if (typeof v === 'object' && v !== null && !Array.isArray(v) && 'jmespath' in v) {
      try {
        checkJmespath(v.jmespath);
      } catch (err) {
        issues.push({ path: at('parameters', name, 'jmespath'), message: (err as Error).message });
      }
    }
  }
  parameters[action.resourceParameter] ??= { resourceValue: 'RESOURCE_ID' };
  for (const [name, value] of Object.entries(action.defaultBindings ?? {})) parameters[name] ??= { resourceValue: value };
  if (issues.length) return { issues };
  const { function: _f, ...rest } = r;
  return { spec: { ...rest, action: action.name, parameters }, issues: [] };
}
