/**
 * Automatic remediation: a result that turns NON_COMPLIANT under a rule
 * whose remediation is AUTO_EXECUTION queues an execution at once, due after
 * the grace period (delaySeconds). The execution re-evaluates before acting,
 * so a resource its owner fixed during the grace period is left alone.
 * Resources with an unexpired remediation exception are passed by. While the
 * rule's automatic remediation is paused (error control), executions are
 * still queued, and wait until it is resumed.
 */
import type { Evaluator, ComplianceChange } from '../evaluation/evaluator.js';
import type { RuleStore } from '../rules/store.js';
import { silentLogger, type Logger } from '../util/log.js';
import { remediationAction } from './registry.js';
import { ExecutionExistsError, type ExecutionStore } from './executions.js';
import type { RemediationWorker } from './worker.js';
import { describeException, type ExceptionStore } from './exceptions.js';

export function attachAutoRemediation(
  evaluator: Evaluator,
  deps: { rules: RuleStore; executions: ExecutionStore; exceptions: ExceptionStore; worker: RemediationWorker; log?: Logger },
): () => void {
  const log = deps.log ?? silentLogger;
  const onChange = (c: ComplianceChange) => {
    if (c.current !== 'NON_COMPLIANT') return;
    void (async () => {
      const rule = await deps.rules.get(c.ruleId);
      const spec = rule.remediation;
      if (!spec || spec.invokeType !== 'AUTO_EXECUTION') return;
      // A function is given whatever the rule covers; an action, only what it fixes.
      if (!spec.function && !remediationAction(spec.action)?.resourceTypes.includes(c.resourceType)) return;
      const exempt = await deps.exceptions.active(rule.ruleId, c);
      if (exempt) {
        log.info('automatic remediation skipped', { rule: rule.name, resourceId: c.resourceId, why: describeException(exempt) });
        return;
      }
      try {
        const x = await deps.executions.enqueue({
          ruleId: rule.ruleId,
          key: c,
          action: spec.action,
          trigger: 'AUTOMATIC',
          notBefore: new Date(Date.now() + spec.delaySeconds * 1000),
          awaitingApproval: spec.approval === 'required',
        });
        log.info(x.status === 'AWAITING_APPROVAL' ? 'automatic remediation awaits approval' : 'automatic remediation queued', { executionId: x.executionId, rule: rule.name, resourceId: c.resourceId });
        deps.worker.wake();
      } catch (err) {
        if (!(err instanceof ExecutionExistsError)) throw err; // one is already on its way
      }
    })().catch((err: Error) => log.error('queueing an automatic remediation failed', { rule: c.ruleName, resourceId: c.resourceId, err }));
  };
  // A resource that changed while still non-compliant is tried again, even
  // after its automatic attempts ran out.
  evaluator.on('compliance-change', onChange);
  evaluator.on('still-non-compliant', onChange);
  return () => {
    evaluator.off('compliance-change', onChange);
    evaluator.off('still-non-compliant', onChange);
  };
}
