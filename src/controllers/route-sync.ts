import type { Engine } from "../engine/engine.ts";
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
  }
}
