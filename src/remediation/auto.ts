/**
 * Automatic remediation: what is NON_COMPLIANT under a rule whose
 * remediation is AUTO_EXECUTION gets an execution, within the rule's
 * attempts and controls, whether it just turned non-compliant or already was.
 *
 * One decision (`decide`) for every path: a result that turns
 * NON_COMPLIANT, a non-compliant resource whose configuration changed, an
 * evaluation (change-triggered, periodic or asked for) that finds a resource
 * still NON_COMPLIANT, a rule whose remediation becomes AUTO_EXECUTION
 * (created, changed, resumed after a pause) and a failed attempt. For a
 * non-compliant resource it looks at the rule's executions of it:
 *
 * - one is queued, awaiting approval or running: nothing to do;
 * - attempts are counted as AWS Config counts them for
 *   MaximumAutomaticAttempts: the automatic executions that ran (succeeded
 *   or failed) for the configuration item now judged, under the rule's
 *   remediation as it is now, since the last execution someone started by
 *   hand. A changed configuration, a changed remediation or a manual
 *   remediation gives the resource its attempts afresh;
 * - fewer than maximumAutomaticAttempts: the next attempt is queued, due
 *   after the grace period (delaySeconds) for the first, and
 *   retryAttemptSeconds after the previous attempt ended for the others;
 * - as many: the resource is left alone (ATTEMPTS_EXHAUSTED, shown with its
 *   result) until it changes or someone remediates it by hand;
 * - the last automatic execution was rejected by an approver: left alone
 *   likewise (REJECTED);
 * - the last attempt failed in a way retrying cannot fix (the provider's
 *   refusal, a validation error, a service-managed or missing resource):
 *   left alone likewise (REFUSED), without spending more attempts;
 * - an unexpired remediation exception: passed by (EXEMPT).
 *
 * Executions are queued as rows; the rule's execution controls (concurrency,
 * per-minute rate, and the error-percentage pause) hold them back where they
 * are claimed, so turning automatic remediation on over thousands of
 * resources queues them all at once but runs them no faster than the
 * controls allow. The execution re-evaluates before acting, so a resource
 * fixed meanwhile is left alone.
 */
import type { Evaluator, ComplianceChange } from '../evaluation/evaluator.js';
import type { ComplianceViews } from '../evaluation/compliance.js';
import type { RuleStore } from '../rules/store.js';
import type { Rule } from '../rules/model.js';
import { keyString, type ResourceKey } from '../providers/types.js';
import { chunks } from '../store/index.js';
import { silentLogger, type Logger } from '../util/log.js';
import { remediationAction } from './registry.js';
import type { RemediationSpec } from './config.js';
import type { Execution, ExecutionHistory, ExecutionStore } from './executions.js';
import { isActive } from './statuses.js';
import type { ExceptionStore } from './exceptions.js';

/** Where a non-compliant resource stands with its rule's automatic remediation. */
export const AUTOMATIC_STATES = ['DUE', 'QUEUED', 'AWAITING_APPROVAL', 'IN_PROGRESS', 'ATTEMPTS_EXHAUSTED', 'REFUSED', 'REJECTED', 'EXEMPT'] as const;
export type AutomaticState = (typeof AUTOMATIC_STATES)[number];

export interface AutomaticStatus {
  state: AutomaticState;
  /** Automatic attempts made for the configuration now judged. */
  attempts: number;
  maximumAttempts: number;
  /** The execution the state is about (the active one, the last attempt, the rejected one). */
  executionId?: string;
  /** For DUE: the attempt to queue and when it may run. */
  attempt?: number;
  notBefore?: Date;
}

