/**
 * A work queue of keys in the style of client-go's workqueue: a key is processed by at
 * most one worker at a time; adding a key that is already waiting is a no-op; adding a key
 * that is being processed marks it dirty so it runs once more afterwards; a failure
 * requeues the key with exponential back-off; success forgets the back-off.
 *
 * Handlers are level-triggered: they re-read everything about the key, so the queue never
 * needs to carry what changed, only which key to look at.
 */
export interface WorkQueueOptions {
  readonly name: string;
  /** Workers processing distinct keys in parallel. */
  readonly concurrency: number;
  /** First retry delay; doubles on every consecutive failure of the key. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly handler: (key: string, signal: AbortSignal) => Promise<void>;
  readonly onError: (key: string, error: unknown, retryInMs: number) => void;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class WorkQueue {
  readonly #options: WorkQueueOptions;
  readonly #waiting: string[] = [];
  readonly #queued = new Set<string>();
  readonly #active = new Set<string>();
  readonly #dirty = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #idleWaiters: (() => void)[] = [];
  /** Callers of addAndWait, by key, waiting for the key's next run to start and end. */
  readonly #runWaiters = new Map<string, Waiter[]>();
  readonly #controller = new AbortController();
  #running = 0;

  constructor(options: WorkQueueOptions) {
    this.#options = options;
  }

  /** Schedules the key now (unless it is already waiting). */
  add(key: string): void {
    if (this.#controller.signal.aborted) return;
    const timer = this.#timers.get(key);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.#timers.delete(key);
    }
    if (this.#active.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (this.#queued.has(key)) return;
    this.#queued.add(key);
    this.#waiting.push(key);
    this.#pump();
  }

  /**
   * Schedules the key and resolves when a run that started after this call succeeded;
   * rejects with that run's error (the key is still retried with back-off as usual).
   */
  addAndWait(key: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiters = this.#runWaiters.get(key) ?? [];
      waiters.push({ resolve, reject });
      this.#runWaiters.set(key, waiters);
      this.add(key);
    });
  }

  /** Schedules the key after a delay (a later add() runs it sooner). */
  addAfter(key: string, delayMs: number): void {
    if (this.#controller.signal.aborted || this.#timers.has(key)) return;
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.#timers.set(key, timer);
  }

  /** Resolves once nothing is waiting, running or scheduled for retry. */
  async idle(): Promise<void> {
    if (this.#isIdle()) return;
    await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops taking work, aborts running handlers and waits for them to return. */
  async shutdown(): Promise<void> {
    this.#controller.abort();
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    this.#waiting.length = 0;
    this.#queued.clear();
    const aborted = new Error(`${this.#options.name} queue shut down`);
    for (const waiters of this.#runWaiters.values())
      for (const waiter of waiters) waiter.reject(aborted);
    this.#runWaiters.clear();
    await this.idle();
  }

  #isIdle(): boolean {
    return this.#running === 0 && this.#waiting.length === 0 && this.#timers.size === 0;
  }

  #pump(): void {
    while (this.#running < this.#options.concurrency) {
      const index = this.#waiting.findIndex((key) => !this.#active.has(key));
      if (index < 0) break;
      const [key] = this.#waiting.splice(index, 1);
      if (key === undefined) break;
      this.#queued.delete(key);
      this.#active.add(key);
      this.#running += 1;
      void this.#process(key);
    }
    if (this.#isIdle()) {
      for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
  }

  async #process(key: string): Promise<void> {
    const signal = this.#controller.signal;
    const waiters = this.#runWaiters.get(key) ?? [];
    this.#runWaiters.delete(key);
    try {
      await this.#options.handler(key, signal);
      this.#failures.delete(key);
      for (const waiter of waiters) waiter.resolve();
    } catch (error) {
      for (const waiter of waiters) waiter.reject(error);
      if (!signal.aborted) {
        const failures = (this.#failures.get(key) ?? 0) + 1;
        this.#failures.set(key, failures);
        const delay = Math.min(
          this.#options.maxDelayMs,
          this.#options.baseDelayMs * 2 ** (failures - 1),
        );
        this.#options.onError(key, error, delay);
        this.addAfter(key, delay);
      }
    } finally {
      this.#active.delete(key);
      this.#running -= 1;
      if (this.#dirty.delete(key)) this.add(key);
      this.#pump();
    }
  }
}
