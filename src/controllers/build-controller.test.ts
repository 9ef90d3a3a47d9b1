import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { silentLogger } from "../domain/logger.ts";
import { SqliteStore } from "../store/sqlite/sqlite-store.ts";
import { FakeEngine } from "../engine/fake-engine.ts";
import type { AppController } from "./app-controller.ts";
import { BuildController, type Builder, type BuildFiles } from "./build-controller.ts";
import { ControllerManager } from "./manager.ts";
import { RuntimeState } from "./runtime-state.ts";

const files: BuildFiles = {
  sourcePath: (build) => `/nowhere/${build.sourceChecksum}`,
  openLog: () => ({ write: () => undefined, close: () => Promise.resolve() }),
  removeSource: () => Promise.resolve(),
};

/** A builder that takes a while and records which builds ran and how many overlapped. */
function slowBuilder(): Builder & {
  readonly order: string[];
  readonly maxRunning: (app: string) => number;
  readonly maxRunningOverall: () => number;
} {
  const order: string[] = [];
  const running = new Map<string, number>();
  const max = new Map<string, number>();
  let overall = 0;
  let maxOverall = 0;
  return {
    order,
    maxRunning: (app) => max.get(app) ?? 0,
    maxRunningOverall: () => maxOverall,
    async build(request) {
      const app = request.app.name;
      running.set(app, (running.get(app) ?? 0) + 1);
      max.set(app, Math.max(max.get(app) ?? 0, running.get(app) ?? 0));
      maxOverall = Math.max(maxOverall, ++overall);
      order.push(request.build.sourceChecksum);
      await new Promise((resolve) => setTimeout(resolve, 30));
      running.set(app, (running.get(app) ?? 1) - 1);
      overall--;
      return {
        imageRef: `slipway/app-${request.app.name}:${request.build.sourceChecksum}`,
        imageDigest: `sha256:${request.build.sourceChecksum.padEnd(64, "0")}`,
        processTypes: { web: "node server.js" },
        buildpacks: ["nodejs"],
        stack: "bookworm",
      };
    },
  };
}