/** The decision for one non-compliant resource, from the rule's executions of it (newest first). */
export function decide(history: ExecutionHistory[], ciId: number | null, spec: RemediationSpec, now = new Date(), remediationSince?: Date): AutomaticStatus {
  const max = spec.maximumAutomaticAttempts;
  const active = history.find((x) => isActive(x.status));
  const countable = (x: ExecutionHistory) => !x.dryRun && !x.rollbackOf;
  // The episode: this configuration item's automatic executions under the remediation as it is now, since the last one someone started.
  const lastManual = history.find((x) => x.trigger !== 'AUTOMATIC' && countable(x) && x.status !== 'CANCELLED');
  const from = Math.max(lastManual?.createdAt.getTime() ?? -Infinity, remediationSince?.getTime() ?? -Infinity);
  // An attempt belongs to the remediation it ran under: one queued before the remediation changed but started after ran the new one.
  const episode = history.filter(
    (x) => x.trigger === 'AUTOMATIC' && countable(x) && x.ciId !== null && x.ciId === ciId && (x.startedAt ?? x.createdAt).getTime() > from,
  );
  const ran = episode.filter((x) => x.status === 'SUCCEEDED' || x.status === 'FAILED');
  const base = { attempts: ran.length, maximumAttempts: max };
  if (active) return { ...base, state: active.status as AutomaticState, executionId: active.executionId };
  const latest = episode[0];
  if (latest && latest.status === 'CANCELLED' && latest.errorCode === 'Rejected') return { ...base, state: 'REJECTED', executionId: latest.executionId };
  // A failure retrying cannot fix (a refusal, a service-managed resource): no attempt is spent on it again.
  if (ran[0]?.status === 'FAILED' && ran[0].retryable === false) return { ...base, state: 'REFUSED', executionId: ran[0].executionId };
  if (ran.length >= max) return { ...base, state: 'ATTEMPTS_EXHAUSTED', executionId: ran[0]!.executionId };
  const previous = ran[0];
  const notBefore = previous
    ? new Date(Math.max(now.getTime(), (previous.finishedAt ?? previous.createdAt).getTime() + spec.retryAttemptSeconds * 1000))
    : new Date(now.getTime() + spec.delaySeconds * 1000);
  return { ...base, state: 'DUE', attempt: ran.length + 1, notBefore, ...(previous ? { executionId: previous.executionId } : {}) };
}

export interface AutoDeps {
  rules: Pick<RuleStore, 'get' | 'remediationChangedAt'>;
  executions: ExecutionStore;
  exceptions: ExceptionStore;
  compliance: Pick<ComplianceViews, 'nonCompliant'>;
  log?: Logger;
}

export interface AutoOutcome {
  /** Executions queued now. */
  queued: Execution[];
  /** Non-compliant resources per state (DUE counts those queued, or that would be with `dryRun`). */
  states: Record<AutomaticState, number>;
}

const emptyStates = (): Record<AutomaticState, number> => Object.fromEntries(AUTOMATIC_STATES.map((s) => [s, 0])) as Record<AutomaticState, number>;

/** The resource types a remediation acts on under a rule: a function gets whatever the rule covers, an action only what it fixes. */
function typesFixed(rule: Rule, spec: RemediationSpec): string[] {
  if (spec.function) return rule.scope.resourceTypes;
  const action = remediationAction(spec.action);
  return rule.scope.resourceTypes.filter((t) => action?.resourceTypes.includes(t));
}

/**
 * The automatic state of a rule's non-compliant resources (of `keys` only,
 * when given): undefined when the rule does not remediate automatically.
 */
