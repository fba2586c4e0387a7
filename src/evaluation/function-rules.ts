/**
 * Custom rules judged by deployed functions (`source: { function: NAME }`),
 * the way Cloud Config and AWS Config run custom rules on Function Compute
 * and Lambda: the evaluator hands over each resource to judge; the runner
 * queues an invocation with an event like the clouds' (the rule, its
 * parameters, the configuration item), and when the function answers writes
 * its verdict. The function returns `{ complianceType, annotation }` (or just
 * the compliance type); a failure or any other answer is INSUFFICIENT_DATA,
 * saying why.
 */
import { createHash } from 'node:crypto';
import { keyString } from '../providers/types.js';
import { COMPLIANCE_TYPES, type ComplianceType, type Verdict } from '../rules/types.js';
import { silentLogger, type Logger } from '../util/log.js';
import { FINAL, type Invocation, type InvocationStore } from '../functions/invocations.js';
import { FunctionNotFoundError, type FunctionStore } from '../functions/store.js';
import type { FunctionWorker } from '../functions/worker.js';
import type { Evaluator, FunctionRuleRequest } from './evaluator.js';

/** What the function receives. */
export interface FunctionRuleEvent {
  version: '1.0';
  configRuleId: string;
  configRuleName: string;
  /** As the clouds pass them: strings. */
  ruleParameters: Record<string, string>;
  invokingEvent: {
    messageType: FunctionRuleRequest['messageType'];
    notificationCreationTime: string;
    configurationItem: {
      accountId: string;
      regionId: string;
      resourceType: string;
      resourceId: string;
      resourceName: string | null;
      tags: Record<string, string>;
      configuration: Record<string, unknown>;
      configurationItemId: number;
      configurationItemCaptureTime: string;
    };
  };
}

/** The function's answer as a verdict. */
export function verdictOf(inv: Pick<Invocation, 'status' | 'result' | 'error' | 'functionName' | 'version'>): Verdict {
  const fn = `function ${inv.functionName} (version ${inv.version})`;
  if (inv.status !== 'SUCCEEDED') {
    const e = inv.error;
    return {
      complianceType: 'INSUFFICIENT_DATA',
      annotation: `${fn} ${inv.status === 'TIMED_OUT' ? 'timed out' : inv.status === 'CANCELLED' ? 'was cancelled' : 'failed'}${e ? `: ${e.type}: ${e.message}` : ''}`,
    };
  }
  const r = inv.result as unknown;
  const type = typeof r === 'string' ? r : r && typeof r === 'object' ? (r as { complianceType?: unknown }).complianceType : undefined;
  if (typeof type !== 'string' || !COMPLIANCE_TYPES.includes(type as ComplianceType))
    return {
      complianceType: 'INSUFFICIENT_DATA',
      annotation: `${fn} answered ${JSON.stringify(r)?.slice(0, 200) ?? 'nothing'}; a rule's function returns { complianceType: ${COMPLIANCE_TYPES.join(' | ')}, annotation }`,
    };
  const note = r && typeof r === 'object' ? (r as { annotation?: unknown }).annotation : undefined;
  return { complianceType: type as ComplianceType, annotation: typeof note === 'string' && note ? note.slice(0, 1024) : `judged by ${fn}` };
}

