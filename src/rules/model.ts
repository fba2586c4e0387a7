/**
 * The rule model: the schema of a rule as people write it (API bodies and
 * policy files), its semantic checks against the managed-rule library and
 * the CEL compiler, and the stored form.
 */
import { z } from 'zod';
import { managedRule, allManagedRules } from './registry.js';
import { compileCelRule, CelCompileError } from './cel.js';
import type { RiskLevel } from './types.js';
import './managed/index.js';
import { validateRemediation, type RemediationSpec } from '../remediation/config.js';
import { ConfixError } from '../errors.js';

/** The clouds' named frequencies, in seconds. */
export const FREQUENCIES: Record<string, number> = {
  One_Hour: 3600,
  Three_Hours: 3 * 3600,
  Six_Hours: 6 * 3600,
  Twelve_Hours: 12 * 3600,
  TwentyFour_Hours: 24 * 3600,
};

/** "One_Hour", or a duration like "90s", "15m", "2h", "1d". */
export function frequencySeconds(f: string): number | undefined {
  if (f in FREQUENCIES) return FREQUENCIES[f];
  const m = /^(\d+)\s*(s|m|h|d)$/.exec(f.trim());
  if (!m) return undefined;
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

const frequency = z.string().refine((f) => (frequencySeconds(f) ?? 0) >= 10, {
  message: `a frequency: ${Object.keys(FREQUENCIES).join(', ')}, or a duration of at least 10s like "15m" or "2h"`,
});

export type Trigger = { type: 'ConfigurationChange' } | { type: 'Periodic'; frequency: string };

/** A trigger as stored and answered. */
export const storedTriggerSchema = z.union([
  z.strictObject({ type: z.literal('ConfigurationChange') }),
  z.strictObject({ type: z.literal('Periodic'), frequency: z.string() }),
]);

/** A trigger as written: the stored shape, or the clouds' shorthands. */
const triggerSchema = z.union([
  z.literal('ConfigurationChange').transform((): Trigger => ({ type: 'ConfigurationChange' })),
  z.literal('Periodic').transform((): Trigger => ({ type: 'Periodic', frequency: 'TwentyFour_Hours' })),
  z.strictObject({ type: z.literal('ConfigurationChange') }),
  z.strictObject({ type: z.literal('Periodic'), frequency: frequency.default('TwentyFour_Hours') }),
  z.strictObject({ Periodic: frequency }).transform((t): Trigger => ({ type: 'Periodic', frequency: t.Periodic })),
]);

export const RULE_STATES = ['ACTIVE', 'INACTIVE'] as const;

export const ruleSourceSchema = z.union(
  [
    z.strictObject({ managed: z.string().min(1) }),
    z.strictObject({ cel: z.string().min(1) }),
    z.strictObject({ function: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, 'the name of a deployed function') }),
  ],
  { error: 'one of { managed: IDENTIFIER }, { cel: EXPRESSION } or { function: NAME }' },
);

export const riskLevelSchema = z.union([z.literal(1), z.literal(2), z.literal(3)], { error: '1 (critical), 2 (warning) or 3 (info)' });

const paramValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number()]))]);

export const scopeSchema = z.strictObject({
  resourceTypes: z.array(z.string().min(1)).min(1).optional(),
  regions: z.array(z.string().min(1)).min(1).optional(),
  tag: z.strictObject({ key: z.string().min(1), value: z.string().optional() }).optional(),
  excludedResourceIds: z.array(z.string().min(1)).optional(),
  accounts: z
    .array(z.string().regex(/^\d{12}$/, 'a 12-digit account id'))
    .min(1)
    .optional(),
  accountGroup: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'the name of an account group')
    .optional()
    .describe("Only the resources of this account group's member accounts"),
});

export const ruleSpecSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'a name of letters, digits, ".", "_" and "-" (at most 128)'),
  description: z.string().default(''),
  source: ruleSourceSchema,
  parameters: z.record(z.string(), paramValue).default({}),
  scope: scopeSchema.default({}),
  triggers: z
    .array(triggerSchema)
    .min(1)
    .default([{ type: 'ConfigurationChange' }]),
  riskLevel: riskLevelSchema.optional(),
  state: z.enum(RULE_STATES).default('ACTIVE'),
  remediation: z.unknown().optional(),
});

export type RuleSpecInput = z.input<typeof ruleSpecSchema>;

export interface RuleScope {
  resourceTypes: string[];
  regions?: string[];
  tag?: { key: string; value?: string };
  excludedResourceIds?: string[];
  accounts?: string[];
  /**
   * Only the resources of this account group's member accounts (and, with
   * `accounts` too, only those of both). Whether the group exists is checked
   * where rules are created (API, policy apply), not here.
   */
  accountGroup?: string;
}

