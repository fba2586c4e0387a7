/** At most `limit` tasks at once; the others wait their turn in order. */
export class Semaphore {
  private active = 0;
  /** The most tasks that ran at once. */
  peak = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`a concurrency limit must be a whole number of at least 1, not ${limit}`);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    this.peak = Math.max(this.peak, this.active);
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next task: `active` stays as it is.
      if (next) next();
      else this.active--;
    }
  }

  /** Tasks running now (for tests and progress). */
  get running(): number {
    return this.active;
  }
}
