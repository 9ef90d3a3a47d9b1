import type { Logger } from "../domain/logger.ts";
import type { ContainerInfo, Engine } from "../engine/engine.ts";
import type { Router } from "../router/router.ts";
import type { Store } from "../store/store.ts";
import { appNetworkName } from "./container-spec.ts";
import { listAppContainers, toRoutable } from "./observe.ts";
import { buildRouteTable } from "./route-table.ts";
import {
  DEFAULT_POLICY,
  routerPolicyFromSettings,
  type RouterPolicy,
} from "../domain/router-policy.ts";
import type { RuntimeState } from "./runtime-state.ts";

export interface RouteSyncDeps {
  readonly store: Store;
  readonly engine: Engine;
  readonly router: Router;
  readonly state: RuntimeState;
  readonly instance: string;
  readonly domain: string;
  /**
   * The combined PEM file of a custom domain's installed certificate; when given, every
   * domain with an issued certificate is served from the crt-list (by SNI).
   */
  readonly certificatePath?: (hostname: string) => string;
  /** Where a failed background run is reported. */
  readonly logger?: Logger;
}

/**
 * Converges the router to the routes the current state implies. Calls are serialized;
 * a call made while one runs is folded into a single follow-up run (newest state wins),
 * and every caller resolves only once a run that started after its call has finished.
 *
 * A run lists the engine's app containers (their addresses, and which still run), except
 * when every call folded into it handed in containers it had just inspected (a rollout's
 * new ones, ready): then it routes from the last listing with those in it, and a run that
 * lists follows in the background. The list is 2-5 ms of a deploy on this 2-core machine,
 * between the new release passing its check and its traffic moving; what it would add is
 * a container that died since the last listing and was not forgotten yet, and the run
 * that follows finds that.
 */
export class RouteSync {
  readonly #deps: RouteSyncDeps;
  #tail: Promise<void> = Promise.resolve();
  #pending: Promise<void> | undefined;
  /** The app containers as last listed, and as callers inspected them since. */
  #view: Map<string, ContainerInfo> | undefined;
  /** Containers handed in for the pending run, and whether it must list anyway. */
  #fresh = new Map<string, ContainerInfo>();
  #mustList = false;

  constructor(deps: RouteSyncDeps) {
    this.#deps = deps;
  }

  /** fresh: containers the caller inspected just now (see the class comment). */
  sync(fresh: readonly ContainerInfo[] = []): Promise<void> {
    for (const container of fresh) this.#fresh.set(container.id, container);
    if (fresh.length === 0) this.#mustList = true;
    if (this.#pending !== undefined) return this.#pending;
    const run = this.#tail
      .catch(() => undefined)
      .then(() => {
        this.#pending = undefined;
        const { fresh: handedIn, list } = this.#take();
        return this.#run(handedIn, list);
      });
    this.#pending = run;
    this.#tail = run;
    return run;
  }

  #take(): { fresh: ContainerInfo[]; list: boolean } {
    const taken = { fresh: [...this.#fresh.values()], list: this.#mustList };
    this.#fresh = new Map();
    this.#mustList = false;
    return taken;
  }

  async #containers(fresh: readonly ContainerInfo[], list: boolean): Promise<ContainerInfo[]> {
    if (list || this.#view === undefined) {
      const listed = await listAppContainers(this.#deps.engine);
      this.#view = new Map(listed.map((c) => [c.id, c]));
      return listed;
    }
    for (const container of fresh) this.#view.set(container.id, container);
    return [...this.#view.values()];
  }

  async #run(fresh: readonly ContainerInfo[], list: boolean): Promise<void> {
    const { store, router, state, instance, domain } = this.#deps;
    const listed = list || this.#view === undefined;
    const apps = await store.listApps();
    const byId = new Map(apps.map((a) => [a.id, a]));
    const network = (appId: string): string => {
      const app = byId.get(appId);
      return app === undefined ? "" : appNetworkName(instance, app);
    };
    const containers = (await this.#containers(fresh, list)).map((c) =>
      toRoutable(c, network, state),
    );
    const domains = await store.listDomains();
    // Headers, TLS profile and rate limit per app (`slipway headers`, `tls:set`, `ratelimit:set`).
    const policies = new Map<string, RouterPolicy>();
    for (const app of apps) {
      const policy = routerPolicyFromSettings(await store.getAppSettings(app.id));
      // Apps on the defaults carry no policy: the table stays as it was without one.
      if (policy !== DEFAULT_POLICY) policies.set(app.id, policy);
    }
    const table = buildRouteTable(
      apps,
      containers,
      state.servingReleases,
      domain,
      domains,
      policies,
    );
    const pem = this.#deps.certificatePath;
    const certificates =
      pem === undefined
        ? undefined
        : domains
            .filter((d) => d.certStatus === "issued")
            .map((d) => ({ host: d.hostname, pem: pem(d.hostname) }));
    await router.apply(certificates === undefined ? table : { ...table, certificates });
    if (!listed) {
      this.sync().catch((error: unknown) => {
        this.#deps.logger?.warn("route update failed; the next one tries again", { error });
      });
    }
  }
}
