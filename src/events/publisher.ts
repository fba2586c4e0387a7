/**
 * The publisher: turns what happens in confix (a compliance result changing,
 * a remediation starting, succeeding or failing) into native events, stores
 * each once, and queues a delivery for every active subscription whose topic
 * and filter match. Events are published in the order they happen.
 */
import type { Evaluator, ComplianceChange } from '../evaluation/evaluator.js';
import type { Execution } from '../remediation/executions.js';
import type { Logger } from '../util/log.js';
import type { ResourceKey } from '../providers/types.js';
import { silentLogger } from '../util/log.js';
import { complianceEvent, remediationEvent } from './build.js';
import { patternTarget } from './formats.js';
import { compilePattern } from './pattern.js';
import type { ConfixEvent } from './types.js';
import type { DeliveryStore } from './deliveries.js';
import type { Subscription, Topic, TopicStore } from './topics.js';

export type ExecutionEventKind = 'started' | 'succeeded' | 'failed';

/** What emits execution events: the remediation worker. */
export interface ExecutionEvents {
  on(event: 'execution', listener: (kind: ExecutionEventKind, x: Execution) => void): unknown;
  off(event: 'execution', listener: (kind: ExecutionEventKind, x: Execution) => void): unknown;
}

interface Routes {
  topics: { topic: Topic; match: (e: unknown) => boolean }[];
  subs: { sub: Subscription; match: (e: unknown) => boolean }[];
  at: number;
}

/** Topics and subscriptions are re-read at most this often (and after every change made through this process). */
const ROUTES_TTL_MS = 2000;

export class EventPublisher {
  private chain: Promise<unknown> = Promise.resolve();
  private routes: Routes | undefined;
  private readonly listeners: (() => void)[] = [];

  constructor(
    private readonly topics: TopicStore,
    private readonly deliveries: DeliveryStore,
    private readonly opts: {
      log?: Logger;
      onQueued?: () => void;
      /** The provider that governs a resource's account, for data.resource.provider (undefined when none does). */
      providerOf?: (key: Pick<ResourceKey, 'accountId'>) => Promise<string | undefined>;
    } = {},
  ) {}

  private get log(): Logger {
    return this.opts.log ?? silentLogger;
  }

  /** Publishes the evaluator's compliance changes and the worker's execution events until detached. */
  attach(evaluator: Evaluator, worker?: ExecutionEvents): () => void {
    const onChange = (c: ComplianceChange) =>
      void this.enqueue(async () =>
        this.publish(complianceEvent({ ...c, provider: await this.providerOf(c) }, { ruleId: c.ruleId, name: c.ruleName, riskLevel: c.riskLevel })),
      );
    evaluator.on('compliance-change', onChange);
    this.listeners.push(() => evaluator.off('compliance-change', onChange));
    if (worker) {
      const onExecution = (kind: ExecutionEventKind, x: Execution) =>
        void this.enqueue(async () =>
          this.publish(
            remediationEvent(
              kind,
              { ...x, provider: x.provider ?? (await this.providerOf(x)) },
              { ruleId: x.ruleId, name: x.ruleName, riskLevel: x.ruleRiskLevel },
            ),
          ),
        );
      worker.on('execution', onExecution);
      this.listeners.push(() => worker.off('execution', onExecution));
    }
    return () => this.detach();
  }

  private async providerOf(key: Pick<ResourceKey, 'accountId'>): Promise<string | undefined> {
    return this.opts.providerOf?.(key).catch(() => undefined);
  }

  detach(): void {
    for (const l of this.listeners.splice(0)) l();
  }

  /** Waits for everything published so far to be stored and queued. */
  idle(): Promise<void> {
    return this.chain.then(() => undefined);
  }

  /** Forget the cached topics and subscriptions (after changing them). */
  invalidate(): void {
    this.routes = undefined;
  }

  private enqueue(fn: () => Promise<unknown>): Promise<unknown> {
    this.chain = this.chain.then(fn).catch((err: Error) => this.log.error('publishing an event failed', { err }));
    return this.chain;
  }

  private async load(): Promise<Routes> {
    if (this.routes && Date.now() - this.routes.at < ROUTES_TTL_MS) return this.routes;
    const always = () => true;
    const [topics, subs] = await Promise.all([this.topics.topics(), this.topics.subscriptions()]);
    this.routes = {
      topics: topics.map((topic) => ({ topic, match: topic.filter ? compilePattern(topic.filter) : always })),
      subs: subs.filter((s) => s.state === 'ACTIVE').map((sub) => ({ sub, match: sub.filter ? compilePattern(sub.filter) : always })),
      at: Date.now(),
    };
    return this.routes;
  }

  /** Stores the event and queues its deliveries; answers with the delivery ids. */
  async publish(event: ConfixEvent): Promise<string[]> {
    const routes = await this.load();
    const topics = new Set(routes.topics.filter((t) => t.match(event)).map((t) => t.topic.name));
    const targets: Record<string, unknown> = {};
    const to = routes.subs
      .filter(({ sub, match }) => topics.has(sub.topic) && match((targets[sub.format] ??= patternTarget(event, sub.format))))
      .map(({ sub }) => ({ topic: sub.topic, subscription: sub.name }));
    const ids = await this.deliveries.publish(
      { eventId: event.id, type: event.type, subject: event.subject ?? null, time: event.time, body: event as unknown as Record<string, unknown> },
      to,
    );
    if (ids.length) this.opts.onQueued?.();
    return ids;
  }
}
