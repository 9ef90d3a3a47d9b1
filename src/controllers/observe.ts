import { LABEL } from "../domain/labels.ts";
import type { ContainerInfo, Engine } from "../engine/engine.ts";
import type { ObservedContainer } from "./app-plan.ts";
import { APP_PORT } from "./container-spec.ts";
import type { RoutableContainer } from "./route-table.ts";
import type { RuntimeState } from "./runtime-state.ts";

/** Every app container this installation owns (the driver filters by instance). */
export function listAppContainers(engine: Engine, appId?: string): Promise<ContainerInfo[]> {
  return engine.listContainers(
    appId === undefined ? { [LABEL.role]: "app" } : { [LABEL.role]: "app", [LABEL.appId]: appId },
  );
}

/** The planner's view of a container. */
export function toObserved(c: ContainerInfo, state: RuntimeState): ObservedContainer {
  return {
    id: c.id,
    name: c.name,
    processType: c.labels[LABEL.processType] ?? "",
    release: Number(c.labels[LABEL.release] ?? 0),
    size: c.labels[LABEL.size] ?? "",
    running: c.state === "running",
    exitCode: c.exitCode,
    oomKilled: c.oomKilled,
    ready: state.isReady(c.id),
    unresponsive: state.isUnresponsive(c.id),
    startedAtMs: c.startedAt === null ? null : Date.parse(c.startedAt),
  };
}

/** The route builder's view of a container. */
export function toRoutable(
  c: ContainerInfo,
  network: (appId: string) => string,
  state: RuntimeState,
): RoutableContainer {
  const appId = c.labels[LABEL.appId] ?? "";
  return {
    appId,
    name: c.name,
    release: Number(c.labels[LABEL.release] ?? 0),
    processType: c.labels[LABEL.processType] ?? "",
    address: c.addresses[network(appId)] ?? Object.values(c.addresses)[0],
    port: APP_PORT,
    running: c.state === "running",
    ready: state.isReady(c.id),
  };
}
