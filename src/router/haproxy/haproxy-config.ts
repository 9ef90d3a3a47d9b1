import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, basename, join } from "node:path";
import { promisify } from "node:util";
import { DriverError } from "../../domain/errors.ts";
import { HAPROXY_ENV } from "./haproxy-process.ts";

const execFileAsync = promisify(execFile);
const CHECK_TIMEOUT_MS = 30_000;
/** The log is only read for the alerts of one start or reload; its end is enough. */
const LOG_TAIL_BYTES = 64 * 1024;

/**
 * Writes `text` to a temporary file next to `path` and renames it over `path`, so readers
 * (HAProxy's master on reload) see the old or the new file, never half of one.
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const temp = temporaryPath(path);
  try {
    await writeFile(temp, text, { mode: 0o600, flag: "wx" });
    await rename(temp, path);
  } finally {
    await rm(temp, { force: true });
  }
}

/** The file's text, or null when it does not exist. */
export async function readIfExists(path: string): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

/** A fresh file name in the directory of `path`. */
export function temporaryPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
}

/** Runs `haproxy -c`; throws DriverError carrying HAProxy's alerts when the file is invalid. */
export async function checkConfig(bin: string, file: string): Promise<void> {
  try {
    await execFileAsync(bin, ["-c", "-f", file], { env: HAPROXY_ENV, timeout: CHECK_TIMEOUT_MS });
  } catch (error) {
    const output = ["stdout", "stderr"]
      .map((stream) => (error as Record<string, unknown>)[stream])
      .filter((text): text is string => typeof text === "string")
      .join("\n");
    const alerts = alertsIn(output);
    const reason = alerts === "" ? (error as Error).message : alerts;
    throw new DriverError("haproxy", `configuration rejected: ${reason}`, { cause: error });
  }
}

/** The current size of the log, to read what HAProxy writes after this point. */
export async function logOffset(logFile: string): Promise<number> {
  try {
    return (await stat(logFile)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw error;
  }
}

/** The alerts HAProxy logged after `offset` (see logOffset), joined on one line. */
export async function alertsSince(logFile: string, offset: number): Promise<string> {
  const handle = await open(logFile, "r");
  try {
    const { size } = await handle.stat();
    const start = Math.max(offset, size - LOG_TAIL_BYTES);
    const buffer = Buffer.alloc(Math.max(0, size - start));
    await handle.read(buffer, 0, buffer.length, start);
    return alertsIn(buffer.toString("utf8"));
  } finally {
    await handle.close();
  }
}

/** `[ALERT]    (123) : config : parsing [x.cfg:3] : ...` lines, without their prefix. */
export function alertsIn(output: string): string {
  return output
    .split("\n")
    .filter((line) => line.startsWith("[ALERT]"))
    .map((line) => line.replace(/^\[ALERT\]\s+\(\d+\)\s+:\s+/, ""))
    .join("; ");
}
