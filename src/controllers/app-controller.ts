import type { App } from "../domain/app.ts";
import { runtimeSettings, type RuntimeSettings } from "../domain/app-settings.ts";
import { DriverError } from "../domain/errors.ts";
import { LABEL } from "../domain/labels.ts";
import type { Logger } from "../domain/logger.ts";
import { releaseStatus, type Release } from "../domain/release.ts";
import type { ContainerInfo, Engine } from "../engine/engine.ts";
import type { Store } from "../store/store.ts";
import {
  isEmptyPlan,
  planApp,
  type AppPlan,
  type RemoveAction,
  type StopAction,
} from "./app-plan.ts";
import { APP_PORT, appNetworkName, networkAliases } from "./container-spec.ts";
import { listAppContainers, toObserved } from "./observe.ts";
import { adoptContainers, type ReadinessProbe } from "./adoption.ts";
import type { PreparedContainers } from "./prepared-containers.ts";
import { ContainerStarts } from "./container-start.ts";
import type { RouteSync } from "./route-sync.ts";
import { StartupBoost } from "./startup-boost.ts";
import type { RuntimeState } from "./runtime-state.ts";

export interface AppControllerDeps {
  readonly store: Store;
  readonly engine: Engine;
  readonly routes: RouteSync;
  readonly state: RuntimeState;
  readonly instance: string;
  readonly logger: Logger;
  /** How long a new release may take to pass its checks (per-app setting overrides). */
  readonly bootTimeoutMs: number;
  /** SIGTERM to SIGKILL (per-app setting overrides). */
  readonly stopGraceSeconds: number;
  /** Pause between leaving the router and SIGTERM, so in-flight requests finish. */
  readonly drainMs: number;
  /** Largest quantity per process type (per-app setting overrides); used by the API. */
  readonly maxQuantity?: number;
  /**
   * Readiness check: resolves true once address:port passes (HTTP 2xx/3xx on path when a
   * path is given, else a TCP connect): waitForHealthy.
   */
  readonly probe: ReadinessProbe;
  readonly now?: () => number;
  /** The environment a release's containers get (its config vars); default none. */
  readonly releaseEnv?: (release: Release) => Promise<Readonly<Record<string, string>>>;
  /**
   * Containers made ahead for releases that builds are about to create: a start takes the
   * one made for it, and the planner does not see them meanwhile.
   */
  readonly prepared?: Pick<PreparedContainers, "take" | "holds" | "holdsFor" | "discard">;
  /**
   * CPUs a new web container may use until it first passes its readiness check (startup
   * boost: StartupBoost); default 0, none.
   */
  readonly startupCpus?: number;
  /** Release phase before a rollout; postdeploy and image GC after it (ReleaseHooks). */
  readonly releaseHooks?: {
    beforeRollout(app: App, signal: AbortSignal): Promise<void>;
    afterRollout(app: App, signal: AbortSignal): Promise<void>;
  };
}

/** What the queue should do after a successful reconcile. */
export interface ReconcileResult {
  /** Run again after this long (a crash back-off is pending). */
  readonly retryAfterMs?: number;
}

/** Rolling steps one reconcile may take before it hands the key back to the queue. */
const MAX_STEPS = 64;

/**
 * Converges one app: the containers of its current release and formation run, are ready,
 * and are the ones routed; everything else of the app is stopped. Level-triggered: it
 * re-reads the store and the engine at every rolling step, so it is safe to run after a
 * crash, twice, or for an app that was deleted (its leftovers are removed).
 *
 * A release whose containers do not pass their checks within the boot timeout is marked
 * failed in the store (Store.setReleaseStatus), and the app keeps running the newest
 * release that did not fail; a new release (deploy, rollback, config change) is tried afresh.
 */
export class AppController {
  readonly #deps: AppControllerDeps;
  readonly #boost: StartupBoost;
  readonly #starts: ContainerStarts;

  constructor(deps: AppControllerDeps) {
    this.#deps = deps;
    this.#boost = new StartupBoost(deps.engine, deps.logger);
    this.#starts = new ContainerStarts(deps, this.#boost);
  }

