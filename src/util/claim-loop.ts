/**
 * The loop behind every durable queue's worker (remediation executions,
 * event deliveries): claim what is due, up to the free slots, run each, and
 * look again when one ends, when woken, and on a poll. One claim runs at a
 * time; a wake during a claim makes it go round once more, so freed slots are
 * not left idle until the next poll.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from './log.js';

export interface ClaimLoopOptions<T> {
  concurrency: number;
  pollMs: number;
  /** Claims up to `room` items (a database claim with a lease). */
  claim(room: number): Promise<T[]>;
  /** Runs one claimed item; a rejection is logged as `crashed`. */
  run(item: T): Promise<void>;
  log: Logger;
  /** Words for the log lines: "claiming <many> failed", "<one> crashed". */
  names: { many: string; one: string };
  describe(item: T): Record<string, unknown>;
}

export class ClaimLoop<T> {
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  /** drain() runs without start(): claims are allowed then. */
  private draining = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly o: ClaimLoopOptions<T>) {}

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.wake(), this.o.pollMs);
    this.timer.unref();
    this.wake();
  }

  /**
   * Stops claiming, waits for a claim already on its way to the database (what
   * it returns is run, not lost), then for everything under way.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
    await Promise.allSettled([...this.inFlight]);
  }

  /** Look for work now (after queueing, for instance). */
  wake(): void {
    if (this.stopped && !this.draining) return; // not started (tests and one-shot runs call drain())
    void this.tick().catch((err: Error) => this.o.log.error(`claiming ${this.o.names.many} failed`, { err }));
  }

  /** Claims and runs what is due, waiting for it all (tests and one-shot runs). */
  async drain(): Promise<void> {
    this.draining = true;
    try {
      for (;;) {
        await this.tick();
        if (this.inFlight.size === 0) return;
        await Promise.race([...this.inFlight]);
      }
    } finally {
      this.draining = false;
    }
  }

  private tick(): Promise<void> {
    if (this.ticking) {
      this.again = true;
      return this.ticking;
    }
    // (Cleared in a callback: the loop may end before this assignment.)
    const p: Promise<void> = this.claimLoop().finally(() => {
      if (this.ticking === p) this.ticking = undefined;
    });
    this.ticking = p;
    return p;
  }

  private async claimLoop(): Promise<void> {
    do {
      this.again = false;
      if (this.stopped && !this.draining) return;
      const room = this.o.concurrency - this.running;
      if (room <= 0) return;
      for (const item of await this.o.claim(room)) this.launch(item);
    } while (this.again);
  }

  private launch(item: T): void {
    this.running++;
    const p = this.o
      .run(item)
      .catch((err: Error) => this.o.log.error(`${this.o.names.one} crashed`, { ...this.o.describe(item), err }))
      .finally(() => {
        this.running--;
        this.inFlight.delete(p);
        if (this.timer) this.wake();
      });
    this.inFlight.add(p);
  }
}

/**
 * A durable queue's worker (remediation executions, event deliveries,
 * function invocations): its loop, made in the subclass's constructor, is
 * started, stopped, woken and drained the same way for each.
 */
export abstract class ClaimingWorker<T> extends EventEmitter {
  protected loop!: ClaimLoop<T>;

  start(): void {
    this.loop.start();
  }

  /**
   * Stops claiming, waits for a claim already on its way to the database (what
   * it returns is run, not lost), then for everything under way.
   */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Look for work now (after queueing, for instance). */
  wake(): void {
    this.loop.wake();
  }

  /** Claims and runs what is due, waiting for it all (tests and one-shot runs). */
  drain(): Promise<void> {
    return this.loop.drain();
  }
}
