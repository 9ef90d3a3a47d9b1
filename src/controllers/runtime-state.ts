/**
 * What the controllers learned by probing, kept in memory: which containers passed their
 * readiness check and which release each app serves. Losing it (a daemon restart) is
 * safe: running containers are probed again and the newest ready release is served.
 */
export class RuntimeState {
  readonly #ready = new Set<string>();
  readonly #serving = new Map<string, number>();
  readonly #routed = new Map<string, number>();

  isReady(containerId: string): boolean {
    return this.#ready.has(containerId);
  }

  markReady(containerId: string): void {
    this.#ready.add(containerId);
  }

  forget(containerId: string): void {
    this.#ready.delete(containerId);
  }

  /** The release the app's traffic goes to, once all its new containers are ready. */
  serve(appId: string, release: number): void {
    this.#serving.set(appId, release);
  }

  forgetApp(appId: string): void {
    this.#serving.delete(appId);
    this.#routed.delete(appId);
  }

  /** The router was handed a table that sends the app's traffic to this release. */
  markRouted(appId: string, release: number): void {
    this.#routed.set(appId, release);
  }

  routedRelease(appId: string): number | undefined {
    return this.#routed.get(appId);
  }

  get servingReleases(): ReadonlyMap<string, number> {
    return this.#serving;
  }
}
