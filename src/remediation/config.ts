/**
 * A rule's remediation configuration, as declared under `remediation:` in
 * the rule's YAML or in API bodies: a built-in action checked against the
 * action library, or a deployed function (Cloud Config's remediation by
 * Function Compute), invoked with the non-compliant resources as its event.
 */
import { z } from 'zod';
import { parameterValueSchema, checkJmespath, type ParameterValue } from './bindings.js';
import { allActions, remediationAction } from './registry.js';
import { FUNCTION_NAME } from '../functions/store.js';
import './actions/index.js';

/** How a function remediation is named where an action's name goes (the execution's action, the stored spec's action). */
export const FUNCTION_ACTION_PREFIX = 'function:';

/** The function an execution's action names (`function:NAME`), or undefined for a built-in action. */
export function functionOfAction(action: string): string | undefined {
  return action.startsWith(FUNCTION_ACTION_PREFIX) ? action.slice(FUNCTION_ACTION_PREFIX.length) : undefined;
}

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
  /**
   * The built-in action's name; for a function remediation `function:NAME`
   * (derived from `function`, what its executions record as their action).
   */
  action: string;
  /** The deployed function to invoke instead of an action (stored as written: FunctionStore.usedBy finds rules by it). */
  function?: string;
  /** The action's parameters; always empty for a function, which gets the resources as its event. */
  parameters: Record<string, ParameterValue>;
};

export interface RemediationIssue {
  path: (string | number)[];
  message: string;
}

/**
 * Validates a remediation for a rule covering `resourceTypes`. The action's
 * resource parameter (and region/account ones) are bound to the resource
 * unless given, so `{ action: ACS-OSS-PutBucketAcl }` alone works. A
 * function remediation (`function: NAME`) is checked by its name's syntax.
 */
export function validateRemediation(raw: unknown, resourceTypes: string[]): { spec?: RemediationSpec; issues: RemediationIssue[] } {
  const at = (...p: (string | number)[]) => ['remediation', ...p];
  const parsed = remediationSchema.safeParse(raw);
  if (!parsed.success) return { issues: parsed.error.issues.map((i) => ({ path: at(...(i.path as (string | number)[])), message: i.message })) };
  const r = parsed.data;
  if (r.function !== undefined) return validateFunctionRemediation(r);
  const issues: RemediationIssue[] = [];
  if (!r.action)
    return {
      issues: [
        {
          path: at('action'),
          message: `an action or a function is required: an action of ${allActions()
            .map((a) => a.name)
            .join(', ')}, or function: NAME of a deployed function`,
        },
      ],
    };
  if (functionOfAction(r.action) !== undefined)
    return { issues: [{ path: at('action'), message: `"${r.action}" names a function: write function: ${functionOfAction(r.action)} instead` }] };
  const action = remediationAction(r.action);
  if (!action)
    return {
      issues: [
        {
          path: at('action'),
          message: `unknown action "${r.action}"; the library has ${allActions()
            .map((a) => a.name)
            .join(', ')}`,
        },
      ],
    };
  if (!resourceTypes.some((t) => action.resourceTypes.includes(t)))
    issues.push({
      path: at('action'),
      message: `${action.name} fixes ${action.resourceTypes.join(', ')}, and the rule covers none of those (${resourceTypes.join(', ')})`,
    });
  const known = action.parameters instanceof z.ZodObject ? Object.keys(action.parameters.shape) : undefined;
  const parameters: Record<string, ParameterValue> = { ...r.parameters };
  for (const [name, v] of Object.entries(parameters)) {
    if (known && !known.includes(name))
      issues.push({ path: at('parameters', name), message: `${action.name} has no parameter "${name}"; it takes ${known.join(', ')}` });
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

/**
 * A function remediation: exactly one of action and function (an `action`
 * of `function:NAME` beside `function: NAME`, as a stored spec shows it, is
 * accepted back). The function gets the non-compliant resources as its event,
 * the JSON text Cloud Config passes ([{ accountId, regionId, resourceId,
 * resourceType, configRuleId, configRuleName }]), and runs as its own role
 * (set when it is deployed), so neither parameters nor an execution role
 * apply. Whether the function is deployed is not known here: see
 * checkRemediationFunction.
 */
function validateFunctionRemediation(r: z.output<typeof remediationSchema>): { spec?: RemediationSpec; issues: RemediationIssue[] } {
  const at = (...p: (string | number)[]) => ['remediation', ...p];
  const name = r.function!;
  const issues: RemediationIssue[] = [];
  if (!FUNCTION_NAME.test(name))
    issues.push({ path: at('function'), message: `"${name}" is not a function name: a letter, then letters, digits, "_" or "-" (at most 64)` });
  if (r.action !== undefined && r.action !== `${FUNCTION_ACTION_PREFIX}${name}`)
    issues.push({ path: at('action'), message: 'give an action or a function, not both: the function is the remediation' });
  if (Object.keys(r.parameters).length)
    issues.push({
      path: at('parameters'),
      message: `a function takes no parameters: it is invoked with the non-compliant resources as its event (accountId, regionId, resourceId, resourceType, configRuleId, configRuleName); put settings in the function's environment instead`,
    });
  if (r.executionRole !== undefined)
    issues.push({
      path: at('executionRole'),
      message: `a function runs as its own role, set when it is deployed (role:); executionRole is for built-in actions`,
    });
  if (issues.length) return { issues };
  const { function: _f, action: _a, executionRole: _e, ...rest } = r;
  return { spec: { ...rest, action: `${FUNCTION_ACTION_PREFIX}${name}`, function: name, parameters: {} }, issues: [] };
}

/** Looks functions up by name (FunctionStore.get): throws when there is none. */
export interface FunctionLookup {
  get(name: string): Promise<{ name: string; latestVersion: number }>;
}

/**
 * Where rules are created (API, policy apply): a remediation naming a
 * function that is not deployed, as an issue at remediation.function;
 * undefined when it is deployed or the remediation is an action.
 */
export async function checkRemediationFunction(spec: RemediationSpec | undefined, functions: FunctionLookup): Promise<RemediationIssue | undefined> {
  if (!spec?.function) return undefined;
  try {
    await functions.get(spec.function);
    return undefined;
  } catch (err) {
    if ((err as Error).name !== 'FunctionNotFoundError') throw err;
    return {
      path: ['remediation', 'function'],
      message: `no function named "${spec.function}" is deployed; deploy it first (confix function deploy ${spec.function} --file …)`,
    };
  }
}