export async function automaticStatus(
  deps: AutoDeps,
  rule: Rule,
  keys?: ResourceKey[],
  now = new Date(),
  remediationSince?: Date,
): Promise<Map<string, AutomaticStatus & ResourceKey & { ciId: number | null }> | undefined> {
  const spec = rule.remediation;
  if (spec?.invokeType !== 'AUTO_EXECUTION') return undefined;
  const out = new Map<string, AutomaticStatus & ResourceKey & { ciId: number | null }>();
  const types = typesFixed(rule, spec);
  if (types.length === 0) return out;
  const nc = await deps.compliance.nonCompliant(rule.ruleId, types, keys);
  const since = remediationSince ?? (nc.length ? await deps.rules.remediationChangedAt(rule.ruleId) : undefined);
  for (const batch of chunks(nc, 1000)) {
    const [history, exempt] = await Promise.all([deps.executions.historyFor(rule.ruleId, batch), deps.exceptions.activeMany(rule.ruleId, batch, now)]);
    for (const r of batch) {
      const k = keyString(r);
      const d = decide(history.get(k) ?? [], r.ciId, spec, now, since);
      out.set(k, {
        ...r,
        ...(exempt.has(k) && (d.state === 'DUE' || d.state === 'ATTEMPTS_EXHAUSTED' || d.state === 'REJECTED' || d.state === 'REFUSED')
          ? { ...d, state: 'EXEMPT' as const }
          : d),
      });
    }
  }
  return out;
}

/**
 * Results with, on each NON_COMPLIANT one under a rule that remediates
 * automatically, where it stands (`confix get compliance`, the console).
 */
export async function withAutomaticStatus<T extends ResourceKey & { ruleId: string; complianceType: string }>(
  deps: AutoDeps,
  items: T[],
): Promise<(T & { automaticRemediation?: Omit<AutomaticStatus, 'notBefore'> & { notBefore?: string } })[]> {
  const byRule = new Map<string, T[]>();
  for (const r of items) if (r.complianceType === 'NON_COMPLIANT') byRule.set(r.ruleId, [...(byRule.get(r.ruleId) ?? []), r]);
  const found = new Map<string, AutomaticStatus>();
  for (const [ruleId, list] of byRule) {
    const rule = await deps.rules.get(ruleId).catch(() => undefined);
    if (!rule) continue;
    const status = await automaticStatus(deps, rule, list);
    for (const [k, v] of status ?? []) found.set(`${ruleId}|${k}`, v);
  }
  return items.map((r) => {
    const s = found.get(`${r.ruleId}|${keyString(r)}`);
    if (!s) return r;
    const { state, attempts, maximumAttempts, executionId, attempt, notBefore } = s;
    return {
      ...r,
      automaticRemediation: {
        state,
        attempts,
        maximumAttempts,
        ...(executionId ? { executionId } : {}),
        ...(attempt ? { attempt } : {}),
        ...(notBefore ? { notBefore: notBefore.toISOString() } : {}),
      },
    };
  });
}

/**
 * Queues the executions automatic remediation owes a rule's non-compliant
 * resources (all of them, or `keys`). With `dryRun`, counts them only (what
 * `confix plan` reports). A rule without automatic remediation queues none.
 */
export async function queueAutomatic(
  deps: AutoDeps,
  ruleOrId: Rule | string,
  /** remediationSince: count attempts from then instead of the stored remediation's last change (a plan's changed remediation). */
  opts: { keys?: ResourceKey[]; dryRun?: boolean; remediationSince?: Date } = {},
): Promise<AutoOutcome> {
  const rule = typeof ruleOrId === 'string' ? await deps.rules.get(ruleOrId) : ruleOrId;
  const out: AutoOutcome = { queued: [], states: emptyStates() };
  const status = await automaticStatus(deps, rule, opts.keys, new Date(), opts.remediationSince);
  if (!status) return out;
  const due: (AutomaticStatus & ResourceKey & { ciId: number | null })[] = [];
  for (const s of status.values()) {
    out.states[s.state]++;
    if (s.state === 'DUE') due.push(s);
  }
  if (opts.dryRun || due.length === 0) return out;
  const spec = rule.remediation!;
  for (const batch of chunks(due, 1000)) {
    const { queued } = await deps.executions.enqueueMany({
      ruleId: rule.ruleId,
      keys: batch.map((d) => ({
        accountId: d.accountId,
        regionId: d.regionId,
        resourceType: d.resourceType,
        resourceId: d.resourceId,
        attempt: d.attempt,
        notBefore: d.notBefore,
        ciId: d.ciId,
      })),
      action: spec.action,
      trigger: 'AUTOMATIC',
      awaitingApproval: spec.approval === 'required',
    });
    out.queued.push(...queued);
  }
  if (out.queued.length) {
    const log = deps.log ?? silentLogger;
    const waiting = out.queued.filter((x) => x.status === 'AWAITING_APPROVAL').length;
    log.info(waiting ? 'automatic remediation queued, awaiting approval' : 'automatic remediation queued', {
      rule: rule.name,
      executions: out.queued.length,
      ...(out.queued.length <= 5 ? { resourceIds: out.queued.map((x) => x.resourceId), attempts: out.queued.map((x) => x.attempt) } : {}),
    });
  }
  return out;
}

