import { isDeepStrictEqual } from "node:util";
import type { App } from "../domain/app.ts";
import { LABEL } from "../domain/labels.ts";
import type { Logger } from "../domain/logger.ts";
import type { Release } from "../domain/release.ts";
import type { ContainerSpec, Engine } from "../engine/engine.ts";
import type { Store } from "../store/store.ts";
import { appContainerSpec } from "./container-spec.ts";

/** The release a running build will most likely create (its id and version chosen ahead). */
export type UpcomingRelease = Pick<
  Release,
  "id" | "appId" | "version" | "imageRef" | "configVersion"
>;

/** A container made ahead, and the spec it was made from. */
export interface PreparedContainer {
  readonly id: string;
  readonly spec: ContainerSpec;
}

export interface PreparedContainersDeps {
  readonly engine: Pick<
    Engine,
    "createContainer" | "initContainer" | "removeContainer" | "prepareNetwork"
  >;
  readonly store: Pick<Store, "getFormation">;
  readonly instance: string;
  readonly logger: Logger;
  /** The environment the release's containers get (AppControllerDeps.releaseEnv). */
  readonly releaseEnv?: (release: UpcomingRelease) => Promise<Readonly<Record<string, string>>>;
}

/** The process type prepared: the one the router waits for. */
const PREPARED_TYPE = "web";

interface Held {
  readonly release: UpcomingRelease;
  readonly made: Promise<PreparedContainer | undefined>;
}

/**
 * Release containers made ahead. While a build runs, once it stored the image it will most
 * likely make (app-files-preload.ts), the first web container of the release it will most
 * likely create is created and initialized (Engine.initContainer: root filesystem,
 * namespaces, the runtime's side; nothing of the app runs), so that its rollout only
 * starts it: on a 2-core machine that is 0.3 s of a warm deploy's 1.4 s.
 *
 * One per app. The rollout takes it only for a start whose spec is the one it was made
 * from, but for its generated name (take): same release id and version, image, size and
 * environment; else it is removed. Until then the planner does not see it (holds): a
 * container that never started is otherwise removed, which is also what happens to one an
 * earlier daemon left behind. The app controller removes one whose release was made and
 * did not take it, the build controller one whose build failed (discard).
 */
export class PreparedContainers {
  readonly #deps: PreparedContainersDeps;
  readonly #held = new Map<string, Held>();
  /** Names of the containers held (or being made), hidden from the planner. */
  readonly #names = new Set<string>();

  constructor(deps: PreparedContainersDeps) {
    this.#deps = deps;
  }

  /**
   * Makes the web container of the upcoming release ahead, replacing what the app held.
   * Resolves (never rejects) once it is made or could not be; callers need not wait.
   */
  prepare(app: App, release: UpcomingRelease): Promise<void> {
    const old = this.#held.get(app.id);
    if (old !== undefined) void this.#remove(old.made, false);
    const made = this.#make(app, release);
    this.#held.set(app.id, { release, made });
    return made.then(() => undefined);
  }

  /** Whether a container is made (or being made) ahead for the app: a rollout will start it. */
  holdsFor(appId: string): boolean {
    return this.#held.has(appId);
  }

  /** Whether the container is one made ahead and not taken yet: the planner leaves it. */
  holds(name: string): boolean {
    return this.#names.has(name);
  }

  /**
   * The container made ahead for this start, now the caller's to start (or remove); undefined
   * when there is none for it. One made for the same release and process type from another
   * spec is removed; one for a newer release is left for that release's rollout.
   */
  async take(appId: string, spec: ContainerSpec): Promise<PreparedContainer | undefined> {
    const held = this.#held.get(appId);
    if (held === undefined) return undefined;
    const version = Number(spec.labels[LABEL.release]);
    if (version < held.release.version) return undefined;
    if (version === held.release.version && spec.labels[LABEL.processType] !== PREPARED_TYPE) {
      return undefined;
    }
    this.#held.delete(appId);
    const made = await held.made;
    if (made === undefined) return undefined;
    if (!sameSpec(made.spec, spec)) {
      // The caller makes its container now; the converged app prepares the next network.
      await this.#remove(held.made, false);
      return undefined;
    }
    this.#names.delete(made.spec.name);
    return made;
  }

  /**
   * Removes the app's container made ahead: when `stale` says its release will not take it
   * (the release exists and is not rolling out, or failed), or whatever it holds without
   * `stale` (the app's build failed, or the app goes). With `renetwork`, the network of the
   * app's next container is prepared again afterwards (for when no rollout follows).
   */
  async discard(
    appId: string,
    options: {
      readonly stale?: (release: UpcomingRelease) => Promise<boolean>;
      readonly renetwork: boolean;
    },
  ): Promise<void> {
    const held = this.#held.get(appId);
    if (held === undefined) return;
    if (options.stale !== undefined && !(await options.stale(held.release))) return;
    // It may have been taken or replaced meanwhile.
    if (this.#held.get(appId) !== held) return;
    this.#held.delete(appId);
    await this.#remove(held.made, options.renetwork);
  }

  /** Removes every container made ahead (the daemon stops). */
  async stop(): Promise<void> {
    const held = [...this.#held.values()];
    this.#held.clear();
    await Promise.all(held.map((h) => this.#remove(h.made, false)));
  }

  async #make(app: App, release: UpcomingRelease): Promise<PreparedContainer | undefined> {
    const { engine, store, logger } = this.#deps;
    let spec: ContainerSpec | undefined;
    let id: string | undefined;
    try {
      const web = (await store.getFormation(app.id)).find((f) => f.type === PREPARED_TYPE);
      if (web === undefined || web.quantity < 1) return undefined;
      const env = (await this.#deps.releaseEnv?.(release)) ?? {};
      spec = appContainerSpec(this.#deps.instance, app, release, PREPARED_TYPE, web.size, env);
      // Hidden before it exists: a plan made meanwhile must not remove it.
      this.#names.add(spec.name);
      id = await engine.createContainer(spec);
      await engine.initContainer?.(id);
      return { id, spec };
    } catch (error) {
      logger.warn("could not prepare the next release's container", {
        app: app.name,
        release: release.version,
        error: error instanceof Error ? error.message : String(error),
      });
      if (id !== undefined) await engine.removeContainer(id).catch(() => undefined);
      if (spec !== undefined) this.#names.delete(spec.name);
      return undefined;
    }
  }

  /**
   * Removes a container made ahead; with `renetwork`, then has the engine prepare the
   * network of the app's next container again (this one may have taken the sandbox
   * prepared for it, and no rollout is about to prepare another).
   */
  async #remove(made: Promise<PreparedContainer | undefined>, renetwork: boolean): Promise<void> {
    const prepared = await made;
    if (prepared === undefined) return;
    const { engine, logger } = this.#deps;
    try {
      await engine.removeContainer(prepared.id);
      this.#names.delete(prepared.spec.name);
      if (!renetwork) return;
      await engine.prepareNetwork?.(prepared.spec.network, prepared.spec.networkAliases ?? []);
    } catch (error) {
      // Left for the planner: a container that never started is removed.
      this.#names.delete(prepared.spec.name);
      logger.warn("could not remove a container prepared ahead", {
        container: prepared.spec.name,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
}

/** The same container but for its generated name. */
function sameSpec(a: ContainerSpec, b: ContainerSpec): boolean {
  return isDeepStrictEqual({ ...a, name: "" }, { ...b, name: "" });
}
