import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import type { App } from "../domain/app.ts";
import { silentLogger } from "../domain/logger.ts";
import type { Release } from "../domain/release.ts";
import { FakeEngine } from "../engine/fake-engine.ts";
import { packTar, tarFile } from "../engine/tar-files.ts";
import { SqliteStore } from "../store/sqlite/sqlite-store.ts";
import { formationDefaults } from "./formation-defaults.ts";
import { pendingToRun, POSTDEPLOY_SETTING, ReleaseHooks } from "./release-hooks.ts";

const rel = (version: number, status: Release["status"]): Release => ({
  id: `rel_${String(version)}`,
  appId: "app_1",
  version,
  imageDigest: "sha256:0",
  imageRef: "img",
  buildId: null,
  processTypes: { web: "x", release: "y" },
  stack: "s",
  buildpacks: [],
  description: "",
  createdAt: "2026-01-01T00:00:00Z",
  ...(status === undefined ? {} : { status }),
});

describe("pendingToRun", () => {
  it("runs the newest pending release and supersedes older pending ones", () => {
    const plan = pendingToRun([rel(1, "succeeded"), rel(2, "pending"), rel(3, "pending")]);
    assert.equal(plan.run?.version, 3);
    assert.deepEqual(
      plan.superseded.map((r) => r.version),
      [2],
    );
  });

  it("supersedes a pending release older than a settled one", () => {
    const plan = pendingToRun([rel(2, "pending"), rel(3, "succeeded")]);
    assert.equal(plan.run, undefined);
    assert.deepEqual(
      plan.superseded.map((r) => r.version),
      [2],
    );
  });

  it("does nothing without pending releases (absent status is succeeded)", () => {
    assert.deepEqual(pendingToRun([rel(1, undefined), rel(2, "failed")]), {
      run: undefined,
      superseded: [],
    });
  });
});

describe("formationDefaults", () => {
  const manifest = {
    formation: { web: { quantity: 2, size: "M" }, worker: { quantity: 1, size: "S" } },
    postdeploy: null,
    healthchecks: {},
  };
  const current = [{ appId: "a", type: "web", quantity: 1, size: "S" }];

  it("sets the whole formation on the first release", () => {
    assert.deepEqual(formationDefaults("a", 1, manifest, current), [
      { appId: "a", type: "web", quantity: 2, size: "M" },
      { appId: "a", type: "worker", quantity: 1, size: "S" },
    ]);
  });

  it("only adds missing process types later, never overriding scaling", () => {
    assert.deepEqual(formationDefaults("a", 4, manifest, current), [
      { appId: "a", type: "worker", quantity: 1, size: "S" },
    ]);
    assert.deepEqual(formationDefaults("a", 4, null, current), []);
  });
});

describe("ReleaseHooks", () => {
  let store: SqliteStore;
  let engine: FakeEngine;
  let app: App;
  let exitCode: number;
  let serving: number | undefined;
  let hooks: ReleaseHooks;
  const signal = new AbortController().signal;
  const started: { cmd: readonly string[]; env: Readonly<Record<string, string>>; role: string }[] =
    [];

  beforeEach(async () => {
    started.length = 0;
    exitCode = 0;
    serving = undefined;
    store = new SqliteStore(":memory:");
    engine = new FakeEngine({
      instance: "t1",
      program: (spec) => {
        started.push({
          cmd: spec.cmd ?? [],
          env: spec.env,
          role: spec.labels["io.slipway.role"] ?? "",
        });
        return { exitCode, stdout: ["migrating", "boom"] };
      },
    });
    hooks = new ReleaseHooks({
      store,
      engine,
      instance: "t1",
      logger: silentLogger,
      configVars: () => Promise.resolve({ DATABASE_URL: "postgres://x" }),
      keepReleases: 10,
      timeoutMs: 5000,
      servingVersion: () => serving,
    });
    app = await store.createApp("hello");
    await engine.importImage(packTar([tarFile("app/server.js", "")]), {
      reference: "img",
      labels: {},
    });
  });

  const create = (status: "pending" | "succeeded", manifestPostdeploy: string | null = null) =>
    store.createRelease({
      appId: app.id,
      imageDigest: "sha256:0",
      imageRef: "img",
      buildId: null,
      processTypes: { web: "node server.js", release: "node migrate.js" },
      stack: "s",
      buildpacks: [],
      description: "d",
      status,
      manifest:
        manifestPostdeploy === null
          ? null
          : { formation: {}, postdeploy: manifestPostdeploy, healthchecks: {} },
    });

  it("runs the release phase in a one-off container with the config vars, then lets it serve", async () => {
    const v1 = await create("pending");
    assert.equal(await store.currentRelease(app.id), undefined);
    await hooks.beforeRollout(app, signal);
    assert.equal((await store.getRelease(v1.id))?.status, "succeeded");
    assert.equal((await store.currentRelease(app.id))?.id, v1.id);
    assert.deepEqual(started[0]?.cmd, ["/app/.slipway/launch", "release"]);
    assert.equal(started[0].role, "one-off");
    assert.equal(started[0].env.DATABASE_URL, "postgres://x");
    assert.deepEqual(await engine.listContainers({ "io.slipway.app-id": app.id }), []);
  });

  it("marks the release failed with the output when the phase fails; the old one stays current", async () => {
    const v1 = await create("succeeded");
    const v2 = await create("pending");
    exitCode = 3;
    await hooks.beforeRollout(app, signal);
    const failed = await store.getRelease(v2.id);
    assert.equal(failed?.status, "failed");
    assert.match(failed.statusDetail ?? "", /exited with code 3.*boom/);
    assert.equal((await store.currentRelease(app.id))?.id, v1.id);
    const events = await store.listEvents(app.id, 10);
    assert.ok(events.some((e) => e.type === "release.failed" && e.message.includes("boom")));
  });

  it("runs postdeploy once, after the first deploy serves", async () => {
    const v1 = await create("succeeded", "node seed.js");
    await hooks.afterRollout(app, signal);
    assert.equal(started.length, 0, "not before the release serves");
    serving = v1.version;
    await hooks.afterRollout(app, signal);
    await hooks.afterRollout(app, signal);
    assert.equal(started.length, 1);
    assert.deepEqual(started[0]?.cmd, ["/app/.slipway/launch", "-c", "node seed.js"]);
    assert.equal((await store.getAppSettings(app.id))[POSTDEPLOY_SETTING], "v1 succeeded");
  });
});
