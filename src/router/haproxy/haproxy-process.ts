import { spawn } from "node:child_process";
import { open, readFile } from "node:fs/promises";
import { basename } from "node:path";
import { DriverError } from "../../domain/errors.ts";
import { poll } from "./wait.ts";

/**
 * The environment HAProxy runs with: none of the daemon's variables (it outlives the
 * daemon and needs none of its secrets), only a PATH for the master's re-exec on reload.
 */
export const HAPROXY_ENV: Readonly<Record<string, string>> = {
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
};

/** Files of one master-worker HAProxy. */
export interface MasterFiles {
  readonly bin: string;
  readonly config: string;
  readonly masterSocket: string;
  readonly pidFile: string;
  readonly logFile: string;
}

/** A master we just spawned. */
export interface SpawnedMaster {
  readonly pid: number;
  /** Set once the process has exited (then startup failed). */
  readonly exitStatus: () => string | null;
}

/**
 * Starts `haproxy -W` (master-worker) in its own session, so it keeps serving when the
 * daemon exits or restarts; its output goes to the log file.
 */
export async function spawnMaster(files: MasterFiles): Promise<SpawnedMaster> {
  const log = await open(files.logFile, "a", 0o600);
  try {
    const args = ["-W", "-S", `${files.masterSocket},mode,600`, "-f", files.config];
    const child = spawn(files.bin, args.concat(["-p", files.pidFile]), {
      detached: true,
      stdio: ["ignore", log.fd, log.fd],
      env: HAPROXY_ENV,
    });
    let status: string | null = null;
    child.on("exit", (code, signal) => {
      status = signal === null ? `exit code ${String(code)}` : `signal ${signal}`;
    });
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", (error) => {
        reject(
          new DriverError("haproxy", `cannot run ${files.bin}: ${error.message}`, { cause: error }),
        );
      });
    });
    child.unref();
    if (child.pid === undefined) throw new DriverError("haproxy", `${files.bin} has no pid`);
    return { pid: child.pid, exitStatus: () => status };
  } finally {
    await log.close();
  }
}

/** The pid in a pid file, or null when there is none. */
export async function readPidFile(path: string): Promise<number | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 1 ? pid : null;
}

/** True when the process exists and is not a zombie waiting to be reaped. */
export async function isAlive(pid: number): Promise<boolean> {
  const stat = await readProc(pid, "stat");
  if (stat === null) return false;
  const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  return state !== "Z" && state !== "X";
}

/**
 * True when `pid` is a HAProxy master serving `masterSocket`. Checked before adopting or
 * signalling a pid from a pid file: the pid may have been reused by any other process.
 */
export async function isOurMaster(pid: number, masterSocket: string): Promise<boolean> {
  const cmdline = await readProc(pid, "cmdline");
  if (cmdline === null) return false;
  const argv = cmdline.split("\0");
  const socketIndex = argv.indexOf("-S") + 1;
  return (
    basename(argv[0] ?? "").startsWith("haproxy") &&
    socketIndex > 0 &&
    argv[socketIndex]?.split(",")[0] === masterSocket
  );
}

/**
 * Stops a master and its workers: SIGUSR1 lets workers finish their requests for
 * `graceMs`, SIGTERM stops them at once, SIGKILL (to the whole process group) is last.
 */
export async function stopMaster(pid: number, graceMs: number): Promise<void> {
  const steps = [
    { signal: "SIGUSR1", waitMs: graceMs },
    { signal: "SIGTERM", waitMs: 3_000 },
    { signal: "SIGKILL", waitMs: 3_000 },
  ] as const;
  for (const step of steps) {
    if (step.signal === "SIGKILL") signal(-pid, step.signal);
    signal(pid, step.signal);
    const gone = await poll(async () => ((await isAlive(pid)) ? null : true), {
      timeoutMs: step.waitMs,
    });
    if (gone !== null) return;
  }
  throw new DriverError("haproxy", `process ${pid} survived SIGKILL`);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    // Already gone (or, for a process group, never had one): nothing left to signal.
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

async function readProc(pid: number, file: string): Promise<string | null> {
  try {
    return await readFile(`/proc/${pid}/${file}`, "utf8");
  } catch (error) {
    // ESRCH: the process exited between open and read.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ESRCH") return null;
    throw error;
  }
}
