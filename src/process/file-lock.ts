import { spawn } from "node:child_process";
import { open } from "node:fs/promises";
import { DriverError } from "../domain/errors.ts";

export interface FileLockOptions {
  /** Called once when the lock is held by another process after waitNoticeMs. */
  readonly onWait?: () => void;
  /** Default 1 s. */
  readonly waitNoticeMs?: number;
  readonly signal?: AbortSignal;
}

/** What flock(1) prints once it holds the lock. */
const HELD = "held\n";

/**
 * Runs use() while holding an exclusive lock on the file at path (created if missing),
 * shared with every process on the host that locks the same file, Slipway's or not.
 *
 * The kernel's flock(2), held by util-linux's flock(1) in a child that waits on its stdin:
 * Node has no flock of its own. The lock goes with the child, so it is released when use()
 * settles and also when this process dies, however it dies: no stale lock to clean up.
 */
export async function withFileLock<T>(
  path: string,
  use: () => Promise<T>,
  options: FileLockOptions = {},
): Promise<T> {
  // flock(1) would create the file with the process umask; make it private first.
  await (await open(path, "a", 0o600)).close();
  const child = spawn("flock", ["--exclusive", path, "sh", "-c", "echo held; exec cat"], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  child.stdin.on("error", () => undefined); // gone already: the lock is released either way
  const closed = new Promise((resolve) => child.once("close", resolve));
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    if (stderr.length < 4096) stderr += chunk;
  });
  const notice = setTimeout(() => options.onWait?.(), options.waitNoticeMs ?? 1000);
  let aborted = (): void => undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      let out = "";
      const failed = (reason: string): void => {
        reject(new DriverError("lock", `could not lock ${path}: ${reason}`));
      };
      aborted = (): void => {
        failed(String(options.signal?.reason ?? "aborted"));
      };
      options.signal?.addEventListener("abort", aborted, { once: true });
      if (options.signal?.aborted === true) aborted();
      child.once("error", (error) => {
        failed(error.message);
      });
      child.once("exit", (code) => {
        failed(stderr.trim() || `flock exited ${String(code)}`);
      });
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        out += chunk;
        if (out.startsWith(HELD)) resolve();
      });
    });
  } catch (error) {
    child.kill();
    await closed;
    throw error;
  } finally {
    clearTimeout(notice);
    options.signal?.removeEventListener("abort", aborted);
  }
  try {
    return await use();
  } finally {
    child.stdin.end();
    await closed;
  }
}