  async reconcile(appId: string, signal: AbortSignal): Promise<ReconcileResult> {
    const { store, engine, state } = this.#deps;
    const app = await store.getAppById(appId);
    if (app === undefined) {
      await this.#deps.prepared?.discard(appId, { renetwork: false });
      await this.#removeLeftovers(appId, await listAppContainers(engine, appId));
      return {};
    }
    // A container made ahead is one a rollout is about to start: the network's check (an
    // inspect and three iptables runs) begins now, beside the engine's listing below, which
    // Podman answers only once a container's init in progress is over (its list locks each
    // container). The first step that starts containers takes it (#step).
    let checking =
      this.#deps.prepared?.holdsFor(appId) === true ? this.#ensureNetwork(app) : undefined;
    checking?.catch(() => undefined); // awaited by that step, if one comes
    await this.#deps.releaseHooks?.beforeRollout(app, signal);
    let adopted = false;
    for (let step = 0; step < MAX_STEPS && !signal.aborted; step++) {
      const settings = await this.#settings(app);
      const containers = (await listAppContainers(engine, appId)).filter(
        (c) => this.#deps.prepared?.holds(c.name) !== true,
      );
      if (!adopted) {
        await this.#adopt(app, containers, settings, signal);
        adopted = true;
      }
      const release = await this.#effectiveRelease(app);
      const formation = await store.getFormation(app.id);
      const plan = planApp(
        release,
        formation,
        containers.map((c) => toObserved(c, state)),
        {
          restartMarks: settings.restartMarks,
          backoffUntil: state.backoffUntil(app.id),
          now: this.#now(),
        },
      );
      if (plan.removes.length > 0) {
        // Dead containers first: recording the crash sets the back-off the next plan honours.
        // A dead container that served leaves the router first: before its replacement
        // starts, and before it is removed (its network sandbox, if it had one, goes with
        // it; until then its address refuses connections at once, after that they would
        // wait for the connect timeout).
        const routed = plan.removes.filter((remove) => state.isReady(remove.containerId));
        for (const remove of routed) state.forget(remove.containerId);
        if (routed.length > 0) await this.#deps.routes.sync();
        for (const remove of plan.removes) await this.#remove(app, remove);
        continue;
      }
      if (isEmptyPlan(plan)) {
        await this.#route(app, plan);
        await this.#settleBoosts();
        await this.#discardPrepared(app, release);
        await this.#deps.releaseHooks?.afterRollout(app, signal);
        await this.#prepareNetwork(app, containers, signal);
        return plan.retryAfterMs === undefined ? {} : { retryAfterMs: plan.retryAfterMs };
      }
      const network = plan.starts.length > 0 ? checking : undefined;
      if (network !== undefined) checking = undefined;
      if (
        release === undefined ||
        !(await this.#step(app, release, plan, settings, signal, network))
      ) {
        if (release === undefined) {
          for (const stop of plan.stops) state.forget(stop.containerId);
          await this.#route(app, plan);
          await this.#applyStops(app, plan, settings);
        }
        continue;
      }
    }
    return { retryAfterMs: 1000 };
  }

  /**
   * One rolling step; false when the release failed its checks (and was marked so).
   * `checked`: the network's check, when the reconcile began it already.
   */
  async #step(
    app: App,
    release: Release,
    plan: AppPlan,
    settings: RuntimeSettings,
    signal: AbortSignal,
    checked?: Promise<unknown>,
  ): Promise<boolean> {
    // The new containers that passed their check, as inspected then: the route update
    // takes them from here instead of listing the engine again (RouteSync).
    const ready: ContainerInfo[] = [];
    if (plan.starts.length > 0) {
      // The network's isolation is checked while the containers are created; none starts
      // before the check has passed (#start).
      const network = checked ?? this.#ensureNetwork(app);
      network.catch(() => undefined); // awaited by each start, and below
      // All new containers of the step must be ready before traffic moves or anything
      // old stops; if one is not, the old ones keep serving.
      const results = await Promise.allSettled(
        plan.starts.map((start) =>
          this.#starts.start(app, release, start, settings, signal, network, ready),
        ),
      );
      await network;
      const failure = results.find((r) => r.status === "rejected");
      if (failure !== undefined) throw failure.reason;
      const failed = results.find((r) => r.status === "fulfilled" && r.value !== null);
      if (failed?.status === "fulfilled" && failed.value !== null) {
        await this.#failRelease(app, release, failed.value);
        return false;
      }
    }
    // Containers about to stop leave the router in the same update that adds the new ones.
    for (const stop of plan.stops) this.#deps.state.forget(stop.containerId);
    await this.#route(app, plan, ready);
    // Serving now: the boosted new containers get their size's CPU cap back.
    await this.#settleBoosts();
    await this.#applyStops(app, plan, settings);
    return true;
  }

