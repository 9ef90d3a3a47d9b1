import assert from "node:assert/strict";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, it } from "node:test";
import { BuildFailedError, ConflictError } from "../domain/errors.ts";
import type { ContainerInfo, LogLine, LogOptions } from "../engine/engine.ts";
import { unpackTar } from "../engine/tar-files.ts";
import {
  BuildContainerLostError,
  runToCompletion,
  type RunToCompletionOptions,
} from "./build-container.ts";

const MARK = "slipway-build-end-0123abcd";
const GO = `${MARK} nodejs\n`;

/**
 * A build container that, once it got its go line, prints `lines` on its attached output
 * and in its log. With `exitCode`, the runner then exits without printing the end marker
 * (killed, out of memory); without, it keeps running (parked after its marker, or hung).
 * `attachedUntil` cuts the attached stream after that many lines (a broken connection).
 */
function buildEngine(
  lines: readonly string[],
  options: { exitCode?: number; attachedUntil?: number } = {},
) {
  const { exitCode } = options;
  const attachedUntil = options.attachedUntil ?? lines.length;
  const calls: string[] = [];
  const engine: RunToCompletionOptions["engine"] = {
    inspectContainer: () => Promise.resolve(undefined),
    stopContainer: (id, grace) => {
      calls.push(`stop ${id} ${String(grace)}`);
      return Promise.resolve();
    },
    waitContainer: async (_id, signal) => {
      if (exitCode !== undefined) return exitCode;
      if (signal) await once(signal, "abort");
      throw signal?.reason ?? new Error("no signal");
    },
    logs: async function* (_id: string, options: LogOptions): AsyncGenerator<LogLine> {
      calls.push(options.follow ? "follow" : "log");
      for (const line of lines) yield { stream: "stdout", line };
      if (exitCode === undefined && options.follow && options.signal) {
        await once(options.signal, "abort").catch(() => undefined);
      }
    },
    putArchive: (id, path) => {
      calls.push(`put ${id} ${path}`);
      return Promise.resolve();
    },
    attachOutput: (id, signal, input) => {
      calls.push(`attach ${id} ${JSON.stringify(input)}`);
      return Promise.resolve(
        (async function* (): AsyncGenerator<LogLine> {
          await Promise.resolve();
          for (const line of lines.slice(0, attachedUntil)) yield { stream: "stdout", line };
          // Still running and attached: the stream ends when the signal aborts.
          if (exitCode === undefined && attachedUntil === lines.length && signal) {
            await once(signal, "abort").catch(() => undefined);
          }
        })(),
      );
    },
  };
  return { engine, calls };
}

/** runToCompletion with this file's go line and end marker. */
function runIn(
  engine: RunToCompletionOptions["engine"],
  options: Omit<RunToCompletionOptions, "engine" | "goLine" | "endMarker">,
): Promise<Buffer | undefined> {
  return runToCompletion({ engine, goLine: GO, endMarker: MARK, ...options });
}

