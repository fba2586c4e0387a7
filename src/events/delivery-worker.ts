/**
 * The delivery worker: claims due deliveries, formats each event as its
 * subscription asks, and sends it: POSTed to a webhook, or given to a
 * function as its input. A failure is retried with backoff until the
 * subscription's attempts run out, then the delivery is dead-lettered.
 *
 * A function is invoked through the function worker and waited for; the
 * delivery's lease is kept meanwhile (a function may run for minutes, and
 * wait in the invocation queue before that). Each attempt is one invocation,
 * under the idempotency key `delivery:<deliveryId>:<n>`, n counting the
 * delivery's recorded attempts (across redeliveries by hand): a worker that
 * takes up a delivery whose worker died waits for the invocation already
 * started instead of starting another, while a retry or a redelivery runs
 * the function again.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { FunctionWorker } from '../functions/worker.js';
import type { Invocation } from '../functions/invocations.js';
import type { Logger } from '../util/log.js';
import { ClaimLoop, ClaimingWorker } from '../util/claim-loop.js';
import { silentLogger } from '../util/log.js';
import type { AttemptRecord, ClaimedDelivery, DeliveryStore } from './deliveries.js';
import { formatEvent, type EventFormat } from './formats.js';
import type { ConfixEvent } from './types.js';
import type { TopicStore } from './topics.js';
import { sendWebhook, type WebhookPolicy } from './webhook.js';

export interface DeliveryWorkerOptions {
  concurrency?: number;
  leaseMs?: number;
  pollMs?: number;
}

/** Runs a function and waits for its end: the function worker. */
export type DeliveryFunctions = Pick<FunctionWorker, 'invokeAndWait'>;

/**
 * A function's input: the event in the subscription's format. For 'mns' it
 * is what Function Compute's MNS trigger passes a handler: the message body
 * alone, the base64 Cloud Config notification (MNS's simplified form, a
 * string), which seed 001's handler base64-decodes; the other formats are
 * the JSON documents a webhook would get, as objects.
 */
export function functionInput(event: ConfixEvent, format: EventFormat): unknown {
  return formatEvent(event, format, { mns: { envelope: 'simplified' } });
}

export class DeliveryWorker extends ClaimingWorker<ClaimedDelivery> {
  readonly owner = `${hostname()}:${process.pid}:dl-${randomBytes(3).toString('hex')}`;
  private readonly leaseMs: number;

  constructor(
    private readonly deliveries: DeliveryStore,
    private readonly topics: TopicStore,
    private readonly policy: WebhookPolicy,
    private readonly log: Logger = silentLogger,
    opts: DeliveryWorkerOptions = {},
    /** Without it, deliveries to functions fail (and are retried, then dead-lettered). */
    private readonly functions?: DeliveryFunctions,
  ) {
    super();
    const leaseMs = (this.leaseMs = opts.leaseMs ?? 60_000);
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

  private async deliver(d: ClaimedDelivery): Promise<void> {
    const at = new Date().toISOString();
    const target = await this.topics.target(d.topic, d.subscription);
    if (!target) return; // deleted meanwhile: its deliveries went with it
    const { sub, secret } = target;
    if (sub.state === 'DISABLED') {
      // Disabled after it was queued (or redelivered to while disabled): not sent; it waits on the dead-letter list.
      await this.deliveries.record(
        d.deliveryId,
        this.owner,
        { attempt: d.attempt, at, ok: false, error: 'the subscription is disabled; enable it and redeliver', durationMs: 0 },
        d.attempt,
      );
      return;
    }
    const event = d.eventBody as unknown as ConfixEvent;
    let a: AttemptRecord;
    if (sub.endpoint.type === 'function') {
      a = await this.invoke(d, sub.endpoint.function, functionInput(event, sub.format), at);
    } else {
      const body = JSON.stringify(formatEvent(event, sub.format, { mns: { topicName: d.topic, subscriptionName: d.subscription } }));
      const r = await sendWebhook(
        { url: sub.endpoint.url, timeoutMs: sub.endpoint.timeoutMs, secret },
        { eventId: d.eventId, deliveryId: d.deliveryId, attempt: d.attempt, body },
        this.policy,
      );
      a = { attempt: d.attempt, at, ok: r.ok, statusCode: r.statusCode, error: r.error, durationMs: r.durationMs };
    }
    const status = await this.deliveries.record(d.deliveryId, this.owner, a, sub.maxAttempts);
    const more = a.invocationId ? { invocationId: a.invocationId } : {};
    if (status === 'DEAD')
      this.log.warn('delivery dead-lettered after its last attempt', {
        deliveryId: d.deliveryId,
        topic: d.topic,
        subscription: d.subscription,
        error: a.error,
        ...more,
      });
    else if (!a.ok) this.log.info('delivery failed; will retry', { deliveryId: d.deliveryId, attempt: d.attempt, error: a.error, ...more });
  }

  /** One attempt at a function endpoint: an invocation, waited for with the delivery's lease kept. */
  private async invoke(d: ClaimedDelivery, functionName: string, input: unknown, at: string): Promise<AttemptRecord> {
    const started = performance.now();
    const attempt = (ok: boolean, extra: { error?: string; invocationId?: string }): AttemptRecord => ({
      attempt: d.attempt,
      at,
      ok,
      ...(extra.error !== undefined ? { error: extra.error } : {}),
      durationMs: Math.round(performance.now() - started),
      ...(extra.invocationId ? { invocationId: extra.invocationId } : {}),
    });
    if (!this.functions) return attempt(false, { error: `function endpoints cannot be delivered by this confix (no function worker): ${functionName}` });
    const worker = this.functions;
    const keep = setInterval(
      () => {
        this.deliveries.renew(d.deliveryId, this.owner, this.leaseMs).then(
          (held) => held || this.log.warn('lost the lease of a delivery while its function ran', { deliveryId: d.deliveryId, function: functionName }),
          (err: Error) => this.log.warn('keeping a delivery lease failed', { deliveryId: d.deliveryId, err }),
        );
      },
      Math.max(50, Math.floor(this.leaseMs / 3)),
    );
    keep.unref();
    let inv: Invocation;
    try {
      inv = await worker.invokeAndWait({
        functionName,
        input,
        idempotencyKey: `delivery:${d.deliveryId}:${d.attempts.length + 1}`,
        source: { type: 'subscription', id: d.deliveryId, subscription: `${d.topic}/${d.subscription}` },
      });
    } catch (err) {
      return attempt(false, { error: `invoking function ${functionName} failed: ${(err as Error).message}` });
    } finally {
      clearInterval(keep);
    }
    if (inv.status === 'SUCCEEDED') return attempt(true, { invocationId: inv.invocationId });
    const error = inv.error ? `${inv.error.type}: ${inv.error.message}` : `function ${functionName} ended ${inv.status}`;
    return attempt(false, { error, invocationId: inv.invocationId });
  }
}
