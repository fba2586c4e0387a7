/** A rule made ready to run: parameters parsed and expressions compiled once. */
import type { Rule } from '../rules/model.js';
import { frequencySeconds } from '../rules/model.js';
import { managedRule } from '../rules/registry.js';
import { compileCelRule } from '../rules/cel.js';
import type { EvaluationInput, Verdict } from '../rules/types.js';
import type { Tags } from '../providers/types.js';

export interface ScopeSubject {
  accountId: string;
  regionId: string;
  resourceId: string;
  tags: Tags;
}

export interface CompiledRule {
  rule: Rule;
  types: Set<string>;
  onChange: boolean;
  /** Shortest periodic frequency, in seconds, if the rule is periodic. */
  periodicSeconds?: number;
  inScope(r: ScopeSubject): boolean;
  /** Judges one resource; throws for a rule whose judge is a function (`external`). */
  evaluate(input: EvaluationInput): Verdict;
  /** Set when a deployed function judges the rule's resources: invoked asynchronously, its verdicts written when it answers. */
  external?: { functionName: string };
}

/**
 * Compiles a rule. `groups` holds each account group's member accounts as
 * resolved when the rules were loaded: a rule scoped to a group judges only
 * those accounts' resources (a group missing from it holds none).
 */
export function compileRule(rule: Rule, groups?: ReadonlyMap<string, ReadonlySet<string>>): CompiledRule {
  let evaluate: (input: EvaluationInput) => Verdict;
  let external: CompiledRule['external'];
  if ('function' in rule.source) {
    const fn = rule.source.function;
    external = { functionName: fn };
    evaluate = () => {
      throw new Error(`rule ${rule.name} is judged by function ${fn}, asynchronously; read its stored result`);
    };
  } else if ('managed' in rule.source) {
    const m = managedRule(rule.source.managed);
    if (!m) throw new Error(`rule ${rule.name}: managed rule ${rule.source.managed} is not in this confix`);
    const params = m.parameters.parse(rule.parameters);
    evaluate = (input) => m.evaluate(input, params);
  } else {
    const cel = compileCelRule(rule.source.cel);
    evaluate = (input) => cel.evaluate(input, rule.parameters);
  }
  const s = rule.scope;
  const regions = s.regions ? new Set(s.regions) : undefined;
  const accounts = s.accounts ? new Set(s.accounts) : undefined;
  const members = s.accountGroup !== undefined ? (groups?.get(s.accountGroup) ?? new Set<string>()) : undefined;
  const excluded = s.excludedResourceIds?.length ? new Set(s.excludedResourceIds) : undefined;
  const periods = rule.triggers.flatMap((t) => (t.type === 'Periodic' ? [frequencySeconds(t.frequency) ?? 86400] : []));
  return {
    rule,
    types: new Set(s.resourceTypes),
    onChange: rule.triggers.some((t) => t.type === 'ConfigurationChange'),
    periodicSeconds: periods.length ? Math.min(...periods) : undefined,
    inScope(r) {
      if (regions && !regions.has(r.regionId)) return false;
      if (accounts && !accounts.has(r.accountId)) return false;
      if (members && !members.has(r.accountId)) return false;
      if (excluded?.has(r.resourceId)) return false;
      if (s.tag) {
        const v = r.tags[s.tag.key];
        if (v === undefined || (s.tag.value !== undefined && v !== s.tag.value)) return false;
      }
      return true;
    },
    evaluate,
    ...(external ? { external } : {}),
  };
}
