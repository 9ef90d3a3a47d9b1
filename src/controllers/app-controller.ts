import type { App } from "../domain/app.ts";
import { DriverError } from "../domain/errors.ts";
import { LABEL } from "../domain/labels.ts";
import type { Logger } from "../domain/logger.ts";
import type { Release } from "../domain/release.ts";
import type { ContainerInfo, Engine } from "../engine/engine.ts";
import type { Store } from "../store/store.ts";
import { isEmptyPlan, planApp, type StartAction, type StopAction } from "./app-plan.ts";
import { APP_PORT, appContainerSpec, appNetworkName } from "./container-spec.ts";
import { listAppContainers, toObserved } from "./observe.ts";
import type { RouteSync } from "./route-sync.ts";
import type { RuntimeState } from "./runtime-state.ts";

export interface AppControllerDeps {
  readonly store: Store;
  readonly engine: Engine;
  readonly routes: RouteSync;
  readonly state: RuntimeState;
  readonly instance: string;
  readonly logger: Logger;
  /** How long a new container may take to accept connections on PORT. */
  readonly bootTimeoutMs: number;
  /** SIGTERM to SIGKILL. */
  readonly stopGraceSeconds: number;
  /** Pause between leaving the router and SIGTERM, so in-flight requests finish. */
  readonly drainMs: number;
  /** Readiness check: resolves true once address:port accepts connections (waitForTcp). */
  readonly probe: (
    address: string,
    port: number,
    timeoutMs: number,
    signal: AbortSignal,
  ) => Promise<boolean>;
}

/**
 * Converges one app: the containers of its current release and formation run, are ready,
 * and are the ones routed; everything else of the app is stopped. Level-triggered: it
 * re-reads the store and the engine every time, so it is safe to run after a crash, twice,
 * or for an app that was deleted (its leftovers are removed).
 */
export class AppController {
  readonly #deps: AppControllerDeps;

  constructor(deps: AppControllerDeps) {
    this.#deps = deps;
  }

  async reconcile(appId: string, signal: AbortSignal): Promise<void> {
    const { store, engine, state } = this.#deps;
    const app = await store.getAppById(appId);
    const containers = await listAppContainers(engine, appId);
    if (app === undefined) {
      await this.#removeLeftovers(appId, containers);
      return;
    }
    await this.#adopt(app, containers, signal);
    const release = await store.currentRelease(app.id);
    const formation = await store.getFormation(app.id);
    const plan = planApp(
      release,
      formation,
      containers.map((c) => toObserved(c, state)),
    );
    if (isEmptyPlan(plan)) {
      if (release !== undefined) state.serve(app.id, release.version);
      await this.#deps.routes.sync();
      if (release !== undefined) state.markRouted(app.id, release.version);
      return;
    }

    if (plan.starts.length > 0 && release !== undefined) {
      await engine.ensureNetwork(appNetworkName(this.#deps.instance, app), {
        [LABEL.app]: app.name,
        [LABEL.appId]: app.id,
      });
      // All new containers must be ready before traffic moves; if one is not, the
      // error leaves the old ones serving and the queue retries with back-off.
      await Promise.all(plan.starts.map((start) => this.#start(app, release, start, signal)));
    }
    if (release !== undefined) state.serve(app.id, release.version);
    await this.#deps.routes.sync();
    if (release !== undefined) state.markRouted(app.id, release.version);

    for (const remove of plan.removes) {
      this.#deps.logger.info("removing stopped container", {
        app: app.name,
        container: remove.name,
        reason: remove.reason,
      });
      await store.addEvent(app.id, "container.exited", `${remove.name} ${remove.reason}`);
      state.forget(remove.containerId);
      await engine.removeContainer(remove.containerId);
    }
    if (plan.stops.length > 0) {
      await this.#drain();
      await Promise.all(plan.stops.map((stop) => this.#stop(app, stop)));
    }
  }

  /** Containers that survived a daemon restart are probed once and kept if they answer. */
  async #adopt(app: App, containers: readonly ContainerInfo[], signal: AbortSignal): Promise<void> {
    const { state, probe } = this.#deps;
    for (const c of containers) {
      if (c.state !== "running" || state.isReady(c.id)) continue;
      const address = c.addresses[appNetworkName(this.#deps.instance, app)];
      if (address !== undefined && (await probe(address, APP_PORT, 1000, signal)))
        state.markReady(c.id);
    }
  }

  async #start(app: App, release: Release, start: StartAction, signal: AbortSignal): Promise<void> {
    const { engine, state, logger, store } = this.#deps;
    const spec = appContainerSpec(this.#deps.instance, app, release, start.processType, start.size);
    logger.info("starting container", {
      app: app.name,
      release: release.version,
      container: spec.name,
    });
    const id = await engine.createContainer(spec);
    await engine.startContainer(id);
    if (start.processType !== "web") {
      state.markReady(id);
      return;
    }
    const info = await engine.inspectContainer(id);
    const address = info?.addresses[spec.network];
    const ready =
      address !== undefined &&
      (await this.#deps.probe(address, APP_PORT, this.#deps.bootTimeoutMs, signal));
    if (!ready) {
      const tail = await this.#tailLogs(id);
      await engine.stopContainer(id, 1);
      await engine.removeContainer(id);
      const message = `v${release.version} ${start.processType} did not accept connections on PORT ${APP_PORT} within ${this.#deps.bootTimeoutMs / 1000} s`;
      await store.addEvent(
        app.id,
        "release.failed",
        `${message}${tail === "" ? "" : `; last output: ${tail}`}`,
      );
      throw new DriverError("deploy", message);
    }
    state.markReady(id);
    await store.addEvent(
      app.id,
      "container.started",
      `${spec.name} (v${release.version}) is ready`,
    );
  }

  async #stop(app: App, stop: StopAction): Promise<void> {
    const { engine, state, logger } = this.#deps;
    logger.info("stopping container", { app: app.name, container: stop.name, reason: stop.reason });
    await engine.stopContainer(stop.containerId, this.#deps.stopGraceSeconds);
    await engine.removeContainer(stop.containerId);
    state.forget(stop.containerId);
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

  async #tailLogs(id: string): Promise<string> {
    const lines: string[] = [];
    for await (const entry of this.#deps.engine.logs(id, { follow: false, tail: 5 }))
      lines.push(entry.line);
    return lines.join(" | ").slice(0, 500);
  }
}
