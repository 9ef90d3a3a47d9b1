import { silentLogger } from "../../domain/logger.ts";
import { AppController, type AppControllerDeps } from "../app-controller.ts";

/**
 * An AppController for tests: instance "t1", a silent logger, a 100 ms boot timeout, no
 * drain, and a readiness probe that answers `ready()`.
 */
export function testController(
  deps: Pick<AppControllerDeps, "store" | "engine" | "routes" | "state">,
  ready: () => boolean = () => true,
): AppController {
  return new AppController({
    ...deps,
    instance: "t1",
    logger: silentLogger,
    bootTimeoutMs: 100,
    stopGraceSeconds: 1,
    drainMs: 0,
    probe: () => Promise.resolve(ready()),
  });
}
