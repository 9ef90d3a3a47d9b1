import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, open, readFile, rm, writeFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { ConflictError, DriverError } from "../domain/errors.ts";
import type { Logger } from "../domain/logger.ts";
import { DockerApiClient } from "./docker/api-client.ts";
import { ensureSharedNetnsDir } from "./netns-propagation.ts";
import {
  podmanEnv,
  podmanLayout,
  renderContainersConf,
  renderStorageConf,
  type PodmanLayout,
} from "./podman-config.ts";

/**
 * Slipway's own Podman API service: `podman system service` on a socket in the run
 * directory, with storage, network definitions and configuration under the state
 * directory. It runs detached, in its own session, so it outlives the daemon that
 * started it (containers keep running across daemon restarts anyway: conmon holds them);
 * a restarted daemon adopts it through the pid file instead of starting a second one.
 */
export interface PodmanServiceOptions {
  readonly stateDir: string;
  readonly runDir: string;
  /** OCI runtime: "runc" (crun fails on this kernel). */
  readonly runtime: string;
  readonly log: Logger;
  /** How long the API may take to answer after start; default 30 s. */
  readonly readyTimeoutMs?: number;
  /** The podman binary; default "podman" on PATH. */
  readonly podmanPath?: string;
  /** PATH for the service (it finds runc, conmon, netavark there). */
  readonly path?: string;
  readonly signal?: AbortSignal;
}

export interface PodmanService {
  readonly socketPath: string;
  readonly pid: number;
  /** True when a running service was adopted rather than started. */
  readonly adopted: boolean;
  readonly layout: PodmanLayout;
}

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Starts the service, or adopts the one already running for these directories. */
export async function startPodmanService(options: PodmanServiceOptions): Promise<PodmanService> {
  const layout = podmanLayout(options.stateDir, options.runDir);
  await prepare(layout, options.runtime);
  // Before containers start: each one's conmon takes a copy of the host's mounts
  // (netns-propagation.ts). Also for an adopted service, whose next containers gain.
  if (process.getuid?.() === 0) {
    await ensureSharedNetnsDir().catch((error: unknown) => {
      options.log.warn("network namespaces of exited containers may not be torn down", {
        error: error instanceof Error ? error.message : String(error),
      });
    });
  }

  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const running = await readPid(layout.pidFile);
  if (running !== undefined && (await isService(running, layout))) {
    // It may still be starting (another daemon just launched it): wait, never start a twin.
    await waitUntilReady(layout, running, readyTimeoutMs, options.signal);
    options.log.info("adopted the running podman service", {
      pid: running,
      socket: layout.socketPath,
    });
    return { socketPath: layout.socketPath, pid: running, adopted: true, layout };
  }
  if (await answers(layout)) {
    throw new ConflictError(
      `something answers on ${layout.socketPath} but ${layout.pidFile} does not name it; stop it first`,
    );
  }
  await rm(layout.pidFile, { force: true });
  await rm(layout.socketPath, { force: true });

  const pid = await spawnService(layout, options);
  try {
    await waitUntilReady(layout, pid, readyTimeoutMs, options.signal);
  } catch (error) {
    await stopPid(pid, 2_000);
    await rm(layout.pidFile, { force: true });
    throw error;
  }
  options.log.info("started the podman service", { pid, socket: layout.socketPath });
  return { socketPath: layout.socketPath, pid, adopted: false, layout };
}

export interface StopPodmanServiceOptions {
  readonly stateDir: string;
  readonly runDir: string;
  readonly log: Logger;
  /** Time between SIGTERM and SIGKILL; default 10 s. */
  readonly graceMs?: number;
}

/** Stops the service named by the pid file (SIGTERM, then SIGKILL) and removes the pid file. */
export async function stopPodmanService(options: StopPodmanServiceOptions): Promise<void> {
  const layout = podmanLayout(options.stateDir, options.runDir);
  const pid = await readPid(layout.pidFile);
  if (pid !== undefined && (await isService(pid, layout))) {
    await stopPid(pid, options.graceMs ?? 10_000);
    options.log.info("stopped the podman service", { pid });
  } else if (pid !== undefined) {
    options.log.warn("the podman pid file names another process; leaving it alone", { pid });
  }
  await rm(layout.pidFile, { force: true });
  await rm(layout.socketPath, { force: true });
}

/**
 * Runs the podman CLI against this installation's storage (tests, cleanup, `slipway
 * doctor`). Throws DriverError with podman's stderr when it fails.
 */
