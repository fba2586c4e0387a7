/**
 * Where rules are created (API, policy apply): the functions a rule names —
 * its judge (`source.function`) and its remediation (`remediation.function`)
 * — must be deployed, as the clouds ask for an existing function's ARN.
 */
import { checkRemediationFunction, type FunctionLookup } from '../remediation/config.js';
import type { RuleIssue, RuleSpec } from './model.js';

export async function ruleFunctionIssues(spec: RuleSpec, functions: FunctionLookup): Promise<RuleIssue[]> {
  const out: RuleIssue[] = [];
  if ('function' in spec.source) {
    const name = spec.source.function;
    const ok = await functions.get(name).then(
      () => true,
      (err: Error) => {
        if (err.name !== 'FunctionNotFoundError') throw err;
        return false;
      },
    );
    if (!ok)
      out.push({ path: ['source', 'function'], message: `no function named "${name}" is deployed; deploy it first (confix function deploy ${name} --file …)` });
  }
  const r = await checkRemediationFunction(spec.remediation, functions);
  if (r) out.push(r);
  return out;
}
