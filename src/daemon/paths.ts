import { join } from "node:path";
import type { Config } from "../config/config.ts";
import type { RouterSettings } from "../router/render.ts";

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
  readonly crtList: string;
  readonly routerStatsSocket: string;
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
    crtList: join(home, "router", "crt-list.txt"),
    routerStatsSocket: join(runDir, "haproxy-stats.sock"),
  };
}

/** The router settings of an installation (the daemon starts it, `down` stops it). */
export function routerSettingsOf(config: Config): RouterSettings {
  const paths = pathsOf(config);
  return {
    bindAddress: config.bindAddress,
    httpPort: config.httpPort,
    httpsPort: config.httpsPort,
    domain: config.domain,
    platformHost: `slipway.${config.domain}`,
    apiSocket: paths.apiSocket,
    crtList: paths.crtList,
    statsSocket: paths.routerStatsSocket,
  };
}