  /** Boosted containers that passed their check get their size's CPU cap back. */
  #settleBoosts(): Promise<void> {
    return this.#boost.settle((id) => this.#deps.state.isReady(id));
  }

  /**
   * With the app converged, a container made ahead for a release that exists and did not
   * take it (it failed, or is not newer than the one running) goes; one for a release a
   * build has yet to create stays. (The network of the next container is prepared right
   * after, by #prepareNetwork.)
   */
  async #discardPrepared(app: App, current: Release | undefined): Promise<void> {
    const { prepared, store } = this.#deps;
    await prepared?.discard(app.id, {
      renetwork: false,
      stale: async (upcoming) => {
        const stored = await store.getRelease(upcoming.id);
        if (stored === undefined) return false;
        return releaseStatus(stored) === "failed" || stored.version <= (current?.version ?? 0);
      },
    });
  }

  /**
   * With the app converged, the engine may prepare the network of the next container of
   * each process type that runs (a network sandbox: that container's start skips the
   * network setup). Only a hint: a failure is logged, and the next start does without.
   */
  async #prepareNetwork(
    app: App,
    containers: readonly ContainerInfo[],
    signal: AbortSignal,
  ): Promise<void> {
    const { engine, instance, logger } = this.#deps;
    if (engine.prepareNetwork === undefined) return;
    const types = new Set(
      containers
        .filter((c) => c.state === "running")
        .map((c) => c.labels[LABEL.processType])
        .filter((type): type is string => type !== undefined),
    );
    for (const type of [...types].sort()) {
      if (signal.aborted) return;
      try {
        await engine.prepareNetwork(appNetworkName(instance, app), networkAliases(type));
      } catch (error) {
        logger.warn("could not prepare the network of the next container", {
          app: app.name,
          processType: type,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }

  async #route(app: App, plan: AppPlan, ready: readonly ContainerInfo[] = []): Promise<void> {
    const { state } = this.#deps;
    if (plan.serveRelease !== undefined) state.serve(app.id, plan.serveRelease);
    await this.#deps.routes.sync(ready);
    if (plan.serveRelease !== undefined) state.markRouted(app.id, plan.serveRelease);
  }

  async #applyStops(app: App, plan: AppPlan, settings: RuntimeSettings): Promise<void> {
    if (plan.stops.length === 0) return;
    // The router already dropped them (they were forgotten as ready before route() ran);
    // let in-flight requests finish before SIGTERM.
    await this.#drain();
    await Promise.all(plan.stops.map((stop) => this.#stop(app, stop, settings)));
  }

  async #settings(app: App): Promise<RuntimeSettings> {
    return runtimeSettings(await this.#deps.store.getAppSettings(app.id), {
      bootTimeoutSeconds: this.#deps.bootTimeoutMs / 1000,
      stopGraceSeconds: this.#deps.stopGraceSeconds,
      maxQuantity: this.#deps.maxQuantity ?? 20,
    });
  }

  /** The newest release that did not fail (the store skips failed and pending ones). */
  #effectiveRelease(app: App): Promise<Release | undefined> {
    return this.#deps.store.currentRelease(app.id);
  }

  /**
   * Marks the release failed so it is not retried (the store's currentRelease then skips
   * it and the previous release keeps serving); a new deploy or rollback is a new release.
   */
  async #failRelease(app: App, release: Release, detail: string): Promise<void> {
    const { store, state } = this.#deps;
    const replacing = (await listAppContainers(this.#deps.engine, app.id)).some(
      (c) =>
        c.labels[LABEL.release] === String(release.version) &&
        (state.isReady(c.id) || state.isUnresponsive(c.id)),
    );
    if (replacing) {
      // A replacement for a release that already serves (or served until its containers
      // stopped answering, which a host-wide fault can do to every release): retry with
      // the queue's back-off rather than condemn the release.
      throw new DriverError("deploy", detail);
    }
    await store.setReleaseStatus(release.id, "failed", detail);
  }

  /** Probes the running containers this daemon has not seen yet (adoption.ts). */
  #adopt(
    app: App,
    containers: readonly ContainerInfo[],
    settings: RuntimeSettings,
    signal: AbortSignal,
  ): Promise<void> {
    const { state, probe, instance } = this.#deps;
    // Boosted by an earlier daemon, perhaps: settled once they passed their check.
    if ((this.#deps.startupCpus ?? 0) > 0) {
      this.#boost.adopt(containers.filter((c) => !state.isReady(c.id)));
    }
    return adoptContainers(
      { state, probe, ensureNetwork: () => this.#ensureNetwork(app), now: () => this.#now() },
      {
        network: appNetworkName(instance, app),
        port: APP_PORT,
        bootTimeoutSeconds: settings.bootTimeoutSeconds,
        healthcheckPath: settings.healthcheckPath,
      },
      containers,
      signal,
    );
  }

  /** The app's network exists and its isolation rules hold (the engine restores them). */
  #ensureNetwork(app: App): Promise<unknown> {
    return this.#deps.engine.ensureNetwork(appNetworkName(this.#deps.instance, app), {
      [LABEL.app]: app.name,
      [LABEL.appId]: app.id,
    });
  }

  async #remove(app: App, remove: RemoveAction): Promise<void> {
    const { engine, state, logger, store } = this.#deps;
    logger.info("removing stopped container", {
      app: app.name,
      container: remove.name,
      reason: remove.reason,
    });
    state.forget(remove.containerId);
    this.#boost.forget(remove.containerId);
    await engine.removeContainer(remove.containerId);
    if (!remove.crashed) {
      await store.addEvent(app.id, "container.removed", `${remove.name} ${remove.reason}`);
      return;
    }
    const crash = state.recordCrash(app.id, remove.processType, this.#now());
    await store.saveCrashRecord({ appId: app.id, processType: remove.processType, ...crash });
    const wait = Math.max(0, crash.backoffUntil - this.#now());
    const loop = state.crashLooping(app.id, remove.processType, this.#now()) ? "; crash loop" : "";
    await store.addEvent(
      app.id,
      "container.crashed",
      `${remove.name} ${remove.reason}; restart #${String(crash.restarts)}${
        wait > 0 ? ` in ${String(Math.round(wait / 1000))} s` : ""
      }${loop}`,
    );
  }

  async #stop(app: App, stop: StopAction, settings: RuntimeSettings): Promise<void> {
    const { engine, state, logger, store } = this.#deps;
    logger.info("stopping container", { app: app.name, container: stop.name, reason: stop.reason });
    await engine.stopContainer(stop.containerId, settings.stopGraceSeconds);
    // Exit 137 after a stop is the engine's SIGKILL at the end of the grace period.
    const killed = (await engine.inspectContainer(stop.containerId))?.exitCode === 137;
    await engine.removeContainer(stop.containerId);
    state.forget(stop.containerId);
    this.#boost.forget(stop.containerId);
    const how = killed
      ? `; killed after the ${String(settings.stopGraceSeconds)} s grace period (SIGTERM ignored)`
      : "";
    await store.addEvent(app.id, "container.stopped", `${stop.name} ${stop.reason}${how}`);
  }

  async #removeLeftovers(appId: string, containers: readonly ContainerInfo[]): Promise<void> {
    const { engine, state } = this.#deps;
    state.forgetApp(appId);
    await this.#deps.routes.sync();
    for (const c of containers) {
      await engine.stopContainer(c.id, this.#deps.stopGraceSeconds);
      await engine.removeContainer(c.id);
      state.forget(c.id);
    }
    for (const network of await engine.listNetworks({ [LABEL.appId]: appId })) {
      await engine.removeNetwork(network.name);
    }
    for (const image of await engine.listImages({ [LABEL.appId]: appId })) {
      await engine.removeImage(image.id);
    }
  }

  async #drain(): Promise<void> {
    if (this.#deps.drainMs > 0)
      await new Promise((resolve) => setTimeout(resolve, this.#deps.drainMs));
  }

  #now(): number {
    return this.#deps.now?.() ?? Date.now();
  }
}