describe("runToCompletion", () => {
  it("streams every line and succeeds on exit code 0", async () => {
    const { engine, calls } = buildEngine(["-----> Node.js app detected", "       done"], {
      exitCode: 0,
    });
    const seen: string[] = [];
    await runIn(engine, { containerId: "c1", timeoutSeconds: 5, log: (l) => seen.push(l) });
    assert.deepEqual(seen, ["-----> Node.js app detected", "       done"]);
    // The runner exited without its marker: the exit ends the build, the log has the rest.
    assert.deepEqual(calls, [`attach c1 ${JSON.stringify(GO)}`, "follow", "log"]);
  });

  it("reads the rest of a lagging followed log once the container exited, each line once", async () => {
    // Like Podman: the followed stream has delivered only the first lines when the
    // container exits, and would end only later; the finished log has them all.
    const lines = ["-----> one", "       two", "       three", " !     four"];
    const reads: string[] = [];
    const engine: RunToCompletionOptions["engine"] = {
      inspectContainer: () => Promise.resolve(undefined),
      stopContainer: () => Promise.resolve(),
      waitContainer: () => sleep(20).then(() => 1),
      logs: async function* (_id: string, options: LogOptions): AsyncGenerator<LogLine> {
        reads.push(options.follow ? "follow" : "all");
        if (!options.follow) {
          for (const line of lines) yield { stream: "stdout", line };
          return;
        }
        for (const line of lines.slice(0, 2)) yield { stream: "stdout", line };
        if (options.signal) await once(options.signal, "abort").catch(() => undefined);
      },
      putArchive: () => {
        reads.push("put");
        return Promise.resolve();
      },
      // The attached stream broke at once: the log has it all.
      attachOutput: () => Promise.resolve((async function* (): AsyncGenerator<LogLine> {})()),
    };
    const seen: string[] = [];
    await assert.rejects(
      runIn(engine, { containerId: "c1", timeoutSeconds: 5, log: (l) => seen.push(l) }),
      /exit code 1\): four/,
    );
    assert.deepEqual(seen, lines);
    // Nothing came before the break: the go line went in as a file too (go-line.sh).
    assert.deepEqual(reads, ["put", "follow", "all"]);
  });

  it("fails with the buildpack's own reason", async () => {
    const { engine } = buildEngine(
      [
        "-----> Installing dependencies",
        " !     Warning: no package-lock.json",
        "       npm error 404 Not Found",
        " !     npm ci failed: npm error 404 Not Found - GET https://registry/x",
        "",
        " !     Failed to compile Node.js app",
      ],
      { exitCode: 1 },
    );
    await assert.rejects(
      runIn(engine, { containerId: "c1", timeoutSeconds: 5, log: () => undefined }),
      (error: unknown) =>
        error instanceof BuildFailedError &&
        error.message ===
          "build failed (exit code 1): npm ci failed: npm error 404 Not Found - GET https://registry/x",
    );
  });

  it("falls back to the last line printed", async () => {
    const { engine } = buildEngine(["bash: oops: command not found", ""], { exitCode: 127 });
    await assert.rejects(
      runIn(engine, { containerId: "c1", timeoutSeconds: 5, log: () => undefined }),
      /exit code 127\): bash: oops: command not found/,
    );
  });

  it("kills a build that runs past its timeout", async () => {
    const { engine, calls } = buildEngine(["-----> Installing node"]);
    await assert.rejects(
      runIn(engine, { containerId: "c2", timeoutSeconds: 0.2, log: () => undefined }),
      (error: unknown) =>
        error instanceof BuildFailedError && error.message === "build timed out after 0.2 s",
    );
    assert.deepEqual(calls, [`attach c2 ${JSON.stringify(GO)}`, "stop c2 0"]);
  });

  it("stops the container and passes the abort on when cancelled", async () => {
    const { engine, calls } = buildEngine([]);
    const controller = new AbortController();
    setTimeout(() => {
      controller.abort(new Error("cancelled by user"));
    }, 50);
    await assert.rejects(
      runIn(engine, {
        containerId: "c3",
        timeoutSeconds: 60,
        log: () => undefined,
        signal: controller.signal,
      }),
      /cancelled by user/,
    );
    assert.deepEqual(calls, [`attach c3 ${JSON.stringify(GO)}`, "stop c3 0"]);
  });

  it("ends at the runner's end marker, read live, and leaves the parked container running", async () => {
    const { engine, calls } = buildEngine(["-----> Node.js app detected", `${MARK} 0`, "ignored"]);
    const seen: string[] = [];
    await runIn(engine, { containerId: "c4", timeoutSeconds: 5, log: (l) => seen.push(l) });
    assert.deepEqual(seen, ["-----> Node.js app detected"]);
    assert.deepEqual(calls, [`attach c4 ${JSON.stringify(GO)}`]);
  });

  it("takes the marker's status, and output printed before it on the same line", async () => {
    const { engine } = buildEngine([" !     Failed to compile Node.js app", `no newline${MARK} 1`]);
    const seen: string[] = [];
    await assert.rejects(
      runIn(engine, { containerId: "c5", timeoutSeconds: 5, log: (l) => seen.push(l) }),
      /exit code 1\): Failed to compile Node.js app/,
    );
    assert.deepEqual(seen, [" !     Failed to compile Node.js app", "no newline"]);
  });

  it("hands over the output the runner sent with its marker, kept out of the log", async () => {
    const tar = Buffer.from("a tar of out/\n\0 binary");
    const { engine } = buildEngine(["done", `${MARK} 0 ${tar.toString("base64")}`]);
    const seen: string[] = [];
    const sent = await runIn(engine, {
      containerId: "c8",
      timeoutSeconds: 5,
      log: (l) => seen.push(l),
    });
    assert.deepEqual(sent, tar);
    assert.deepEqual(seen, ["done"]);
    const { engine: without } = buildEngine([`${MARK} 0`]);
    assert.equal(
      await runIn(without, { containerId: "c9", timeoutSeconds: 5, log: () => undefined }),
      undefined,
    );
    // Not base64: not a marker line, so the exit ends the build.
    const { engine: bad } = buildEngine([`${MARK} 0 not base64!`], { exitCode: 0 });
    const lines: string[] = [];
    assert.equal(
      await runIn(bad, { containerId: "c10", timeoutSeconds: 5, log: (l) => lines.push(l) }),
      undefined,
    );
    assert.deepEqual(lines, [`${MARK} 0 not base64!`]);
  });

  it("ignores a marker with another token, or without a status", async () => {
    const { engine } = buildEngine([`slipway-build-end-ffff 0`, MARK, `${MARK} 0`]);
    const seen: string[] = [];
    await runIn(engine, { containerId: "c6", timeoutSeconds: 5, log: (l) => seen.push(l) });
    assert.deepEqual(seen, ["slipway-build-end-ffff 0", MARK]);
  });

  it("reads the rest from the log when the attached stream breaks, up to the marker", async () => {
    const { engine, calls } = buildEngine(["one", "two", "three", `${MARK} 0`], {
      attachedUntil: 1,
    });
    const seen: string[] = [];
    await runIn(engine, { containerId: "c7", timeoutSeconds: 5, log: (l) => seen.push(l) });
    assert.deepEqual(seen, ["one", "two", "three"]);
    assert.deepEqual(calls, [`attach c7 ${JSON.stringify(GO)}`, "follow"]);
  });

  it("survives Podman's attach race: the go line goes in as a file, the engine's error is no output", async () => {
    // Podman broke the attach before stdin got through and said so on the stream; the
    // runner took its go line from the workspace file, and its log has what it printed.
    const lines = ["-----> Node.js app detected", `${MARK} 0`];
    const calls: string[] = [];
    let gotGoFile = "";
    const engine: RunToCompletionOptions["engine"] = {
      inspectContainer: () => Promise.resolve(undefined),
      stopContainer: () => Promise.resolve(),
      waitContainer: () => new Promise(() => undefined),
      logs: async function* (_id: string, options: LogOptions): AsyncGenerator<LogLine> {
        calls.push(options.follow ? "follow" : "log");
        await Promise.resolve();
        // Without its go line the runner prints nothing.
        if (gotGoFile === GO) for (const line of lines) yield { stream: "stdout", line };
      },
      putArchive: async (id, path, tar) => {
        calls.push(`put ${id} ${path}`);
        const entries = await unpackTar(tar);
        gotGoFile = entries.find((e) => e.path === "go")?.data.toString() ?? "";
      },
      attachOutput: (id, _signal, input) => {
        calls.push(`attach ${id} ${JSON.stringify(input)}`);
        return Promise.resolve(
          (async function* (): AsyncGenerator<LogLine> {
            await Promise.resolve();
            yield {
              stream: "stderr",
              line: "Error: read unixpacket @->/proc/self/fd/14/attach: read: connection reset by peer",
            };
          })(),
        );
      },
    };
    const seen: string[] = [];
    await runIn(engine, { containerId: "c11", timeoutSeconds: 5, log: (l) => seen.push(l) });
    assert.equal(gotGoFile, GO);
    assert.deepEqual(seen, ["-----> Node.js app detected"]);
    assert.deepEqual(calls, [`attach c11 ${JSON.stringify(GO)}`, "put c11 /workspace", "follow"]);
  });
  it("says why a container that stopped before its attach never began its build", async () => {
    // The runner exited before the attach; Podman's attach then initialized the exited
    // container again (Docker's way), so the stream ended empty and the container reports
    // that it never started. Its log still has what the runner printed.
    const calls: string[] = [];
    const engine: RunToCompletionOptions["engine"] = {
      inspectContainer: () => Promise.resolve(undefined),
      stopContainer: (id) => {
        calls.push(`stop ${id}`);
        return Promise.resolve();
      },
      waitContainer: (id) =>
        Promise.reject(new ConflictError(`container ${id} has not been started`)),
      logs: async function* (_id: string, options: LogOptions): AsyncGenerator<LogLine> {
        calls.push(options.follow ? "follow" : "log");
        await Promise.resolve();
        if (options.follow) return;
        yield { stream: "stderr", line: "mkdir: cannot create directory '/workspace/home'" };
      },
      putArchive: (id, path) => {
        calls.push(`put ${id} ${path}`);
        return Promise.resolve();
      },
      attachOutput: (id) => {
        calls.push(`attach ${id}`);
        return Promise.resolve((async function* (): AsyncGenerator<LogLine> {})());
      },
    };
    const seen: string[] = [];
    const failed = await runIn(engine, {
      containerId: "c12",
      timeoutSeconds: 5,
      log: (l) => seen.push(l),
    }).then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(failed instanceof BuildContainerLostError, String(failed));
    assert.ok(failed instanceof BuildFailedError);
    assert.equal(
      failed.message,
      "the build container stopped before the build began: mkdir: cannot create directory '/workspace/home'",
    );
    assert.deepEqual(seen, ["mkdir: cannot create directory '/workspace/home'"]);
    assert.deepEqual(calls, ["attach c12", "put c12 /workspace", "follow", "log", "stop c12"]);
  });

  it("does not take a not-started answer for a lost container once the build printed", async () => {
    const engine: RunToCompletionOptions["engine"] = {
      inspectContainer: () => Promise.resolve(undefined),
      stopContainer: () => Promise.resolve(),
      waitContainer: () => Promise.reject(new ConflictError("has not been started")),
      logs: async function* (): AsyncGenerator<LogLine> {},
      putArchive: () => Promise.resolve(),
      attachOutput: () =>
        Promise.resolve(
          (async function* (): AsyncGenerator<LogLine> {
            await Promise.resolve();
            yield { stream: "stdout", line: "-----> Node.js app detected" };
          })(),
        ),
    };
    await assert.rejects(
      runIn(engine, { containerId: "c13", timeoutSeconds: 5, log: () => undefined }),
      (error: unknown) => error instanceof ConflictError,
    );
  });
  it("ends the attach when the container it attached to was initialized again (it had stopped)", async () => {
    const calls: string[] = [];
    const engine: RunToCompletionOptions["engine"] = {
      inspectContainer: (id) => {
        calls.push(`inspect ${id}`);
        return Promise.resolve({ state: "created" } as ContainerInfo);
      },
      stopContainer: (id) => {
        calls.push(`stop ${id}`);
        return Promise.resolve();
      },
      waitContainer: () => new Promise(() => undefined),
      logs: async function* (_id: string, options: LogOptions): AsyncGenerator<LogLine> {
        calls.push(options.follow ? "follow" : "log");
        await Promise.resolve();
        yield { stream: "stderr", line: "sh: /workspace/buildpacks/_runner/build.sh: not found" };
      },
      putArchive: () => Promise.reject(new Error("not expected")),
      // Attached to a container that waits for a start: nothing comes until the signal.
      attachOutput: (id, signal) => {
        calls.push(`attach ${id}`);
        return Promise.resolve(
          (async function* (): AsyncGenerator<LogLine> {
            if (signal) await once(signal, "abort").catch(() => undefined);
            yield* [];
          })(),
        );
      },
    };
    const seen: string[] = [];
    await assert.rejects(
      runIn(engine, { containerId: "c14", timeoutSeconds: 30, log: (l) => seen.push(l) }),
      (error: unknown) =>
        error instanceof BuildContainerLostError &&
        error.message.endsWith(": sh: /workspace/buildpacks/_runner/build.sh: not found"),
    );
    assert.deepEqual(seen, ["sh: /workspace/buildpacks/_runner/build.sh: not found"]);
    assert.deepEqual(calls, ["attach c14", "inspect c14", "log", "stop c14"]);
  });
});
