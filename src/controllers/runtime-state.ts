import type { ProcessCrashRecord } from "../domain/crash-record.ts";
import { isCrashLooping, recordCrash, type CrashRecord } from "./crash-backoff.ts";

/**
 * What the controllers learned by probing, kept in memory: which containers passed their
 * readiness check and which release each app serves. Losing it (a daemon restart) is
 * safe: running containers are probed again and the newest ready release is served. The
 * crash history is the exception: the app controller also saves it in the store and the
 * daemon restores it at start, so a crash-looping app keeps its back-off across restarts.
 */
export class RuntimeState {
  readonly #ready = new Set<string>();
  readonly #unresponsive = new Set<string>();
  readonly #serving = new Map<string, number>();
  readonly #routed = new Map<string, number>();
  /** Called with the app's newly routed release (Infinity once the app is forgotten). */
  readonly #routedWatchers = new Map<string, Set<(release: number) => void>>();
  /** Crash history by app id, then process type. */
  readonly #crashes = new Map<string, Map<string, CrashRecord>>();

  isReady(containerId: string): boolean {
    return this.#ready.has(containerId);
  }

  markReady(containerId: string): void {
    this.#ready.add(containerId);
  }

  /** Found running at daemon start but did not answer: the planner replaces it. */
  isUnresponsive(containerId: string): boolean {
    return this.#unresponsive.has(containerId);
  }

  markUnresponsive(containerId: string): void {
    this.#unresponsive.add(containerId);
  }

  forget(containerId: string): void {
    this.#ready.delete(containerId);
    this.#unresponsive.delete(containerId);
  }

  /** The release the app's traffic goes to, once all its new containers are ready. */
  serve(appId: string, release: number): void {
    this.#serving.set(appId, release);
  }

  forgetApp(appId: string): void {
    this.#serving.delete(appId);
    this.#routed.delete(appId);
    this.#crashes.delete(appId);
    for (const watcher of this.#routedWatchers.get(appId) ?? []) watcher(Infinity);
  }

  /** Records that a container of the type crashed; returns the updated history. */
  recordCrash(appId: string, processType: string, now = Date.now()): CrashRecord {
    const byType = this.#crashes.get(appId) ?? new Map<string, CrashRecord>();
    const record = recordCrash(byType.get(processType), now);
    byType.set(processType, record);
    this.#crashes.set(appId, byType);
    return record;
  }

  /** Puts back a crash history kept in the store (at daemon start). */
  restoreCrash(record: ProcessCrashRecord): void {
    const { appId, processType, count, restarts, lastCrashAt, backoffUntil } = record;
    const byType = this.#crashes.get(appId) ?? new Map<string, CrashRecord>();
    byType.set(processType, { count, restarts, lastCrashAt, backoffUntil });
    this.#crashes.set(appId, byType);
  }

  /** Crash history of each process type of the app that ever crashed. */
  crashes(appId: string): ReadonlyMap<string, CrashRecord> {
    return this.#crashes.get(appId) ?? new Map<string, CrashRecord>();
  }

  /** Process type to the time its next replacement may start. */
  backoffUntil(appId: string): Record<string, number> {
    return Object.fromEntries(
      [...this.crashes(appId)].map(([type, record]) => [type, record.backoffUntil]),
    );
  }

  /** True while the type keeps crashing. */
  crashLooping(appId: string, processType: string, now = Date.now()): boolean {
    return isCrashLooping(this.crashes(appId).get(processType), now);
  }

  /** The router was handed a table that sends the app's traffic to this release. */
  markRouted(appId: string, release: number): void {
    this.#routed.set(appId, release);
    for (const watcher of this.#routedWatchers.get(appId) ?? []) watcher(release);
  }

  /**
   * Resolves once the router sends the app's traffic to `release` or a newer one, or the
   * app is forgotten (deleted); rejects with the signal's reason when it aborts first.
   */
  whenRouted(appId: string, release: number, signal: AbortSignal): Promise<void> {
    if ((this.#routed.get(appId) ?? 0) >= release) return Promise.resolve();
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    const { promise, resolve, reject } = Promise.withResolvers<undefined>();
    const watchers = this.#routedWatchers.get(appId) ?? new Set();
    this.#routedWatchers.set(appId, watchers);
    const done = (): void => {
      watchers.delete(watcher);
      if (watchers.size === 0) this.#routedWatchers.delete(appId);
      signal.removeEventListener("abort", aborted);
    };
    const watcher = (routed: number): void => {
      if (routed < release) return;
      done();
      resolve(undefined);
    };
    const aborted = (): void => {
      done();
      reject(signal.reason as Error);
    };
    watchers.add(watcher);
    signal.addEventListener("abort", aborted, { once: true });
    return promise;
  }

  routedRelease(appId: string): number | undefined {
    return this.#routed.get(appId);
  }

  get servingReleases(): ReadonlyMap<string, number> {
    return this.#serving;
  }
}
