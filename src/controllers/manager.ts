import type { Logger } from "../domain/logger.ts";
import type { Engine } from "../engine/engine.ts";
import type { Store } from "../store/store.ts";
import type { AppController } from "./app-controller.ts";
import type { BuildController } from "./build-controller.ts";
import { listAppContainers } from "./observe.ts";
import { LABEL } from "../domain/labels.ts";
import { WorkQueue } from "./work-queue.ts";

export interface ControllerManagerDeps {
  readonly store: Store;
  readonly engine: Engine;
  readonly apps: AppController;
  readonly builds: BuildController;
  readonly logger: Logger;
  readonly buildConcurrency: number;
  /** Every app is reconciled at least this often, whatever the events said. */
  readonly resyncMs: number;
}

/**
 * Wires the controllers to their queues: store changes enqueue the affected keys, and a
 * periodic resync enqueues every app (including ones that only the engine still knows
 * about, so leftovers of a crash are cleaned up).
 */
export class ControllerManager {
  readonly #deps: ControllerManagerDeps;
  readonly #appQueue: WorkQueue;
  readonly #buildQueue: WorkQueue;
  #unsubscribe: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #watch = new AbortController();

  constructor(deps: ControllerManagerDeps) {
    this.#deps = deps;
    const onError = (kind: string) => (key: string, error: unknown, retryInMs: number) => {
      deps.logger.warn(`${kind} reconcile failed; retrying`, { key, retryInMs, error });
    };
    this.#appQueue = new WorkQueue({
      name: "apps",
      concurrency: 4,
      baseDelayMs: 1000,
      maxDelayMs: 5 * 60_000,
      handler: async (key, signal) => {
        const result = await deps.apps.reconcile(key, signal);
        // A crash back-off is pending: come back when it ends.
        if (result.retryAfterMs !== undefined) this.#appQueue.addAfter(key, result.retryAfterMs);
      },
      onError: onError("app"),
    });
    this.#buildQueue = new WorkQueue({
      name: "builds",
      concurrency: deps.buildConcurrency,
      baseDelayMs: 1000,
      maxDelayMs: 60_000,
      // Keyed by app: the queue runs one key at a time, so one app's builds never overlap
      // (BuildController.reconcileApp), while different apps build in parallel.
      handler: (appId, signal) => deps.builds.reconcileApp(appId, signal),
      onError: onError("build"),
    });
  }

  async start(): Promise<void> {
    const { store } = this.#deps;
    await this.#deps.builds.failInterrupted();
    this.#unsubscribe = store.onChange((change) => {
      if (change.kind === "build") void this.#enqueuePendingBuilds(change.appId);
      else this.#appQueue.add(change.appId);
    });
    await this.resync();
    this.#timer = setInterval(() => void this.resync(), this.#deps.resyncMs);
    this.#timer.unref();
    void this.#watchEngine();
  }

  /**
   * Enqueues an app as soon as one of its containers exits or is OOM-killed, so a crash
   * is replaced in about a second instead of at the next resync. The stream is re-opened
   * after an error (the resync covers the gap).
   */
  async #watchEngine(): Promise<void> {
    const signal = this.#watch.signal;
    // A function, so the checks are not narrowed away across awaits.
    const stopped = (): boolean => signal.aborted;
    while (!stopped()) {
      try {
        for await (const event of this.#deps.engine.containerEvents(
          { [LABEL.role]: "app" },
          signal,
        )) {
          const appId = event.labels[LABEL.appId];
          if (appId !== undefined) this.#appQueue.add(appId);
        }
      } catch (error) {
        if (!stopped()) this.#deps.logger.warn("engine event stream failed", { error });
      }
      await new Promise((resolve) => setTimeout(resolve, 2000).unref());
    }
  }

  /** Enqueues every app and every pending build. */
  async resync(): Promise<void> {
    try {
      const apps = await this.#deps.store.listApps();
      const ids = new Set(apps.map((a) => a.id));
      for (const c of await listAppContainers(this.#deps.engine)) {
        const appId = c.labels[LABEL.appId];
        if (appId !== undefined) ids.add(appId);
      }
      for (const id of ids) this.#appQueue.add(id);
      for (const app of apps) await this.#enqueuePendingBuilds(app.id);
    } catch (error) {
      this.#deps.logger.error("resync failed", { error });
    }
  }

  /** Reconciles one app now and waits for it (used by `apps:destroy`). */
  reconcileApp(appId: string): Promise<void> {
    return this.#appQueue.addAndWait(appId);
  }

  async stop(): Promise<void> {
    this.#unsubscribe?.();
    this.#watch.abort();
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await Promise.all([this.#appQueue.shutdown(), this.#buildQueue.shutdown()]);
    await this.#deps.builds.stop();
  }

  async #enqueuePendingBuilds(appId: string): Promise<void> {
    try {
      const builds = await this.#deps.store.listBuilds(appId);
      if (builds.some((build) => build.status === "pending")) this.#buildQueue.add(appId);
    } catch (error) {
      this.#deps.logger.error("listing builds failed", { appId, error });
    }
  }
}
