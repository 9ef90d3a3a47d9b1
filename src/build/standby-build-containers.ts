import { randomBytes } from "node:crypto";
import type { Logger } from "../domain/logger.ts";
import {
  removeBuildContainer,
  startBuildContainer,
  type BuildContainerSetup,
  type StartedBuildContainer,
} from "./started-build-container.ts";

export interface StandbyOptions {
  /** How long a started container waits for its app's next build before it goes. */
  readonly idleMs: number;
  /**
   * Most containers waiting at once (default 16): each holds an address of the build
   * network and a little memory. Past it, the one waiting longest goes.
   */
  readonly max?: number;
  readonly logger: Logger;
  /** Starts a container (startBuildContainer; tests count the calls). */
  readonly start?: typeof startBuildContainer;
}

interface Standby {
  /** undefined when it could not be started (logged). */
  readonly ready: Promise<StartedBuildContainer | undefined>;
  readonly timer: NodeJS.Timeout;
  readonly engine: Promise<BuildContainerSetup["engine"]>;
}

/**
 * At most one started build container per app, waiting for the app's next build: who
 * pushed once tends to push again within minutes, and the next build then skips creating
 * and starting its container (its network set up, the buildpacks copied in: 0.2 s of a
 * warm deploy on a 2-core machine). The container is the one the build would have made,
 * made earlier: fresh, used by one build only, and holding nothing of the app's but the
 * build cache volume it mounts until the build hands it the source. One that waits longer
 * than idleMs is removed; the daemon removes any it finds at start.
 *
 * Only while no build of the app runs: a container that starts hands the app's build cache
 * volume to its own user (Podman's `U` option, since every container has its own uid
 * range), which would take the cache from a build using it. So prepare() is called when
 * none runs, and registers at once: a build that begins meanwhile waits for this
 * container and uses it.
 */
export class StandbyBuildContainers {
  readonly #options: StandbyOptions;
  readonly #waiting = new Map<string, Standby>();
  /** Removals under way (stop() waits for them). */
  readonly #removing = new Set<Promise<void>>();
  #stopped = false;

  constructor(options: StandbyOptions) {
    this.#options = options;
  }

  /**
   * Starts a container for the app's next build, in place of the one it may have; call it
   * only while no build of the app runs.
   */
  prepare(app: string, setup: Promise<BuildContainerSetup>): void {
    if (this.#stopped || this.#options.idleMs <= 0) return;
    const previous = this.#take(app);
    const oldest = this.#waiting.keys().next();
    if (!oldest.done && this.#waiting.size >= (this.#options.max ?? 16)) {
      void this.forget(oldest.value);
    }
    const start = this.#options.start ?? startBuildContainer;
    const name = `slipway-build-next-${randomBytes(6).toString("hex")}`;
    setup.catch(() => undefined); // reported by `ready`
    const ready = (async () => {
      await this.#remove(previous);
      try {
        return await start(await setup, name);
      } catch (error) {
        this.#options.logger.warn("a build container for the next build did not start", {
          app,
          error,
        });
        return undefined;
      }
    })();
    const timer = setTimeout(() => void this.forget(app), this.#options.idleMs);
    timer.unref();
    this.#waiting.set(app, { ready, timer, engine: setup.then((s) => s.engine) });
  }

  /**
   * The app's waiting container, once started (undefined: none, or it did not start);
   * it is the caller's from then on.
   */
  async take(appName: string): Promise<StartedBuildContainer | undefined> {
    return this.#take(appName)?.ready;
  }

  /** Removes the app's waiting container: the app or its build cache is about to go. */
  async forget(appName: string): Promise<void> {
    await this.#remove(this.#take(appName));
  }

  /** Removes every waiting container and starts no more. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all([...this.#waiting.keys()].map((app) => this.forget(app)));
    await Promise.all(this.#removing);
  }

  #take(appName: string): Standby | undefined {
    const standby = this.#waiting.get(appName);
    if (standby === undefined) return undefined;
    this.#waiting.delete(appName);
    clearTimeout(standby.timer);
    return standby;
  }

  #remove(standby: Standby | undefined): Promise<void> {
    const removal = this.#removeNow(standby).finally(() => this.#removing.delete(removal));
    this.#removing.add(removal);
    return removal;
  }

  async #removeNow(standby: Standby | undefined): Promise<void> {
    const container = await standby?.ready;
    if (standby === undefined || container === undefined) return;
    await removeBuildContainer(await standby.engine, container).catch((error: unknown) => {
      this.#options.logger.warn("removing a waiting build container failed", {
        container: container.name,
        error,
      });
    });
  }
}
