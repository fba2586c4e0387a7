/**
 * The AWS change feed: CloudTrail management events that an EventBridge rule
 * sends to an SQS queue, long-polled and mapped to the resources they
 * touched (events.ts), and the changes confix's own calls make (at once:
 * CloudTrail takes minutes).
 *
 * A queue cannot be re-read from a position, so the feed keeps what it
 * received and not yet acknowledged, in order, each message under a sequence
 * number; a cursor is `<run>:<sequence>` (the run tells this process's
 * numbers from an earlier one's). read(cursor) answers the changes after the
 * cursor; acknowledge(cursor) deletes the messages up to it from the queue —
 * and so does a read from a cursor of this run, since a reader only moves its
 * cursor once it has recorded what came before. Messages never acknowledged
 * (the process died) appear again in the queue after its visibility timeout
 * and are recorded again, which is harmless: the recorder describes the
 * resource as it is now. A message that maps to nothing is counted, logged and
 * deleted, so it does not come back forever; nothing a message holds can stop
 * the feed.
 */
import { randomUUID } from 'node:crypto';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { ChangeFeed, ResourceChange } from '../types.js';
import { silentLogger, type Logger } from '../../util/log.js';
import { mapMessage } from './events.js';

export interface FeedCounters {
  /** Messages received from the queue (a message received twice counts twice). */
  received: number;
  /** Messages mapped to at least one resource confix governs. */
  mapped: number;
  /** Messages that map to no resource (not JSON, an event confix does not follow, no id where the mapping looks): deleted. */
  unmapped: number;
  /** Events that changed nothing (a failed call) or only resources outside the provider's accounts and regions: deleted. */
  ignored: number;
  /** Messages deleted from the queue. */
  deleted: number;
  /** Receives and deletes that failed (the feed went on after a pause). */
  errors: number;
  /** Changes from the provider's own calls. */
  local: number;
}

export interface SqsFeedOptions {
  provider: string;
  queueUrl: string;
  /** The client the queue is read with (not limited by an account's semaphore: a long poll waits). */
  client: () => SQSClient;
  /** Long poll: how long one receive waits for a message (SQS allows up to 20 s). */
  waitSeconds: number;
  /** How long a received message stays hidden from other receives; default: the queue's own setting. */
  visibilityTimeout?: number;
  /** Whether a change is of an account and region the provider governs. */
  inScope?: (change: ResourceChange) => Promise<boolean>;
  /** Received but unacknowledged messages kept at most; receiving waits above it. */
  maxBuffered?: number;
  log?: Logger;
}

interface Entry {
  seq: number;
  messageId?: string;
  receiptHandle?: string;
  changes: ResourceChange[];
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

export class SqsChangeFeed implements ChangeFeed {
  readonly counters: FeedCounters = { received: 0, mapped: 0, unmapped: 0, ignored: 0, deleted: 0, errors: 0, local: 0 };
  private readonly run = randomUUID().slice(0, 8);
  private seq = 0;
  private entries: Entry[] = [];
  private readonly listeners = new Set<() => void>();
  private polling: { abort: AbortController; done: Promise<void> } | undefined;
  private readonly log: Logger;
  private readonly maxBuffered: number;

  constructor(private readonly opts: SqsFeedOptions) {
    this.log = (opts.log ?? silentLogger).child({ provider: opts.provider, queue: opts.queueUrl });
    this.maxBuffered = opts.maxBuffered ?? 1000;
  }

  /** Messages received and not yet acknowledged. */
  get buffered(): number {
    return this.entries.length;
  }

  async read(cursor: string | null, limit: number): Promise<{ changes: ResourceChange[]; cursor: string | null }> {
    const upTo = this.ours(cursor);
    // The reader has recorded everything up to its cursor: the queue may forget it.
    if (upTo !== undefined) await this.acknowledge(cursor!);
    const from = upTo ?? 0;
    if (!this.polling && !this.entries.some((e) => e.seq > from)) await this.receive(0).catch((err: unknown) => this.failed('receive', err));
    const changes: ResourceChange[] = [];
    let last: number | undefined;
    for (const e of this.entries) {
      if (e.seq <= from) continue;
      if (changes.length && changes.length + e.changes.length > limit) break;
      changes.push(...e.changes);
      last = e.seq;
    }
    return { changes, cursor: last !== undefined ? `${this.run}:${last}` : cursor };
  }