export async function runPodman(
  layout: PodmanLayout,
  args: readonly string[],
  options: {
    readonly timeoutMs?: number;
    readonly podmanPath?: string;
    readonly path?: string;
  } = {},
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await promisify(execFile)(options.podmanPath ?? "podman", [...args], {
      env: serviceEnv(layout, options.path),
      timeout: options.timeoutMs ?? 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    const stderr = (error as { stderr?: unknown }).stderr;
    const detail =
      typeof stderr === "string" && stderr.trim() !== "" ? stderr.trim() : String(error);
    throw new DriverError("podman", `podman ${args.join(" ")} failed: ${detail}`, { cause: error });
  }
}

async function prepare(layout: PodmanLayout, runtime: string): Promise<void> {
  for (const dir of [layout.stateDir, layout.runDir])
    await mkdir(dir, { recursive: true, mode: 0o700 });
  for (const dir of [
    layout.graphRoot,
    layout.networkConfigDir,
    layout.imageCopyTmpDir,
    layout.runRoot,
    layout.tmpDir,
  ]) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  }
  await writeFile(layout.containersConf, renderContainersConf(layout, runtime), { mode: 0o600 });
  await writeFile(layout.storageConf, renderStorageConf(layout), { mode: 0o600 });
}

async function spawnService(layout: PodmanLayout, options: PodmanServiceOptions): Promise<number> {
  const logFile = await open(layout.serviceLog, "a", 0o600);
  try {
    const child = spawn(
      options.podmanPath ?? "podman",
      ["system", "service", "--time", "0", `unix://${layout.socketPath}`],
      // Detached: own session and process group, so neither the daemon's exit nor a
      // Ctrl-C in its terminal reaches the service. Output goes to the log file only.
      {
        detached: true,
        stdio: ["ignore", logFile.fd, logFile.fd],
        env: serviceEnv(layout, options.path),
        // Its own directory, which the processes it starts inherit: with the caller's, an
        // empty "oom" file kept appearing where `slipway up` (or a test) ran.
        cwd: layout.stateDir,
      },
    );
    if (child.pid === undefined) {
      const [error] = (await once(child, "error")) as [Error];
      throw new DriverError("podman", `cannot start podman: ${error.message}`, { cause: error });
    }
    child.unref();
    await writeFile(layout.pidFile, `${child.pid}\n`, { mode: 0o600 });
    return child.pid;
  } finally {
    await logFile.close();
  }
}

/** A fixed, minimal environment: the service and every conmon it starts inherit it. */
function serviceEnv(layout: PodmanLayout, path: string | undefined): Record<string, string> {
  return { PATH: path ?? DEFAULT_PATH, HOME: layout.stateDir, ...podmanEnv(layout) };
}

async function waitUntilReady(
  layout: PodmanLayout,
  pid: number,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await answers(layout))) {
    signal?.throwIfAborted();
    if (!(await isAlive(pid))) {
      throw new DriverError(
        "podman",
        `the podman service exited at start: ${await logTail(layout)}`,
      );
    }
    if (Date.now() > deadline) {
      throw new DriverError(
        "podman",
        `the podman service did not answer within ${timeoutMs} ms: ${await logTail(layout)}`,
      );
    }
    await sleep(100);
  }
}

async function answers(layout: PodmanLayout): Promise<boolean> {
  const client = new DockerApiClient({ socketPath: layout.socketPath, defaultTimeoutMs: 2_000 });
  try {
    return (await client.text("GET", "/_ping")).trim() === "OK";
  } catch (error) {
    if (error instanceof DriverError) return false; // not (yet) listening: that is the answer
    throw error;
  }
}

async function readPid(pidFile: string): Promise<number | undefined> {
  const text = await readOptional(pidFile);
  const pid = Number(text?.trim());
  return Number.isSafeInteger(pid) && pid > 1 ? pid : undefined;
}

/** True when pid is a live `podman system service` on this layout's socket (not a reused pid). */
async function isService(pid: number, layout: PodmanLayout): Promise<boolean> {
  const cmdline = (await readOptional(`/proc/${pid}/cmdline`))?.split("\0") ?? [];
  return (
    cmdline.includes("service") &&
    cmdline.includes(`unix://${layout.socketPath}`) &&
    (await isAlive(pid))
  );
}

/** Alive and not a zombie (a child that exited but was not reaped yet still has a pid). */
async function isAlive(pid: number): Promise<boolean> {
  const stat = await readOptional(`/proc/${pid}/stat`);
  if (stat === undefined) return false;
  const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  return state !== "Z" && state !== "X";
}

async function stopPid(pid: number, graceMs: number): Promise<void> {
  for (const [signal, waitMs] of [
    ["SIGTERM", graceMs],
    ["SIGKILL", 5_000],
  ] as const) {
    if (!(await isAlive(pid))) return;
    try {
      process.kill(pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ESRCH") return;
      throw error;
    }
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline && (await isAlive(pid))) await sleep(50);
  }
  if (await isAlive(pid)) throw new DriverError("podman", `process ${pid} survived SIGKILL`);
}

async function logTail(layout: PodmanLayout): Promise<string> {
  const text = (await readOptional(layout.serviceLog)) ?? "";
  return text.split("\n").slice(-15).join("\n").trim() || "(no output)";
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ESRCH") return undefined;
    throw error;
  }
}
