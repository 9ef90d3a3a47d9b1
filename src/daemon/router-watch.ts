import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../domain/logger.ts";
import type { Router } from "../router/router.ts";

/** What the watch needs of the router and the daemon. */
export interface RouterWatchDeps {
  readonly router: Pick<Router, "running" | "start">;
  /** Applies the current route table (the restarted router loads the last one it stored). */
  readonly resync: () => Promise<void>;
  readonly logger: Logger;
  /** How long to wait before the second look that confirms the router is gone (250 ms). */
  readonly confirmMs?: number;
}

/**
 * Starts the router again if its processes are gone, then applies the current routes.
 * HAProxy's master exits when a worker fails, and with it every app goes offline: the
 * daemon must not wait for an operator. True when it restarted the router.
 */
export async function restartRouterIfGone(deps: RouterWatchDeps): Promise<boolean> {
  const { router, resync, logger } = deps;
  try {
    if (await router.running()) return false;
    // Only gone if gone twice: a master reloading rewrites its pid file (truncated, then
    // its pid), and a second router started then would share the ports with the first,
    // whose workers keep serving without the servers added since.
    await sleep(deps.confirmMs ?? 250);
    if (await router.running()) return false;
    logger.error("the router's processes are gone; starting them again");
    await router.start();
    await resync();
    logger.info("router started again");
    return true;
  } catch (error) {
    logger.error("starting the router again failed; trying again at the next check", { error });
    return false;
  }
}

/** Checks every intervalMs (one check at a time) until the returned function is called. */
export function watchRouter(deps: RouterWatchDeps, intervalMs: number): () => void {
  let checking = false;
  const timer = setInterval(() => {
    if (checking) return;
    checking = true;
    void restartRouterIfGone(deps).finally(() => {
      checking = false;
    });
  }, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
  };
}
