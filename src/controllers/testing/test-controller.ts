import { silentLogger } from "../../domain/logger.ts";
import type { Engine } from "../../engine/engine.ts";
import type { Router } from "../../router/router.ts";
import type { Store } from "../../store/store.ts";
import { AppController, type AppControllerDeps } from "../app-controller.ts";
import { RouteSync } from "../route-sync.ts";
import type { RuntimeState } from "../runtime-state.ts";

/**
 * An AppController for tests: instance "t1", a silent logger, a 100 ms boot timeout, no
 * drain, and a readiness probe that answers `ready()`; `extra` adds or replaces deps.
 */
export function testController(
  deps: Pick<AppControllerDeps, "store" | "engine" | "routes" | "state">,
  ready: () => boolean = () => true,
  extra: Partial<AppControllerDeps> = {},
): AppController {
  return new AppController({
    ...deps,
    instance: "t1",
    logger: silentLogger,
    bootTimeoutMs: 100,
    stopGraceSeconds: 1,
    drainMs: 0,
    probe: () => Promise.resolve(ready()),
    ...extra,
  });
}

/** A router that accepts every table and keeps none. */
export const quietRouter: Router = {
  start: () => Promise.resolve(),
  apply: () => Promise.resolve(),
  stop: () => Promise.resolve(),
  running: () => Promise.resolve(true),
};

/** Route updates for tests (instance "t1", domain example.test) on a quiet router. */
export function testRoutes(store: Store, engine: Engine, state: RuntimeState): RouteSync {
  return new RouteSync({
    store,
    engine,
    router: quietRouter,
    state,
    instance: "t1",
    domain: "example.test",
  });
}
