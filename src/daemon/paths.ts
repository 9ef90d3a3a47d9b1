import { join } from "node:path";
import type { Config } from "../config/config.ts";
import type { RouterSettings } from "../router/render.ts";

/** Every file and socket location of an installation, derived from its config. Pure. */
export interface Paths {
  readonly database: string;
  readonly credentials: string;
  /** AES-256-GCM key that seals config vars at rest (0600). */
  readonly secretKey: string;
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
  /** Bare git repositories, one NAME.git per app. */
  readonly gitDir: string;
  /** Slipway's git hooks (core.hooksPath of every repository). */
  readonly gitHooksDir: string;
  /** Private socket the git hooks report pushes to. */
  readonly gitHookSocket: string;
  /** Slipway's sshd: config, host key, log. */
  readonly sshDir: string;
  /** Node's compile cache for the processes the daemon starts (the git hooks). */
  readonly nodeCompileCache: string;
}

export function pathsOf(config: Config): Paths {
  const { home, runDir } = config;
  return {
    database: join(home, "slipway.db"),
    credentials: join(home, "credentials.json"),
    secretKey: join(home, "secrets.key"),
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
    gitDir: join(home, "git"),
    gitHooksDir: join(home, "git-hooks"),
    gitHookSocket: join(runDir, "git-hook.sock"),
    sshDir: join(home, "ssh"),
    nodeCompileCache: join(home, "cache", "node-compile"),
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
    mapDir: paths.routerDir,
    threads: config.routerThreads,
  };
}
