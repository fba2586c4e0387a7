/**
 * The delivery worker: claims due deliveries, formats each event as its
 * subscription asks, and sends it; a failure is retried with backoff until
 * the subscription's attempts run out, then the delivery is dead-lettered.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '../util/log.js';
import { silentLogger } from '../util/log.js';
import type { Delivery, DeliveryStore } from './deliveries.js';
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
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private again = false;
  private running = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = true;
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly pollMs: number;

  constructor(
    private readonly deliveries: DeliveryStore,
    private readonly topics: TopicStore,
    private readonly policy: WebhookPolicy,
    private readonly log: Logger = silentLogger,
    opts: DeliveryWorkerOptions = {},
  ) {
    this.concurrency = opts.concurrency ?? 8;
    this.leaseMs = opts.leaseMs ?? 60_000;
    this.pollMs = opts.pollMs ?? 500;
  }

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.wake(), this.pollMs);
    this.timer.unref();
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
    await Promise.allSettled([...this.inFlight]);
  }

  wake(): void {
    if (this.stopped) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    const p: Promise<void> = this.claimLoop()
      .catch((err: Error) => this.log.error('claiming deliveries failed', { err }))
      .finally(() => {
        if (this.ticking === p) this.ticking = undefined;
      });
    this.ticking = p;
  }

  /** Delivers everything due now and waits for it (tests, one-shot runs). */
  async drain(): Promise<void> {
    for (;;) {
      const claimed = await this.deliveries.claim(this.owner, this.concurrency, this.leaseMs);
      if (!claimed.length) return;
      await Promise.all(claimed.map((d) => this.deliver(d)));
    }
  }

  private async claimLoop(): Promise<void> {
    do {
      this.again = false;
      const room = this.concurrency - this.running;
      if (room <= 0 || this.stopped) return;
      for (const d of await this.deliveries.claim(this.owner, room, this.leaseMs)) {
        this.running++;
        const p = this.deliver(d)
          .catch((err: Error) => this.log.error('a delivery crashed', { deliveryId: d.deliveryId, err }))
          .finally(() => {
            this.running--;
            this.inFlight.delete(p);
            this.wake();
          });
        this.inFlight.add(p);
      }
    } while (this.again);
  }

  private async deliver(d: Delivery): Promise<void> {
    const at = new Date().toISOString();
    let sub;
    try {
      sub = await this.topics.subscription(d.topic, d.subscription);
    } catch {
      return; // deleted meanwhile: its deliveries went with it
    }
    const event = await this.deliveries.event(d.eventId);
    if (!event) return;
    const body = JSON.stringify(formatEvent(event.body as unknown as ConfixEvent, sub.format, { mns: { topicName: d.topic, subscriptionName: d.subscription } }));
    if (sub.endpoint.type !== 'webhook') {
      await this.deliveries.record(d.deliveryId, this.owner, { attempt: d.attempt, at, ok: false, error: `endpoint type ${sub.endpoint.type} cannot be delivered by this confix`, durationMs: 0 }, d.attempt);
      return;
    }
    const secret = await this.topics.secretFor(d.topic, d.subscription);
    const r = await sendWebhook({ url: sub.endpoint.url, timeoutMs: sub.endpoint.timeoutMs, secret }, { eventId: d.eventId, deliveryId: d.deliveryId, attempt: d.attempt, body }, this.policy);
    const status = await this.deliveries.record(d.deliveryId, this.owner, { attempt: d.attempt, at, ok: r.ok, statusCode: r.statusCode, error: r.error, durationMs: r.durationMs }, sub.maxAttempts);
    if (status === 'DEAD') this.log.warn('delivery dead-lettered after its last attempt', { deliveryId: d.deliveryId, topic: d.topic, subscription: d.subscription, error: r.error });
    else if (!r.ok) this.log.info('delivery failed; will retry', { deliveryId: d.deliveryId, attempt: d.attempt, error: r.error });
  }
}
