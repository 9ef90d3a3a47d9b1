import type { Engine } from "../engine/engine.ts";
import type { Router } from "../router/router.ts";
import type { Store } from "../store/store.ts";
import { appNetworkName } from "./container-spec.ts";
import { listAppContainers, toRoutable } from "./observe.ts";
import { buildRouteTable } from "./route-table.ts";
import type { RuntimeState } from "./runtime-state.ts";

export interface RouteSyncDeps {
  readonly store: Store;
  readonly engine: Engine;
  readonly router: Router;
  readonly state: RuntimeState;
  readonly instance: string;
  readonly domain: string;
}

/**
 * Converges the router to the routes the current state implies. Calls are serialized;
 * a call made while one runs is folded into a single follow-up run (newest state wins),
 * and every caller resolves only once a run that started after its call has finished.
 */
export class RouteSync {
  readonly #deps: RouteSyncDeps;
  #tail: Promise<void> = Promise.resolve();
  #pending: Promise<void> | undefined;

  constructor(deps: RouteSyncDeps) {
    this.#deps = deps;
  }

  sync(): Promise<void> {
    if (this.#pending !== undefined) return this.#pending;
    const run = this.#tail
      .catch(() => undefined)
      .then(() => {
        this.#pending = undefined;
        return this.#run();
      });
    this.#pending = run;
    this.#tail = run;
    return run;
  }

  async #run(): Promise<void> {
    const { store, engine, router, state, instance, domain } = this.#deps;
    const apps = await store.listApps();
    const byId = new Map(apps.map((a) => [a.id, a]));
    const network = (appId: string): string => {
      const app = byId.get(appId);
      return app === undefined ? "" : appNetworkName(instance, app);
    };
    const containers = (await listAppContainers(engine)).map((c) => toRoutable(c, network, state));
    await router.apply(buildRouteTable(apps, containers, state.servingReleases, domain));
  }
}