describe("BuildController", () => {
  it("fails builds a dead daemon left running and has their containers removed", async () => {
    const store = new SqliteStore(":memory:");
    let leftoversRemoved = 0;
    const builder: Builder = {
      build: () => Promise.reject(new Error("no build runs here")),
      removeLeftovers: () => {
        leftoversRemoved++;
        return Promise.resolve();
      },
    };
    const builds = new BuildController({ store, builder, files, logger: silentLogger });
    const app = await store.createApp("shop");
    const build = await store.createBuild(app.id, "a1");
    await store.updateBuild(build.id, { status: "running" });
    await builds.failInterrupted();
    const after = (await store.listBuilds(app.id))[0];
    assert.equal(after?.status, "failed");
    assert.match(after.error ?? "", /interrupted by a platform restart/);
    assert.equal(leftoversRemoved, 1);
  });

  it("runs an app's pending builds one at a time, oldest first, releasing in push order", async () => {
    const store = new SqliteStore(":memory:");
    const builder = slowBuilder();
    const builds = new BuildController({ store, builder, files, logger: silentLogger });
    const shop = await store.createApp("shop");
    const blog = await store.createApp("blog");
    for (const source of ["a1", "b2", "c3"]) await store.createBuild(shop.id, source);
    await store.createBuild(blog.id, "x9");
    const manager = new ControllerManager({
      store,
      engine: new FakeEngine(),
      apps: { reconcile: () => Promise.resolve({}) } as unknown as AppController,
      builds,
      logger: silentLogger,
      buildConcurrency: 4,
      resyncMs: 60_000,
    });
    await manager.start();
    try {
      for (let i = 0; i < 200; i++) {
        const all = [...(await store.listBuilds(shop.id)), ...(await store.listBuilds(blog.id))];
        if (all.every((build) => build.status === "succeeded")) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await manager.stop();
    }
    assert.deepEqual(
      builder.order.filter((source) => source !== "x9"),
      ["a1", "b2", "c3"],
    );
    assert.equal(builder.maxRunning("shop"), 1, "one app's builds never overlap");
    assert.equal(builder.maxRunningOverall(), 2, "another app builds meanwhile");
    const releases = await store.listReleases(shop.id); // newest first
    assert.deepEqual(
      releases.map((release) => release.imageRef.split(":")[1]),
      ["c3", "b2", "a1"],
      "the newest push is the newest release",
    );
  });

  it("keeps a source another app's build still needs (one file per checksum)", async () => {
    const store = new SqliteStore(":memory:");
    const removed: string[] = [];
    const shared: BuildFiles = {
      ...files,
      removeSource: (build) => {
        removed.push(`${build.id} ${build.sourceChecksum}`);
        return Promise.resolve();
      },
    };
    const builds = new BuildController({
      store,
      builder: slowBuilder(),
      files: shared,
      logger: silentLogger,
    });
    const shop = await store.createApp("shop");
    const blog = await store.createApp("blog");
    await store.createBuild(shop.id, "same");
    const waiting = await store.createBuild(blog.id, "same");
    await builds.reconcileApp(shop.id, new AbortController().signal);
    assert.deepEqual(removed, [], "blog's pending build still needs the file");
    await builds.reconcileApp(blog.id, new AbortController().signal);
    assert.deepEqual(removed, [`${waiting.id} same`], "the last build of the source removes it");
  });

  it("stops between builds when aborted", async () => {
    const store = new SqliteStore(":memory:");
    const builder = slowBuilder();
    const controller = new BuildController({ store, builder, files, logger: silentLogger });
    const app = await store.createApp("shop");
    for (const source of ["a1", "b2"]) await store.createBuild(app.id, source);
    const abort = new AbortController();
    const run = controller.reconcileApp(app.id, abort.signal);
    abort.abort();
    await run;
    assert.deepEqual(builder.order, ["a1"]);
    const statuses = (await store.listBuilds(app.id)).map((build) => build.status);
    assert.deepEqual(statuses, ["pending", "succeeded"]);
  });

  it("removes what a build left once its release serves, then prepares the next build", async () => {
    const store = new SqliteStore(":memory:");
    const state = new RuntimeState();
    const events: string[] = [];
    const builder: Builder = {
      async build(request) {
        const result = await slowBuilder().build(request);
        return {
          ...result,
          cleanUp: () => {
            events.push(`clean ${request.build.sourceChecksum}`);
            return Promise.resolve();
          },
        };
      },
      prepareNext(app) {
        events.push(`prepare ${app.name}`);
      },
    };
    const controller = new BuildController({
      store,
      builder,
      files,
      logger: silentLogger,
      rolledOut: (appId, version, signal) => state.whenRouted(appId, version, signal),
    });
    const app = await store.createApp("shop");
    await store.createBuild(app.id, "a1");
    await controller.reconcileApp(app.id, AbortSignal.timeout(5000));
    assert.equal((await store.listBuilds(app.id))[0]?.status, "succeeded");
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(events, [], "kept while the release does not serve yet");
    // The next push came meanwhile: its build prepares its own container.
    await store.createBuild(app.id, "b2");
    state.markRouted(app.id, 1);
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(events, ["clean a1"]);
    await controller.reconcileApp(app.id, AbortSignal.timeout(5000));
    state.markRouted(app.id, 2);
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(events, ["clean a1", "clean b2", "prepare shop"]);

    // Stopping the controller removes what still waits, at once, and prepares nothing.
    await store.createBuild(app.id, "c3");
    await controller.reconcileApp(app.id, AbortSignal.timeout(5000));
    await controller.stop();
    assert.deepEqual(events, ["clean a1", "clean b2", "prepare shop", "clean c3"]);
  });

  it("removes at once what a build left when no release came of it, and logs a failed removal", async () => {
    const store = new SqliteStore(":memory:");
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (message: string) => void warnings.push(message) };
    let cleaned = 0;
    let prepared = 0;
    const builder: Builder = {
      prepareNext: () => {
        prepared++;
      },
      async build(request) {
        const result = await slowBuilder().build(request);
        // The app is deleted while it builds: no release can be made of the image.
        await store.deleteApp(request.app.id);
        return {
          ...result,
          cleanUp: () => {
            cleaned++;
            return Promise.reject(new Error("engine gone"));
          },
        };
      },
    };
    let waited = 0;
    const controller = new BuildController({
      store,
      builder,
      files,
      logger,
      rolledOut: () => {
        waited++;
        return Promise.resolve();
      },
    });
    const app = await store.createApp("shop");
    await store.createBuild(app.id, "a1");
    // The build went with its app, so recording its outcome fails too (the queue logs it).
    await controller.reconcileApp(app.id, AbortSignal.timeout(5000)).catch(() => undefined);
    await controller.stop();
    assert.equal(waited, 0);
    assert.equal(cleaned, 1);
    assert.equal(prepared, 0, "the app is gone: nothing to prepare for");
    assert.deepEqual(warnings, ["removing a build's container and workspace failed"]);
  });
});
