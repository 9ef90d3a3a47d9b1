import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { App } from "../domain/app.ts";
import { ConflictError, NotFoundError } from "../domain/errors.ts";
import { silentLogger } from "../domain/logger.ts";
import { FakeEngine } from "../engine/fake-engine.ts";
import { packTar, tarFile } from "../engine/tar-files.ts";
import { SqliteStore } from "../store/sqlite/sqlite-store.ts";
import { runtimeOps } from "./runtime-ops.ts";

describe("runtime ops: interactive one-offs", () => {
  let store: SqliteStore;
  let engine: FakeEngine;
  let app: App;

  beforeEach(async () => {
    store = new SqliteStore(":memory:");
    engine = new FakeEngine({
      instance: "t1",
      program: (spec) =>
        spec.tty === true ? { untilStopped: true, stdout: ["$ "] } : { stdout: ["done"] },
    });
    app = await store.createApp("shop");
    await engine.importImage(packTar([tarFile("app/server.js", "")]), {
      reference: "img-1",
      labels: {},
    });
    await store.createRelease({
      appId: app.id,
      imageDigest: `sha256:${"1".padStart(64, "0")}`,
      imageRef: "img-1",
      buildId: null,
      processTypes: { web: "node server.js" },
      stack: "slipway-24",
      buildpacks: ["nodejs"],
      description: "test",
    });
  });
  afterEach(async () => {
    await store.close();
  });

  const ops = () =>
    runtimeOps({
      store,
      engine,
      instance: "t1",
      logger: silentLogger,
      defaults: { bootTimeoutSeconds: 60, stopGraceSeconds: 30, maxQuantity: 20 },
    });

  it("creates the container with a terminal, starts and sizes it on attach, keeps the exit code", async () => {
    const runtime = ops();
    const info = await runtime.runOneOff(app, "bash", { rows: 33, cols: 101 });
    assert.equal(info.tty, true);
    assert.equal((await engine.inspectContainer(info.id))?.state, "created");

    const terminal = await runtime.attachOneOff(app, info.id);
    assert.equal((await engine.inspectContainer(info.id))?.state, "running");
    assert.deepEqual(engine.terminalSizeOf(info.id), { rows: 33, cols: 101 });
    terminal.write("exit\n");
    await assert.rejects(runtime.attachOneOff(app, info.id), ConflictError);

    // The client leaves: the session ends, the container is stopped and removed.
    terminal.destroy();
    const code = await runtime.oneOffExit(app, info.id, AbortSignal.timeout(5_000));
    assert.equal(code, 143);
    assert.equal(engine.stdinOf(info.id), "exit\n");
    assert.equal(await engine.inspectContainer(info.id), undefined);
    const events = await store.listEvents(app.id, 10);
    assert.ok(events.some((e) => e.type === "run" && e.message.includes("(interactive)")));
    assert.ok(events.some((e) => e.type === "run.exited"));
  });

  it("does not hand out the exit code of another app's one-off", async () => {
    const runtime = ops();
    const other = await store.createApp("blog");
    const info = await runtime.runOneOff(app, "bash", { rows: 24, cols: 80 });
    await assert.rejects(
      runtime.oneOffExit(other, info.id, AbortSignal.timeout(1_000)),
      NotFoundError,
    );
  });
});
