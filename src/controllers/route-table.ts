import type { App } from "../domain/app.ts";
import type { Domain } from "../domain/domain-name.ts";
import type { RouterPolicy } from "../domain/router-policy.ts";
import type { AppRoute, Endpoint, RouteTable } from "../router/router.ts";

/** A running web container the router may send traffic to. */
export interface RoutableContainer {
  readonly appId: string;
  readonly name: string;
  readonly release: number;
  readonly processType: string;
  readonly address: string | undefined;
  readonly port: number;
  readonly running: boolean;
  readonly ready: boolean;
}

/**
 * Builds the complete routing table from the apps and their containers. Pure.
 *
 * Each app is served by its ready web containers of one release: the release the app
 * controller said is serving (after all its new containers passed their checks), or, when
 * it has not said (right after a daemon restart), the newest release with a ready container.
 * So a rolling deploy moves traffic in one step, never to a half-started release.
 */
export function buildRouteTable(
  apps: readonly App[],
  containers: readonly RoutableContainer[],
  servingRelease: ReadonlyMap<string, number>,
  domain: string,
  customDomains: readonly Domain[] = [],
  policies: ReadonlyMap<string, RouterPolicy> = new Map(),
): RouteTable {
  const routes: AppRoute[] = [];
  for (const app of [...apps].sort((a, b) => a.name.localeCompare(b.name))) {
    const candidates = containers.filter(
      (c) =>
        c.appId === app.id &&
        c.processType === "web" &&
        c.running &&
        c.ready &&
        c.address !== undefined,
    );
    const newest = Math.max(0, ...candidates.map((c) => c.release));
    const wanted = servingRelease.get(app.id);
    const version =
      wanted !== undefined && candidates.some((c) => c.release === wanted) ? wanted : newest;
    const endpoints: Endpoint[] = candidates
      .filter((c) => c.release === version)
      .map((c) => ({ name: c.name, address: c.address ?? "", port: c.port }))
      .sort((a, b) => a.name.localeCompare(b.name));
    const custom = customDomains.filter((d) => d.appId === app.id).map((d) => d.hostname);
    const policy = policies.get(app.id);
    routes.push({
      app: app.name,
      hosts: [`${app.name}.${domain}`, ...custom],
      endpoints,
      ...(policy === undefined ? {} : { policy }),
    });
  }
  return { apps: routes };
}
