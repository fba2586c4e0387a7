/**
 * The delivery worker: claims due deliveries, formats each event as its
 * subscription asks, and sends it; a failure is retried with backoff until
 * the subscription's attempts run out, then the delivery is dead-lettered.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '../util/log.js';
import { ClaimLoop } from '../util/claim-loop.js';
import { silentLogger } from '../util/log.js';
import type { ClaimedDelivery, DeliveryStore } from './deliveries.js';
import { formatEvent } from './formats.js';
import type { ConfixEvent } from './types.js';
import type { TopicStore } from './topics.js';
import { sendWebhook, type WebhookPolicy } from './webhook.js';

export interface DeliveryWorkerOptions {
  concurrency?: number;
  leaseMs?: number;
  pollMs?: number;
}

export class DeliveryWorker {
  readonly owner = `${hostname()}:${process.pid}:dl-${randomBytes(3).toString('hex')}`;
  private readonly loop: ClaimLoop<ClaimedDelivery>;

  constructor(
    private readonly deliveries: DeliveryStore,
    private readonly topics: TopicStore,
    private readonly policy: WebhookPolicy,
    private readonly log: Logger = silentLogger,
    opts: DeliveryWorkerOptions = {},
  ) {
    const leaseMs = opts.leaseMs ?? 60_000;
    this.loop = new ClaimLoop<ClaimedDelivery>({
      concurrency: opts.concurrency ?? 8,
      pollMs: opts.pollMs ?? 500,
      claim: (room) => deliveries.claim(this.owner, room, leaseMs),
      run: (d) => this.deliver(d),
      log,
      names: { many: 'deliveries', one: 'delivery' },
      describe: (d) => ({ deliveryId: d.deliveryId }),
    });
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  wake(): void {
    this.loop.wake();
  }

  /** Delivers everything due now and waits for it (tests, one-shot runs). */
  drain(): Promise<void> {
    return this.loop.drain();
  }

  private async deliver(d: ClaimedDelivery): Promise<void> {
    const at = new Date().toISOString();
    const target = await this.topics.target(d.topic, d.subscription);
    if (!target) return; // deleted meanwhile: its deliveries went with it
    const { sub, secret } = target;
    const body = JSON.stringify(formatEvent(d.eventBody as unknown as ConfixEvent, sub.format, { mns: { topicName: d.topic, subscriptionName: d.subscription } }));
    if (sub.endpoint.type !== 'webhook') {
      await this.deliveries.record(d.deliveryId, this.owner, { attempt: d.attempt, at, ok: false, error: `endpoint type ${sub.endpoint.type} cannot be delivered by this confix`, durationMs: 0 }, d.attempt);
      return;
    }
    const r = await sendWebhook({ url: sub.endpoint.url, timeoutMs: sub.endpoint.timeoutMs, secret }, { eventId: d.eventId, deliveryId: d.deliveryId, attempt: d.attempt, body }, this.policy);
    const status = await this.deliveries.record(d.deliveryId, this.owner, { attempt: d.attempt, at, ok: r.ok, statusCode: r.statusCode, error: r.error, durationMs: r.durationMs }, sub.maxAttempts);
    if (status === 'DEAD') this.log.warn('delivery dead-lettered after its last attempt', { deliveryId: d.deliveryId, topic: d.topic, subscription: d.subscription, error: r.error });
    else if (!r.ok) this.log.info('delivery failed; will retry', { deliveryId: d.deliveryId, attempt: d.attempt, error: r.error });
  }
}
