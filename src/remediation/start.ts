/**
 * Starting remediations by hand (the clouds' "Remediate" button and
 * StartRemediationExecution): queue one execution per resource, and say for
 * each resource that could not be queued why not.
 */
import type { Inventory } from '../inventory/index.js';
import type { RuleStore } from '../rules/store.js';
import type { ComplianceViews } from '../evaluation/compliance.js';
import { remediationAction } from './registry.js';
import { checkRemediationFunction, functionOfAction, type FunctionLookup } from './config.js';
import { ExecutionExistsError, type Execution, type ExecutionStore, type ExecutionTrigger } from './executions.js';
import { describeException, type ExceptionStore } from './exceptions.js';
import { keyString, type ResourceKey } from '../providers/types.js';
import { chunks } from '../store/index.js';
import { ConfixError } from '../errors.js';

export interface StartRequest {
  rule: string;
  resourceIds?: string[];
  /** Resources by id narrowed by account, region or type (an id alone may name several). */
  resources?: (Partial<ResourceKey> & { resourceId: string })[];
  allNonCompliant?: boolean;
  dryRun?: boolean;
  trigger?: ExecutionTrigger;
  /** Queue to run even if the remediation requires approval (a one-shot scan with --remediate). */
  skipApproval?: boolean;
}

export interface StartResult {
  queued: Execution[];
  failed: { resourceId: string; reason: string }[];
}

export class StartError extends ConfixError {
  constructor(message: string) {
    super('CannotRemediate', 'invalid', message);
  }
}

export async function startRemediation(
  deps: {
    rules: RuleStore;
    inventory: Inventory;
    compliance: ComplianceViews;
    executions: ExecutionStore;
    exceptions: ExceptionStore;
    functions?: FunctionLookup;
  },
  req: StartRequest,
): Promise<StartResult> {
  const rule = await deps.rules.get(req.rule);
  if (!rule.remediation) throw new StartError(`rule ${rule.name} has no remediation; declare one under remediation: in the rule`);
  // A function remediation fixes whatever the rule covers; an action, only what it fixes.
  const action = rule.remediation.function ? undefined : remediationAction(rule.remediation.action)!;
  if (deps.functions) {
    const missing = await checkRemediationFunction(rule.remediation, deps.functions);
    if (missing) throw new StartError(`rule ${rule.name}: ${missing.message}`);
  }
  if (!req.allNonCompliant && !req.resourceIds?.length && !req.resources?.length) throw new StartError('name resources, or ask for all non-compliant ones');
  const out: StartResult = { queued: [], failed: [] };
  const targets: { resourceId: string; key?: { accountId: string; regionId: string; resourceType: string; resourceId: string } }[] = [];
  if (req.allNonCompliant) {
    const nc = await deps.compliance.results({ ruleId: rule.ruleId, complianceType: 'NON_COMPLIANT', limit: 10000 });
    for (const r of nc.items) targets.push({ resourceId: r.resourceId, key: r });
  }
  for (const { resourceId: id, ...narrow } of [...(req.resourceIds ?? []).map((resourceId) => ({ resourceId })), ...(req.resources ?? [])]) {
    try {
      const r = await deps.inventory.resolve(id, narrow);
      targets.push({ resourceId: id, key: r });
    } catch (err) {
      out.failed.push({ resourceId: id, reason: (err as Error).message });
    }
  }
  const eligible: { resourceId: string; key: ResourceKey }[] = [];
  for (const t of targets) {
    const key = t.key!;
    if (!rule.scope.resourceTypes.includes(key.resourceType))
      out.failed.push({ resourceId: t.resourceId, reason: `rule ${rule.name} does not cover ${key.resourceType}` });
    else if (action && !action.resourceTypes.includes(key.resourceType))
      out.failed.push({ resourceId: t.resourceId, reason: `${action.name} does not fix ${key.resourceType}` });
    else
      eligible.push({
        resourceId: t.resourceId,
        key: { accountId: key.accountId, regionId: key.regionId, resourceType: key.resourceType, resourceId: key.resourceId },
      });
  }
  // In batches: a bulk "remediate all" is a few statements, not several per resource.
  for (const batch of chunks(eligible, 1000)) {
    const exempt = await deps.exceptions.activeMany(
      rule.ruleId,
      batch.map((t) => t.key),
    );
    const todo = batch.filter((t) => {
      const x = exempt.get(keyString(t.key));
      if (x) out.failed.push({ resourceId: t.resourceId, reason: describeException(x) });
      return !x;
    });
    const { queued, existing } = await deps.executions.enqueueMany({
      ruleId: rule.ruleId,
      keys: todo.map((t) => t.key),
      action: rule.remediation.action,
      trigger: req.trigger ?? 'MANUAL',
      dryRun: req.dryRun,
      // A dry run changes nothing, so it needs nobody's approval.
      awaitingApproval: rule.remediation.approval === 'required' && !req.dryRun && !req.skipApproval,
    });
    out.queued.push(...queued);
    const done = new Set(queued.map((x) => keyString(x)));
    for (const t of todo) {
      if (done.has(keyString(t.key))) continue;
      out.failed.push({ resourceId: t.resourceId, reason: new ExecutionExistsError(existing.get(keyString(t.key)) ?? '(finished meanwhile)').message });
    }
  }
  return out;
}

/** Queues the rollback of a successful execution, as a new execution that links back to it. */
export async function startRollback(deps: { executions: ExecutionStore }, executionId: string, trigger: ExecutionTrigger = 'MANUAL'): Promise<Execution> {
  const original = await deps.executions.get(executionId);
  const fn = functionOfAction(original.action);
  if (fn !== undefined)
    throw new StartError(
      `${executionId} invoked function ${fn}: what a function changes is its own business, and confix recorded no prior state to restore, so it cannot be rolled back; undo it by hand or with another function`,
    );
  const action = remediationAction(original.action);
  if (original.rollbackOf) throw new StartError(`${executionId} is itself a rollback; remediate again instead`);
  if (original.status !== 'SUCCEEDED') throw new StartError(`${executionId} is ${original.status}; only a SUCCEEDED execution can be rolled back`);
  if (original.dryRun) throw new StartError(`${executionId} was a dry run and changed nothing`);
  if (original.priorState === null || original.priorState === undefined)
    throw new StartError(`${executionId} changed nothing (it stopped before applying), so there is nothing to roll back`);
  if (!action?.rollback) throw new StartError(`${original.action} cannot be rolled back`);
  try {
    return await deps.executions.enqueue({
      ruleId: original.ruleId,
      key: original,
      action: original.action,
      trigger,
      rollbackOf: original.executionId,
    });
  } catch (err) {
    if (err instanceof ExecutionExistsError) throw new StartError(err.message);
    throw err;
  }
}
