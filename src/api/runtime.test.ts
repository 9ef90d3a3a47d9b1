import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { Hono } from "hono";
import { SqliteStore } from "../store/sqlite/sqlite-store.ts";
import { createApi } from "./api.ts";
import type { ApiEnv } from "./context.ts";
import { createTestToken, fakeDeps } from "./fake-deps.ts";
import { EXIT_TRAILER, type AppLogOptions, type RuntimeDeps } from "./runtime-deps.ts";
import { expectProblem } from "./test-harness.ts";

describe("runtime endpoints (sizes, scale, restart, runtime, one-offs, logs)", () => {
  let store: SqliteStore;
  let api: Hono<ApiEnv>;
  let dir: string;
  let secret: string;
  let logCalls: AppLogOptions[];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "slipway-rt-"));
    store = new SqliteStore(":memory:");
    logCalls = [];
    const runtime: RuntimeDeps = {
      defaults: { bootTimeoutSeconds: 60, stopGraceSeconds: 30, maxQuantity: 20 },
      runOneOff: (_app, command, terminal) =>
        Promise.resolve({ id: "c1", name: `one-off ${command}`, tty: terminal !== undefined }),
      attachOneOff: () => Promise.reject(new Error("not attached in this suite")),
      resizeOneOff: () => Promise.resolve(),
      oneOffExit: () => Promise.resolve(0),
      async *oneOffOutput() {
        await Promise.resolve();
        yield "hello";
        yield `${EXIT_TRAILER}127`;
      },
      async *appLogs(_app, options) {
        await Promise.resolve();
        logCalls.push(options);
        yield "web.v1-abc: listening";
      },
    };
    api = createApi({ ...fakeDeps(store, { uploadDir: dir }), runtime });
    secret = (await createTestToken(store)).secret;
    const app = await store.createApp("shop");
    await store.createRelease({
      appId: app.id,
      imageDigest: "sha256:1",
      imageRef: "x",
      buildId: null,
      processTypes: { web: "node server.js", worker: "node worker.js" },
      stack: "s",
      buildpacks: [],
      description: "deploy",
    });
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const send = (path: string, body?: unknown): Promise<Response> =>
    Promise.resolve(
      api.request(path, {
        method: body === undefined ? "GET" : "POST",
        headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    );

  it("lists the sizes S to 2XL", async () => {
    const res = await send("/v1/sizes");
    const { items } = (await res.json()) as { items: { name: string }[] };
    assert.deepEqual(
      items.map((s) => s.name),
      ["S", "M", "L", "XL", "2XL"],
    );
  });

  it("scales horizontally and vertically at once", async () => {
    const res = await send("/v1/apps/shop/scale", {
      changes: [
        { type: "web", quantity: 3, size: "m" },
        { type: "worker", quantity: 1 },
      ],
    });
    assert.equal(res.status, 200);
    const app = await store.getApp("shop");
    assert.deepEqual(
      (await store.getFormation(app?.id ?? "")).map((f) => [f.type, f.quantity, f.size]),
      [
        ["web", 3, "M"],
        ["worker", 1, "S"],
      ],
    );
  });

  it("refuses unknown types and sizes, negative and absurd quantities, changing nothing", async () => {
    for (const change of [
      { type: "clock", quantity: 1 },
      { type: "web", size: "XXXL" },
      { type: "web", quantity: -1 },
      { type: "web", quantity: 21 },
    ]) {
      const res = await send("/v1/apps/shop/scale", {
        changes: [{ type: "worker", quantity: 2 }, change],
      });
      const problem = await expectProblem(res, 422, "invalid_input");
      assert.match(
        problem.detail,
        /unknown process type "clock"|unknown container size|from 0 to 20/,
      );
    }
    const app = await store.getApp("shop");
    assert.deepEqual(
      (await store.getFormation(app?.id ?? "")).map((f) => [f.type, f.quantity]),
      [["web", 1]],
    );
  });

  it("honours a per-app quantity limit", async () => {
    await send("/v1/apps/shop/runtime", { maxQuantity: 50 });
    assert.equal(
      (await send("/v1/apps/shop/scale", { changes: [{ type: "web", quantity: 30 }] })).status,
      200,
    );
  });

  it("records a restart mark for a type and refuses an unknown one", async () => {
    assert.equal((await send("/v1/apps/shop/restart", { type: "web" })).status, 202);
    const app = await store.getApp("shop");
    assert.ok((await store.getAppSettings(app?.id ?? ""))["restart.web"]);
    await expectProblem(
      await send("/v1/apps/shop/restart", { type: "nope" }),
      422,
      "invalid_input",
    );
  });

  it("sets and clears the health check path, and checks it", async () => {
    let res = await send("/v1/apps/shop/runtime", {
      healthcheckPath: "/health",
      stopGraceSeconds: 2,
    });
    let body = (await res.json()) as { healthcheckPath: string | null; stopGraceSeconds: number };
    assert.equal(body.healthcheckPath, "/health");
    assert.equal(body.stopGraceSeconds, 2);
    await expectProblem(
      await send("/v1/apps/shop/runtime", { healthcheckPath: "health x" }),
      422,
      "invalid_input",
    );
    res = await send("/v1/apps/shop/runtime", { healthcheckPath: "" });
    body = (await res.json()) as typeof body;
    assert.equal(body.healthcheckPath, null);
  });

  it("starts a one-off and streams its output with the exit code last", async () => {
    const created = await send("/v1/apps/shop/one-offs", { command: "nope" });
    assert.equal(created.status, 201);
    const res = await send("/v1/apps/shop/one-offs/c1/output");
    assert.deepEqual((await res.text()).split("\n"), ["hello", `${EXIT_TRAILER}127`, ""]);
  });

  it("refuses a half-given terminal size and an attach that is not an upgrade", async () => {
    await expectProblem(
      await send("/v1/apps/shop/one-offs", { command: "bash", rows: 24 }),
      422,
      "invalid_input",
    );
    const tty = await send("/v1/apps/shop/one-offs", { command: "bash", rows: 24, cols: 80 });
    assert.equal(((await tty.json()) as { tty: boolean }).tty, true);
    await expectProblem(await send("/v1/apps/shop/one-offs/c1/attach", {}), 422, "invalid_input");
    await expectProblem(
      await send("/v1/apps/shop/one-offs/c1/resize", { rows: 0, cols: 80 }),
      422,
      "invalid_input",
    );
  });

  it("reads logs with tail and type", async () => {
    const res = await send("/v1/apps/shop/logs?tail=5&type=web");
    assert.equal(await res.text(), "web.v1-abc: listening\n");
    const [call] = logCalls;
    assert.ok(call);
    assert.equal(call.tail, 5);
    assert.equal(call.type, "web");
    await expectProblem(await send("/v1/apps/shop/logs?type=clock"), 404, "process_not_found");
  });
});
