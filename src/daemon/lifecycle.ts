import { spawn } from "node:child_process";
import { mkdir, open, readFile, rm } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Config } from "../config/config.ts";
import { DriverError } from "../domain/errors.ts";
import { silentLogger, type Logger } from "../domain/logger.ts";
import { DockerEngine } from "../engine/docker/docker-engine.ts";
import { stopPodmanService } from "../engine/podman-service.ts";
import { unmountUnder } from "../engine/mounts.ts";
import { purgeInstance, type PurgeReport } from "../engine/purge.ts";
import { HaproxyRouter } from "../router/haproxy/haproxy-router.ts";
import { stopSshd } from "../git/sshd.ts";
import { pathsOf, routerSettingsOf } from "./paths.ts";

const DAEMON_MAIN = join(import.meta.dirname, "main.ts");

/** How `up` went. */
export interface UpResult {
  readonly started: boolean;
  readonly pid: number;
  readonly apiSocket: string;
  readonly credentials: string;
  readonly caCert: string;
  readonly log: string;
}

/**
 * Starts the daemon in the background (unless it already runs) and returns once its API
 * answers. The daemon gets `env` as its whole environment and reads its config from it.
 */
export async function up(
  config: Config,
  env: Readonly<Record<string, string | undefined>>,
  progress: (line: string) => void,
  timeoutMs = 180_000,
): Promise<UpResult> {
  const paths = pathsOf(config);
  const result = (pid: number, started: boolean): UpResult => ({
    started,
    pid,
    apiSocket: paths.apiSocket,
    credentials: paths.credentials,
    caCert: paths.caCert,
    log: paths.daemonLog,
  });
  const running = await runningDaemon(paths.daemonPid);
  if (running !== undefined && (await apiAnswers(paths.apiSocket))) return result(running, false);

  await mkdir(paths.logsDir, { recursive: true, mode: 0o700 });
  await mkdir(config.runDir, { recursive: true, mode: 0o700 });
  const log = await open(paths.daemonLog, "a", 0o600);
  const child = spawn(process.execPath, [DAEMON_MAIN], {
    detached: true,
    stdio: ["ignore", log.fd, log.fd],
    env: Object.fromEntries(
      Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined),
    ),
  });
  await log.close();
  let exited: number | null | undefined;
  child.once("exit", (code) => (exited = code));
  child.unref();
  progress(`starting the daemon (pid ${String(child.pid)}; log: ${paths.daemonLog})`);

  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      throw new DriverError(
        "daemon",
        `exited with code ${String(exited)} while starting:\n${await tail(paths.daemonLog, 20)}`,
      );
    }
    if (await apiAnswers(paths.apiSocket)) return result(child.pid ?? 0, true);
    await sleep(250);
  }
  throw new DriverError(
    "daemon",
    `did not answer within ${String(timeoutMs / 1000)} s:\n${await tail(paths.daemonLog, 20)}`,
  );
}

/** How `down` went. */
export interface DownResult {
  readonly daemonStopped: boolean;
  readonly purged: PurgeReport | null;
}

/**
 * Stops the daemon, the router and Slipway's own Podman service, leaving no process of
 * the installation behind. App containers keep their state and are adopted by the next
 * `up`; with purge, everything the installation created in the engine is removed first.
 */
export async function down(
  config: Config,
  options: { purge: boolean; logger: Logger },
): Promise<DownResult> {
  const paths = pathsOf(config);
  const pid = await runningDaemon(paths.daemonPid);
  if (pid !== undefined) {
    process.kill(pid, "SIGTERM");
    if (!(await exitedWithin(pid, 60_000))) process.kill(pid, "SIGKILL");
  }
  await rm(paths.daemonPid, { force: true });

  let purged: PurgeReport | null = null;
  if (options.purge) {
    const engine = new DockerEngine({
      socketPath: paths.engineSocket,
      instance: config.instance,
      networkPool: config.engine.networkPool,
    });
    const reachable = await engine.ping().then(
      () => true,
      () => false,
    );
    if (reachable) purged = await purgeInstance(engine);
  }

  await routerFor(config).stop();
  await stopSshd(paths.sshDir, config.runDir);
  if (config.engine.socket === null) {
    await stopPodmanService({
      stateDir: paths.engineDir,
      runDir: config.runDir,
      log: options.logger,
    });
    // So the whole home can be deleted after a purge.
    if (options.purge) await unmountUnder(paths.engineDir);
  }
  return { daemonStopped: pid !== undefined, purged };
}

/** The router driver with the paths the daemon uses (for stopping it from the CLI). */
function routerFor(config: Config): HaproxyRouter {
  const paths = pathsOf(config);
  return new HaproxyRouter({
    stateDir: paths.routerDir,
    runDir: config.runDir,
    settings: routerSettingsOf(config),
    logger: silentLogger,
  });
}

/** The daemon's pid if its pid file names a live Slipway daemon. */
async function runningDaemon(pidFile: string): Promise<number | undefined> {
  const text = await readFile(pidFile, "utf8").catch(() => "");
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const cmdline = await readFile(`/proc/${String(pid)}/cmdline`, "utf8").catch(() => "");
  return cmdline.includes(DAEMON_MAIN) ? pid : undefined;
}

async function exitedWithin(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const alive = await readFile(`/proc/${String(pid)}/stat`, "utf8").then(
      (stat) => !/^\d+ \(.*\) Z/.test(stat),
      () => false,
    );
    if (!alive) return true;
    await sleep(100);
  }
  return false;
}

/** True when GET /healthz on the API socket answers 200. */
export function apiAnswers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      { socketPath, path: "/healthz", timeout: 2000, headers: { host: "slipway" } },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on("timeout", () => req.destroy());
    req.on("error", () => {
      resolve(false);
    });
    req.end();
  });
}

async function tail(file: string, lines: number): Promise<string> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}
