import { createWriteStream, mkdirSync } from "node:fs";
import { open, rm } from "node:fs/promises";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { setTimeout as sleep } from "node:timers/promises";
import type { BuildFiles } from "../controllers/build-controller.ts";
import type { Build } from "../domain/build.ts";
import type { Store } from "../store/store.ts";

/**
 * Build sources (validated uploads waiting for their build) and build logs on disk:
 * SLIPWAY_HOME/sources/<sha256>.tar.gz and SLIPWAY_HOME/logs/builds/<build>.log.
 */
export function buildFiles(sourcesDir: string, logsDir: string): BuildFiles {
  mkdirSync(sourcesDir, { recursive: true, mode: 0o700 });
  mkdirSync(logsDir, { recursive: true, mode: 0o700 });
  return {
    sourcePath: (build) => sourceFile(sourcesDir, build.sourceChecksum),
    openLog: (buildId) => cappedLog(buildLogFile(logsDir, buildId), MAX_BUILD_LOG_BYTES),
    removeSource: (build) => rm(sourceFile(sourcesDir, build.sourceChecksum), { force: true }),
  };
}

/** Bytes a build log keeps in full; past them only its last lines are kept. */
export const MAX_BUILD_LOG_BYTES = 8 * 1024 * 1024;
/** Lines kept from the end of a build log that passed its size. */
const TAIL_LINES = 200;

/** Where a build's log lives. */
export function buildLogFile(logsDir: string, buildId: string): string {
  return join(logsDir, `${buildId}.log`);
}

/**
 * A build log with size-based retention: the first maxBytes are written as they come;
 * after that only the last TAIL_LINES lines are kept, written at close after a line that
 * says how many were left out, so the log still ends with the build's outcome.
 */
export function cappedLog(
  file: string,
  maxBytes: number,
): { write(line: string): void; close(): Promise<void> } {
  const stream = createWriteStream(file, { flags: "a", mode: 0o600 });
  let written = 0;
  let dropped = 0;
  const tail: string[] = [];
  return {
    write(line) {
      const text = `${line}\n`;
      if (dropped === 0 && written + Buffer.byteLength(text) <= maxBytes) {
        written += Buffer.byteLength(text);
        stream.write(text);
        return;
      }
      tail.push(text);
      dropped += 1;
      if (tail.length > TAIL_LINES) tail.shift();
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (dropped > tail.length) {
          const mib = Math.round(maxBytes / 2 ** 20);
          stream.write(
            `-----> ${String(dropped - tail.length)} lines left out: the log passed ${String(mib)} MiB\n`,
          );
        }
        for (const text of tail) stream.write(text);
        stream.end(resolve);
      }),
  };
}

/** A validated upload, named by its sha256 ("sha256:HEX"). */
export function sourceFile(sourcesDir: string, checksum: string): string {
  return join(sourcesDir, `${checksum.replace(/^sha256:/, "")}.tar.gz`);
}

/**
 * The lines of a build's log; with follow, keeps reading as the build writes until it has
 * finished and everything it wrote was read (or the signal aborts: the client went away).
 */
export async function* readBuildLog(
  store: Store,
  logsDir: string,
  build: Build,
  options: { follow: boolean; signal: AbortSignal },
): AsyncIterable<string> {
  const path = buildLogFile(logsDir, build.id);
  let position = 0;
  let partial = "";
  const decoder = new StringDecoder("utf8");
  const buffer = Buffer.alloc(64 * 1024);
  for (;;) {
    const handle = await open(path, "r").catch(() => undefined);
    let finished = !options.follow;
    if (options.follow) {
      const current = await store.getBuild(build.id);
      finished =
        current === undefined || current.status === "succeeded" || current.status === "failed";
    }
    if (handle !== undefined) {
      try {
        for (;;) {
          const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
          if (bytesRead === 0) break;
          position += bytesRead;
          partial += decoder.write(buffer.subarray(0, bytesRead));
          const lines = partial.split("\n");
          partial = lines.pop() ?? "";
          yield* lines;
        }
      } finally {
        await handle.close();
      }
    }
    // The status was read before the file, so everything written before it finished is in.
    if (finished || options.signal.aborted) break;
    // Short: the deploy command follows this log, and its end is when the deploy goes on.
    await sleep(50, undefined, { signal: options.signal }).catch(() => undefined);
  }
  partial += decoder.end();
  if (partial !== "") yield partial;
}
