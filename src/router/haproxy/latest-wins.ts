interface Waiter {
  resolve(): void;
  reject(reason: unknown): void;
}

/**
 * Runs one job at a time. Submissions that arrive while a job runs replace each other, so
 * after a burst only the newest value runs (as Traefik throttles configuration bursts).
 * A superseded submission settles with the outcome of the run that replaced it: its
 * state was folded into a newer one.
 */
export class LatestWins<T> {
  readonly #run: (value: T) => Promise<void>;
  #pending: { value: T; waiters: Waiter[] } | null = null;
  #draining = false;

  constructor(run: (value: T) => Promise<void>) {
    this.#run = run;
  }

  /** Queues `value`, replacing any queued one; settles when a run that covers it ends. */
  submit(value: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiters = this.#pending?.waiters ?? [];
      waiters.push({ resolve, reject });
      this.#pending = { value, waiters };
      if (!this.#draining) void this.#drain();
    });
  }

  /** Never rejects: every outcome is delivered to the waiters. */
  async #drain(): Promise<void> {
    this.#draining = true;
    while (this.#pending !== null) {
      const job = this.#pending;
      this.#pending = null;
      try {
        await this.#run(job.value);
        for (const waiter of job.waiters) waiter.resolve();
      } catch (error) {
        for (const waiter of job.waiters) waiter.reject(error);
      }
    }
    this.#draining = false;
  }
}
