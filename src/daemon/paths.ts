import { join } from "node:path";
import type { Config } from "../config/config.ts";

/** Every file and socket location of an installation, derived from its config. Pure. */
export interface Paths {
  readonly database: string;
  readonly credentials: string;
  readonly caDir: string;
  readonly caCert: string;
  readonly certsDir: string;
  readonly routerDir: string;
  readonly engineDir: string;
  readonly logsDir: string;
  readonly buildLogsDir: string;
  readonly uploadsDir: string;
  readonly sourcesDir: string;
  readonly daemonLog: string;
  readonly daemonPid: string;
  readonly apiSocket: string;
  readonly engineSocket: string;
  readonly runDir: string;
}

export function pathsOf(config: Config): Paths {
  const { home, runDir } = config;
  return {
    database: join(home, "slipway.db"),
    credentials: join(home, "credentials.json"),
    caDir: join(home, "ca"),
    caCert: join(home, "ca", "ca.pem"),
    certsDir: join(home, "certs"),
    routerDir: join(home, "router"),
    engineDir: join(home, "engine"),
    logsDir: join(home, "logs"),
    buildLogsDir: join(home, "logs", "builds"),
    uploadsDir: join(home, "uploads"),
    sourcesDir: join(home, "sources"),
    daemonLog: join(home, "logs", "daemon.log"),
    daemonPid: join(runDir, "daemon.pid"),
    apiSocket: join(runDir, "api.sock"),
    engineSocket: config.engine.socket ?? join(runDir, "podman.sock"),
    runDir,
  };
}