/**
 * The service's automatic remediation: follows the evaluator (results that
 * turn or stay non-compliant, finished evaluations) and queues what
 * `queueAutomatic` finds due, one request at a time, requests for the same
 * rule gathered into one.
 */
export class AutoRemediation {
  private readonly log: Logger;
  /** Requests not run yet: per rule, every resource (true) or some. */
  private pending = new Map<string, true | Map<string, ResourceKey>>();
  private running: Promise<void> | undefined;
  private attached?: Evaluator;

  private readonly onChange = (c: ComplianceChange) => {
    if (c.current === 'NON_COMPLIANT') this.request(c.ruleId, [c]);
  };
  private readonly onEvaluated = (e: { ruleIds: string[]; keys?: ResourceKey[] }) => {
    for (const id of e.ruleIds) this.request(id, e.keys);
  };

  constructor(private readonly deps: AutoDeps & { worker?: { wake(): void } }) {
    this.log = deps.log ?? silentLogger;
  }

  attach(evaluator: Evaluator): this {
    this.attached = evaluator;
    evaluator.on('compliance-change', this.onChange);
    // A resource that changed while still non-compliant has its attempts afresh.
    evaluator.on('still-non-compliant', this.onChange);
    evaluator.on('evaluated', this.onEvaluated);
    return this;
  }

  detach(): void {
    this.attached?.off('compliance-change', this.onChange);
    this.attached?.off('still-non-compliant', this.onChange);
    this.attached?.off('evaluated', this.onEvaluated);
    this.attached = undefined;
  }

  /** Asks for a rule's non-compliant resources (all, or `keys`) to be looked at; runs soon, gathered with other requests. */
  request(ruleId: string, keys?: ResourceKey[]): void {
    const had = this.pending.get(ruleId);
    if (!keys) this.pending.set(ruleId, true);
    else if (had !== true) {
      const m = had ?? new Map<string, ResourceKey>();
      for (const k of keys) m.set(keyString(k), { accountId: k.accountId, regionId: k.regionId, resourceType: k.resourceType, resourceId: k.resourceId });
      this.pending.set(ruleId, m);
    }
    this.running ??= this.drain().finally(() => (this.running = undefined));
  }

  /** Waits until every request so far has been handled. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    // Let the rest of this tick's requests join.
    await new Promise((r) => setImmediate(r));
    while (this.pending.size) {
      const [ruleId, what] = this.pending.entries().next().value as [string, true | Map<string, ResourceKey>];
      this.pending.delete(ruleId);
      try {
        const rule = await this.deps.rules.get(ruleId).catch(() => undefined); // deleted meanwhile
        if (!rule) continue;
        const out = await queueAutomatic(this.deps, rule, what === true ? {} : { keys: [...what.values()] });
        if (out.queued.length) this.deps.worker?.wake();
      } catch (err) {
        this.log.error('queueing automatic remediations failed', { ruleId, err: err as Error });
      }
    }
  }
}

/** Attaches an engine's automatic remediation to an evaluator (as the service does); answers the detach. */
export function attachAutoRemediation(evaluator: Evaluator, engine: { auto: AutoRemediation }): () => void {
  engine.auto.attach(evaluator);
  return () => engine.auto.detach();
}