export class FunctionRuleRunner {
  /** Invocations queued here and not yet answered. */
  private readonly pending = new Set<string>();
  private poll: NodeJS.Timeout | undefined;
  private readonly onFinished = (inv: Invocation) => {
    if (this.pending.has(inv.invocationId)) void this.apply(inv);
  };
  private work: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly deps: { evaluator: Evaluator; functions: FunctionStore; invocations: InvocationStore; functionWorker: FunctionWorker; log?: Logger },
  ) {}

  private get log(): Logger {
    return this.deps.log ?? silentLogger;
  }

  /** Starts taking the evaluator's requests. */
  attach(): void {
    this.deps.evaluator.setFunctionRunner((reqs) => {
      this.work = this.work.then(() => this.request(reqs)).catch((err: Error) => this.log.error('queueing function rule evaluations failed', { err }));
    });
    this.deps.functionWorker.on('finished', this.onFinished);
    // Invocations run by another process's worker are seen by reading them.
    this.poll = setInterval(() => void this.check().catch((err: Error) => this.log.warn('reading function rule invocations failed', { err })), 1000);
    this.poll.unref();
  }

  detach(): void {
    this.deps.evaluator.setFunctionRunner(undefined);
    this.deps.functionWorker.off('finished', this.onFinished);
    if (this.poll) clearInterval(this.poll);
  }

  /** Waits until everything handed over is queued and every invocation queued here has been answered and written (tests, scans). */
  async idle(): Promise<void> {
    await this.deps.evaluator.idle();
    await this.work;
    while (this.pending.size) {
      await new Promise((r) => setTimeout(r, 50));
      await this.check();
    }
    await this.deps.evaluator.idle();
  }

  private async request(reqs: FunctionRuleRequest[]): Promise<void> {
    const latest = new Map<string, number | null>();
    for (const req of reqs) {
      if (!latest.has(req.functionName))
        latest.set(
          req.functionName,
          await this.deps.functions.get(req.functionName).then(
            (f) => f.latestVersion,
            () => null,
          ),
        );
      const version = latest.get(req.functionName)!;
      const key = {
        accountId: req.resource.accountId,
        regionId: req.resource.regionId,
        resourceType: req.resource.resourceType,
        resourceId: req.resource.resourceId,
      };
      if (version === null) {
        await this.deps.evaluator.putFunctionVerdict(
          { ruleId: req.rule.ruleId, key, ciId: req.resource.ciId },
          {
            complianceType: 'INSUFFICIENT_DATA',
            annotation: `function ${req.functionName} is not deployed; deploy it with \`confix function deploy ${req.functionName} --file …\``,
          },
        );
        continue;
      }
      // The same rule version, function version and configuration item are judged once; a periodic evaluation judges again.
      const periodic = req.messageType === 'ScheduledNotification' && req.rule.triggers.some((t) => t.type === 'Periodic');
      const idempotencyKey = createHash('sha256')
        .update([req.rule.ruleId, req.rule.version, version, keyString(key), req.resource.ciId, periodic ? req.invokedAt.toISOString() : ''].join('\u0001'))
        .digest('hex');
      try {
        const inv = await this.deps.invocations.enqueue({
          functionName: req.functionName,
          version,
          input: eventFor(req),
          idempotencyKey: `rule:${idempotencyKey}`,
          source: { type: 'rule', id: req.rule.ruleId, rule: req.rule.name },
        });
        if (FINAL.includes(inv.status)) await this.apply(inv, true);
        else this.pending.add(inv.invocationId);
      } catch (err) {
        if (!(err instanceof FunctionNotFoundError)) throw err;
      }
    }
    this.deps.functionWorker.wake();
  }

  private async check(): Promise<void> {
    if (!this.pending.size) return;
    const ended = await this.deps.invocations.finishedAmong([...this.pending]);
    for (const inv of ended) await this.apply(inv);
  }

  /** Writes an answered invocation's verdict, once: from the queueing (already answered) or from the pending set. */
  private async apply(inv: Invocation, answered = false): Promise<void> {
    if (!answered && !this.pending.delete(inv.invocationId)) return;
    const input = inv.input as FunctionRuleEvent | null;
    const ci = input?.invokingEvent?.configurationItem;
    if (!input || !ci) return;
    const key = { accountId: ci.accountId, regionId: ci.regionId, resourceType: ci.resourceType, resourceId: ci.resourceId };
    await this.deps.evaluator.putFunctionVerdict({ ruleId: input.configRuleId, key, ciId: ci.configurationItemId }, verdictOf(inv));
  }
}

function eventFor(req: FunctionRuleRequest): FunctionRuleEvent {
  const r = req.resource;
  return {
    version: '1.0',
    configRuleId: req.rule.ruleId,
    configRuleName: req.rule.name,
    ruleParameters: req.rule.parameters,
    invokingEvent: {
      messageType: req.messageType,
      notificationCreationTime: req.invokedAt.toISOString(),
      configurationItem: {
        accountId: r.accountId,
        regionId: r.regionId,
        resourceType: r.resourceType,
        resourceId: r.resourceId,
        resourceName: r.resourceName,
        tags: r.tags,
        configuration: r.configuration,
        configurationItemId: Number(r.ciId),
        configurationItemCaptureTime: new Date(r.capturedAt).toISOString(),
      },
    },
  };
}
