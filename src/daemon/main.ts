/**
 * The daemon process: `slipway up` starts it detached with its output going to
 * SLIPWAY_HOME/logs/daemon.log. Reads the configuration once, starts the control plane,
 * and stops it cleanly on SIGTERM or SIGINT.
 */
import { loadProcessConfig } from "../config/config.ts";
import { startDaemon } from "./daemon.ts";
import { jsonLogger } from "./logger.ts";

const logger = jsonLogger((line) => process.stdout.write(line));

try {
  const daemon = await startDaemon(loadProcessConfig(), logger);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info("signal received", { signal });
    daemon.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error("unclean stop", { error });
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => {
    stop("SIGTERM");
  });
  process.on("SIGINT", () => {
    stop("SIGINT");
  });
} catch (error) {
  logger.error("slipway failed to start", { error });
  process.exit(1);
}
