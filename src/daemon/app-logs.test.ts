import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { App } from "../domain/app.ts";
import { LABEL } from "../domain/labels.ts";
import { FakeEngine } from "../engine/fake-engine.ts";
import { packTar, tarFile } from "../engine/tar-files.ts";
import type { AccessLogEntry } from "../router/metrics/access-log.ts";
import { SqliteStore } from "../store/sqlite/sqlite-store.ts";
import { appLogs, type AccessLogSource } from "./app-logs.ts";

/** An access log with scripted entries whose listeners the test can call. */
function fakeAccessLog(entries: AccessLogEntry[]): AccessLogSource & {
  emit(entry: AccessLogEntry): void;
} {
  const listeners = new Set<(entry: AccessLogEntry) => void>();
  return {
    recent: (app, limit) => entries.filter((e) => e.app === app).slice(-limit),
    onEntry(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit(entry) {
      for (const listener of listeners) listener(entry);
    },
  };
}

const request = (time: string, path: string): AccessLogEntry => ({
  time,
  app: "shop",
  method: "GET",
  path,
  status: 200,
  durationMs: 3,
  bytes: 12,
  clientIp: "127.0.0.1",
  requestId: "r1",
});

describe("app logs", () => {
  let store: SqliteStore;
  let engine: FakeEngine;
  let app: App;
  let now = Date.parse("2026-11-29T10:00:00.000Z");

  beforeEach(async () => {
    now = Date.parse("2026-11-29T10:00:00.000Z");
    store = new SqliteStore(":memory:", { now: () => new Date(now) });
    engine = new FakeEngine({
      instance: "t1",
      program: () => ({ untilStopped: true, stdout: ["listening on 5000"] }),
    });
    app = await store.createApp("shop");
    await engine.importImage(packTar([tarFile("app/server.js", "")]), {
      reference: "img",
      labels: {},
    });
    await engine.ensureNetwork("t1-shop", {});
  });
  afterEach(async () => {
    await store.close();
  });

  async function startWeb(): Promise<void> {
    const id = await engine.createContainer({
      name: "sw-t1-shop-web-v1-abc123",
      image: "img",
      env: {},
      labels: {
        [LABEL.appId]: app.id,
        [LABEL.processType]: "web",
        [LABEL.release]: "1",
        [LABEL.role]: "web",
      },
      network: "t1-shop",
      limits: { memoryBytes: 1 << 28, cpus: 1, pids: 64, tmpBytes: 1 << 20 },
    });
    await engine.startContainer(id);
  }

  async function collect(options: Partial<Parameters<typeof appLogs>[2]> = {}, deps = {}) {
    const lines: string[] = [];
    for await (const line of appLogs({ store, engine, ...deps }, app, {
      tail: 100,
      follow: false,
      type: undefined,
      signal: new AbortController().signal,
      ...options,
    }))
      lines.push(line);
    return lines;
  }

  it("merges events, container output and router lines by time, each with its source", async () => {
    await store.addEvent(app.id, "deploy", "v1 by admin");
    now += 2000;
    const accessLog = fakeAccessLog([
      request("2026-11-29T09:59:59.000Z", "/early"),
      request("2026-11-29T10:00:01.500Z", "/"),
    ]);
    await startWeb();
    const lines = await collect({}, { accessLog });
    const started = (await engine.listContainers())[0]?.startedAt ?? "";
    assert.deepEqual(
      lines.map((l) => l.replace(started, "START")),
      [
        "2026-11-29T09:59:59.000Z router: GET /early 200 3ms 12B client=127.0.0.1 request_id=r1",
        "2026-11-29T10:00:00.000Z slipway: deploy v1 by admin",
        "2026-11-29T10:00:01.500Z router: GET / 200 3ms 12B client=127.0.0.1 request_id=r1",
        "START web.v1-abc123: listening on 5000",
      ],
    );
    // --tail cuts the merged log, --type narrows it to one source.
    assert.equal((await collect({ tail: 2 }, { accessLog })).length, 2);
    assert.deepEqual(
      (await collect({ type: "router" }, { accessLog })).map((l) => l.split(" ")[3]),
      ["/early", "/"],
    );
    assert.deepEqual(
      (await collect({ type: "web" }, { accessLog })).map((l) => l.split(" ").slice(1).join(" ")),
      ["web.v1-abc123: listening on 5000"],
    );
  });

  it("follows new router lines as they come and stops when the client leaves", async () => {
    const accessLog = fakeAccessLog([]);
    const controller = new AbortController();
    const lines: string[] = [];
    const done = (async () => {
      for await (const line of appLogs({ store, engine, accessLog }, app, {
        tail: 10,
        follow: true,
        type: "router",
        signal: controller.signal,
      })) {
        lines.push(line);
        controller.abort();
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 20));
    accessLog.emit(request("2026-11-29T10:00:05.000Z", "/live"));
    await done;
    assert.deepEqual(lines, [
      "2026-11-29T10:00:05.000Z router: GET /live 200 3ms 12B client=127.0.0.1 request_id=r1",
    ]);
  });
});