  async acknowledge(cursor: string): Promise<void> {
    const upTo = this.ours(cursor);
    if (upTo === undefined) return;
    const done = this.entries.filter((e) => e.seq <= upTo);
    if (!done.length) return;
    this.entries = this.entries.filter((e) => e.seq > upTo);
    await this.delete(done.filter((e) => e.receiptHandle).map((e) => ({ id: e.messageId ?? String(e.seq), handle: e.receiptHandle! })));
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    this.start();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) void this.stop();
    };
  }

  /** Changes confix's own calls made: readable at once. */
  notifyLocal(changes: ResourceChange[]): void {
    if (!changes.length) return;
    this.counters.local += changes.length;
    this.entries.push({ seq: ++this.seq, changes });
    this.notify();
  }

  /** Starts long-polling the queue (onChange does when the first listener comes). */
  start(): void {
    if (this.polling) return;
    const abort = new AbortController();
    this.polling = { abort, done: this.loop(abort.signal) };
  }

  /** Stops polling; an in-flight receive is abandoned (its messages come back after the visibility timeout). */
  async stop(): Promise<void> {
    const p = this.polling;
    if (!p) return;
    this.polling = undefined;
    p.abort.abort();
    await p.done;
  }

  private ours(cursor: string | null): number | undefined {
    if (!cursor) return undefined;
    const [run, seq] = cursor.split(':');
    return run === this.run && seq && /^\d+$/.test(seq) ? Number(seq) : undefined;
  }

  private notify(): void {
    for (const l of this.listeners) {
      try {
        l();
      } catch (err) {
        this.log.error('a change feed listener failed', { err: err as Error });
      }
    }
  }

  private failed(what: string, err: unknown): void {
    this.counters.errors++;
    const e = err as { name?: string; message?: string };
    this.log.warn(`the events queue: ${what} failed; trying again`, { code: e?.name, reason: e?.message });
  }

  private async loop(signal: AbortSignal): Promise<void> {
    let pause = 1000;
    while (!signal.aborted) {
      if (this.entries.length >= this.maxBuffered) {
        await sleep(200, signal);
        continue;
      }
      try {
        await this.receive(this.opts.waitSeconds, signal);
        pause = 1000;
      } catch (err) {
        if (signal.aborted) break;
        this.failed('receive', err);
        await sleep(pause, signal);
        pause = Math.min(pause * 2, 30_000);
      }
    }
  }

  private async receive(waitSeconds: number, signal?: AbortSignal): Promise<void> {
    const out = await this.opts.client().send(
      new ReceiveMessageCommand({
        QueueUrl: this.opts.queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: waitSeconds,
        ...(this.opts.visibilityTimeout !== undefined ? { VisibilityTimeout: this.opts.visibilityTimeout } : {}),
        MessageSystemAttributeNames: ['SentTimestamp'],
      }),
      signal ? { abortSignal: signal as never } : {},
    );
    const forget: { id: string; handle: string }[] = [];
    let added = false;
    for (const m of out.Messages ?? []) {
      this.counters.received++;
      if (!m.ReceiptHandle) continue;
      const id = m.MessageId ?? m.ReceiptHandle;
      // Received again while still held (its visibility timeout passed): the newest handle is the one that deletes it.
      const held = m.MessageId ? this.entries.find((e) => e.messageId === m.MessageId) : undefined;
      if (held) {
        held.receiptHandle = m.ReceiptHandle;
        continue;
      }
      const sent = Number(m.Attributes?.SentTimestamp);
      let outcome;
      try {
        outcome = mapMessage(m.Body ?? '', Number.isFinite(sent) && sent > 0 ? new Date(sent) : new Date());
      } catch (err) {
        outcome = { outcome: 'unmapped' as const, reason: `it could not be read: ${(err as Error).message}` };
      }
      if (outcome.outcome === 'mapped') {
        const changes: ResourceChange[] = [];
        for (const c of outcome.changes) if (await this.inScope(c)) changes.push(c);
        if (changes.length) {
          this.counters.mapped++;
          this.entries.push({ seq: ++this.seq, messageId: m.MessageId, receiptHandle: m.ReceiptHandle, changes });
          added = true;
          continue;
        }
        this.counters.ignored++;
        this.log.debug('an event of resources outside the provider’s accounts and regions; deleted', {
          messageId: id,
          resources: outcome.changes.map((c) => `${c.accountId}/${c.regionId}/${c.resourceId}`),
        });
      } else if (outcome.outcome === 'ignored') {
        this.counters.ignored++;
        this.log.debug(`an event that changed nothing; deleted: ${outcome.reason}`, { messageId: id });
      } else {
        this.counters.unmapped++;
        this.log.warn(`an event confix cannot map to a resource; deleted: ${outcome.reason}`, { messageId: id });
      }
      forget.push({ id, handle: m.ReceiptHandle });
    }
    if (added) this.notify();
    await this.delete(forget);
  }

  private async inScope(c: ResourceChange): Promise<boolean> {
    if (!this.opts.inScope) return true;
    try {
      return await this.opts.inScope(c);
    } catch {
      // The accounts cannot be listed now: let the recorder try (a refusal there is recorded as such).
      return true;
    }
  }

  private async delete(messages: { id: string; handle: string }[]): Promise<void> {
    for (let i = 0; i < messages.length; i += 10) {
      const batch = messages.slice(i, i + 10);
      try {
        const out = await this.opts
          .client()
          .send(new DeleteMessageBatchCommand({ QueueUrl: this.opts.queueUrl, Entries: batch.map((m, j) => ({ Id: String(j), ReceiptHandle: m.handle })) }));
        this.counters.deleted += out.Successful?.length ?? 0;
        for (const f of out.Failed ?? []) this.failed('delete', { name: f.Code, message: f.Message });
      } catch (err) {
        // They come back after the visibility timeout and are recorded (or dropped) again.
        this.failed('delete', err);
      }
    }
  }
}
