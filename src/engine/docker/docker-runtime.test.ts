import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import type { EngineApi, RequestOptions } from "./api-client.ts";
import { containerEvents, containerStats } from "./docker-runtime.ts";

/** An EngineApi answering one canned JSON document or stream, recording the request. */
function stub(
  answer: unknown,
  lines: readonly string[] = [],
): EngineApi & { calls: { path: string; options: RequestOptions | undefined }[] } {
  const calls: { path: string; options: RequestOptions | undefined }[] = [];
  return {
    calls,
    json: (_method, path, options) => {
      calls.push({ path, options });
      return Promise.resolve(answer);
    },
    text: () => Promise.resolve(""),
    stream: (_method, path, options) => {
      calls.push({ path, options });
      return Promise.resolve(Readable.from(lines.map((l) => `${l}\n`)));
    },
    upgrade: () => Promise.reject(new Error("not used")),
  };
}

describe("docker runtime calls", () => {
  it("computes CPU percent and memory from one stats sample", async () => {
    const api = stub({
      cpu_stats: { cpu_usage: { total_usage: 3_000 }, system_cpu_usage: 20_000, online_cpus: 2 },
      precpu_stats: { cpu_usage: { total_usage: 1_000 }, system_cpu_usage: 10_000 },
      memory_stats: { usage: 50, limit: 100 },
    });
    assert.deepEqual(await containerStats(api, "c1"), {
      cpuPercent: 40,
      memoryBytes: 50,
      memoryLimitBytes: 100,
    });
    assert.equal(api.calls[0]?.options?.query?.stream, false);
  });

  it("yields die (Podman's died) and oom events of the instance's containers only", async () => {
    const api = stub(null, [
      JSON.stringify({ Type: "container", Action: "start", Actor: { ID: "a", Attributes: {} } }),
      JSON.stringify({
        Type: "container",
        Action: "died",
        Actor: { ID: "b", Attributes: { "io.slipway.app-id": "app1", exitCode: "137" } },
      }),
      "not json",
      JSON.stringify({ Type: "container", Action: "oom", Actor: { ID: "c", Attributes: {} } }),
    ]);
    const events = [];
    for await (const e of containerEvents(
      api,
      "inst",
      { "io.slipway.role": "app" },
      new AbortController().signal,
    ))
      events.push(e);
    assert.deepEqual(
      events.map((e) => [e.action, e.containerId, e.exitCode, e.labels["io.slipway.app-id"]]),
      [
        ["die", "b", 137, "app1"],
        ["oom", "c", null, undefined],
      ],
    );
    const filters = JSON.parse(String(api.calls[0]?.options?.query?.filters)) as {
      label: string[];
    };
    assert.deepEqual(filters.label.sort(), ["io.slipway.instance=inst", "io.slipway.role=app"]);
  });
});
