import assert from "node:assert/strict";
import { once } from "node:events";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { outputUntilExit } from "./container-output.ts";
import type { LogLine, LogOptions } from "./engine.ts";

/**
 * A container that wrote `lines` and exits after `exitAfterMs` with code 4 (never when
 * null); its followed log, like Podman's, has delivered only the first `followed` lines
 * at the exit and ends only when aborted.
 */
function lagging(lines: readonly string[], followed: number, exitAfterMs: number | null) {
  const reads: string[] = [];
  const engine = {
    waitContainer: async (_id: string, signal?: AbortSignal): Promise<number> => {
      if (exitAfterMs === null) {
        if (signal) await once(signal, "abort");
        throw signal?.reason ?? new Error("no signal");
      }
      await sleep(exitAfterMs);
      return 4;
    },
    logs: async function* (_id: string, options: LogOptions): AsyncGenerator<LogLine> {
      reads.push(options.follow ? "follow" : "all");
      const shown = options.follow ? lines.slice(0, followed) : lines;
      for (const line of shown) yield { stream: "stdout", line };
      if (options.follow && options.signal) {
        await once(options.signal, "abort").catch(() => undefined);
      }
    },
  };
  return { engine, reads };
}

async function drain(output: AsyncGenerator<LogLine, number>) {
  const lines: string[] = [];
  for (;;) {
    const next = await output.next();
    if (next.done === true) return { lines, code: next.value };
    lines.push(next.value.line);
  }
}

describe("outputUntilExit", () => {
  it("stops following at the exit and reads the rest of the finished log, each line once", async () => {
    const { engine, reads } = lagging(["a", "b", "c", "d"], 2, 10);
    assert.deepEqual(await drain(outputUntilExit(engine, "c1")), {
      lines: ["a", "b", "c", "d"],
      code: 4,
    });
    assert.deepEqual(reads, ["follow", "all"]);
  });

  it("delivers a log the follow already completed only once", async () => {
    const { engine } = lagging(["a", "b"], 2, 10);
    assert.deepEqual((await drain(outputUntilExit(engine, "c1"))).lines, ["a", "b"]);
  });

  it("throws the abort's reason when the signal aborts before the exit", async () => {
    const { engine } = lagging(["a"], 1, null);
    const controller = new AbortController();
    setTimeout(() => {
      controller.abort(new Error("cancelled"));
    }, 10);
    await assert.rejects(drain(outputUntilExit(engine, "c1", controller.signal)), /cancelled/);
  });
});