/** A rule after validation: what is stored and what the evaluator compiles. */
export interface RuleSpec {
  name: string;
  description: string;
  /** A managed rule, a CEL expression, or a deployed function (a custom rule as Function Compute and Lambda run them). */
  source: { managed: string } | { cel: string } | { function: string };
  /** As the clouds pass them: strings (lists comma-separated). */
  parameters: Record<string, string>;
  scope: RuleScope;
  triggers: Trigger[];
  riskLevel: RiskLevel;
  state: 'ACTIVE' | 'INACTIVE';
  /** How non-compliant resources of this rule are fixed, if they are. */
  remediation?: RemediationSpec;
}

export interface Rule extends RuleSpec {
  ruleId: string;
  origin: 'api' | 'policy';
  version: number;
  createdAt: string;
  updatedAt: string;
  lastEvaluatedAt: string | null;
}

export interface RuleIssue {
  path: (string | number)[];
  message: string;
}

export class RuleValidationError extends ConfixError {
  constructor(
    readonly ruleName: string | undefined,
    override readonly issues: RuleIssue[],
  ) {
    super(
      'InvalidRule',
      'invalid',
      `rule${ruleName ? ` ${ruleName}` : ''} is invalid: ` + issues.map((i) => `${i.path.join('.') || '(rule)'}: ${i.message}`).join('; '),
      {
        issues,
      },
    );
  }
}

function paramString(v: z.infer<typeof paramValue>): string {
  return Array.isArray(v) ? v.join(',') : String(v);
}

/** Validates a rule as written and returns its normalised form, or throws RuleValidationError naming every problem. */
export function validateRule(raw: unknown): RuleSpec {
  const parsed = ruleSpecSchema.safeParse(raw);
  const name = typeof (raw as { name?: unknown })?.name === 'string' ? (raw as { name: string }).name : undefined;
  if (!parsed.success)
    throw new RuleValidationError(
      name,
      parsed.error.issues.map((i) => ({ path: i.path as (string | number)[], message: i.message })),
    );
  const r = parsed.data;
  const issues: RuleIssue[] = [];
  const parameters = Object.fromEntries(Object.entries(r.parameters).map(([k, v]) => [k, paramString(v)]));
  let resourceTypes = r.scope.resourceTypes;
  let riskLevel: RiskLevel = r.riskLevel ?? 2;
  if ('managed' in r.source) {
    const m = managedRule(r.source.managed);
    if (!m) {
      issues.push({
        path: ['source', 'managed'],
        message: `unknown managed rule "${r.source.managed}"; the library has ${allManagedRules()
          .map((x) => x.identifier)
          .join(', ')}`,
      });
    } else {
      // Defaults first, so a missing optional parameter takes the documented default.
      const withDefaults = {
        ...Object.fromEntries(
          Object.entries(m.parameterDocs)
            .filter(([, d]) => d.default !== undefined)
            .map(([k, d]) => [k, d.default!]),
        ),
        ...parameters,
      };
      const p = m.parameters.safeParse(withDefaults);
      if (!p.success) for (const i of p.error.issues) issues.push({ path: ['parameters', ...(i.path as (string | number)[])], message: i.message });
      else Object.assign(parameters, withDefaults);
      resourceTypes ??= m.resourceTypes;
      const foreign = resourceTypes.filter((t) => !m.resourceTypes.includes(t));
      if (foreign.length)
        issues.push({ path: ['scope', 'resourceTypes'], message: `${m.identifier} evaluates ${m.resourceTypes.join(', ')}, not ${foreign.join(', ')}` });
      riskLevel = r.riskLevel ?? m.defaultRiskLevel;
    }
  } else if ('function' in r.source) {
    // Whether the function is deployed is seen at evaluation (INSUFFICIENT_DATA saying so): functions and rules are deployed in either order.
    if (!resourceTypes) issues.push({ path: ['scope', 'resourceTypes'], message: 'a custom rule needs the resource types it evaluates' });
  } else {
    try {
      compileCelRule(r.source.cel);
    } catch (err) {
      issues.push({ path: ['source', 'cel'], message: err instanceof CelCompileError ? err.message : (err as Error).message });
    }
    if (!resourceTypes) issues.push({ path: ['scope', 'resourceTypes'], message: 'a custom rule needs the resource types it evaluates' });
  }
  let remediation: RemediationSpec | undefined;
  if (r.remediation !== undefined && r.remediation !== null) {
    const v = validateRemediation(r.remediation, resourceTypes ?? []);
    issues.push(...v.issues);
    remediation = v.spec;
  }
  if (issues.length) throw new RuleValidationError(r.name, issues);
  const scope: RuleScope = { resourceTypes: resourceTypes! };
  if (r.scope.regions) scope.regions = r.scope.regions;
  if (r.scope.tag) scope.tag = r.scope.tag;
  if (r.scope.excludedResourceIds?.length) scope.excludedResourceIds = r.scope.excludedResourceIds;
  if (r.scope.accounts) scope.accounts = r.scope.accounts;
  if (r.scope.accountGroup) scope.accountGroup = r.scope.accountGroup;
  const spec: RuleSpec = { name: r.name, description: r.description, source: r.source, parameters, scope, triggers: r.triggers, riskLevel, state: r.state };
  if (remediation) spec.remediation = remediation;
  return spec;
}
