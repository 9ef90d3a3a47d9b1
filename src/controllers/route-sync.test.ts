import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import type { App } from "../domain/app.ts";
import { LABEL } from "../domain/labels.ts";
import { silentLogger } from "../domain/logger.ts";
import type { ContainerInfo } from "../engine/engine.ts";
import { FakeEngine } from "../engine/fake-engine.ts";
import type { RouteTable, Router } from "../router/router.ts";
import { SqliteStore } from "../store/sqlite/sqlite-store.ts";
import { RouteSync } from "./route-sync.ts";
import { RuntimeState } from "./runtime-state.ts";
import { fakeRelease } from "./testing/fake-release.ts";
import { testController } from "./testing/test-controller.ts";

/** Records, in one sequence, the engine's lists and starts and the router's tables. */
class Recorder implements Router {
  readonly events: string[] = [];
  start(): Promise<void> {
    return Promise.resolve();
  }
  apply(table: RouteTable): Promise<void> {
    const endpoints = table.apps.flatMap((a) => a.endpoints.map((e) => e.name));
    this.events.push(`apply ${endpoints.join(",")}`);
    return Promise.resolve();
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
  running(): Promise<boolean> {
    return Promise.resolve(true);
  }
}

describe("RouteSync", () => {
  let store: SqliteStore;
  let engine: FakeEngine;
  let recorder: Recorder;
  let state: RuntimeState;
  let routes: RouteSync;
  let app: App;
  /** Resolves the engine's pending list when set (a list that takes its time). */
  let holdList: Promise<void> | undefined;
  const signal = new AbortController().signal;

  beforeEach(async () => {
    store = new SqliteStore(":memory:");
    engine = new FakeEngine({ instance: "t1", program: () => ({ untilStopped: true }) });
    recorder = new Recorder();
    holdList = undefined;
    const list = engine.listContainers.bind(engine);
    engine.listContainers = async (labels) => {
      recorder.events.push("list");
      const listed = await list(labels);
      await holdList;
      return listed;
    };
    const start = engine.startContainer.bind(engine);
    engine.startContainer = (id) => {
      recorder.events.push("start");
      return start(id);
    };
    state = new RuntimeState();
    routes = new RouteSync({
      store,
      engine,
      router: recorder,
      state,
      instance: "t1",
      domain: "example.test",
      logger: silentLogger,
    });
    app = await store.createApp("hello");
  });

  async function deploy(version: number): Promise<void> {
    await fakeRelease(engine, store, app.id, version);
    await testController({ store, engine, routes, state }).reconcile(app.id, signal);
  }

  /** Until the background run has listed and applied. */
  async function settled(): Promise<void> {
    await routes.sync();
  }

  it("moves a rollout's traffic from its readiness inspect, and lists the engine right after", async () => {
    await deploy(1);
    await deploy(2);
    await settled();
    const [v2] = (await engine.listContainers({ [LABEL.release]: "2" })).map((c) => c.name);
    assert.ok(v2 !== undefined);
    const events = recorder.events;
    const moved = events.indexOf(`apply ${v2}`);
    assert.ok(moved > 0, events.join("\n"));
    // Between the new container's start and the table that routes it: no list.
    const started = events.lastIndexOf("start", moved);
    assert.deepEqual(events.slice(started, moved + 1), ["start", `apply ${v2}`]);
    // Then a run that lists, and keeps the same table.
    const after = events.slice(moved + 1);
    const next = after.findIndex((e) => e.startsWith("apply"));
    assert.ok(after.slice(0, next).includes("list"), events.join("\n"));
    assert.equal(after[next], `apply ${v2}`);
  });

  it("routes a container handed in while a run that lists is under way", async () => {
    await deploy(1);
    await settled();
    const [v1] = await engine.listContainers({ [LABEL.release]: "1" });
    assert.ok(v1 !== undefined);
    // A second web container of v1, as a scale-up would start it.
    const id = await engine.createContainer({
      name: "sw-t1-hello-web-v1-second",
      image: "img-1",
      env: {},
      labels: v1.labels,
      network: "sw-t1-hello",
      limits: { memoryBytes: 2 ** 28, cpus: 0.5, pids: 256, tmpBytes: 2 ** 26 },
    });
    let release = (): void => undefined;
    holdList = new Promise((resolve) => {
      release = resolve;
    });
    recorder.events.length = 0;
    const listing = routes.sync(); // lists, and waits in the engine
    await engine.startContainer(id);
    state.markReady(id);
    const info = (await engine.inspectContainer(id)) as ContainerInfo;
    const handedIn = routes.sync([info]); // folded into the run after the listing one
    release();
    await Promise.all([listing, handedIn]);
    await settled();
    const applies = recorder.events.filter((e) => e.startsWith("apply"));
    assert.ok(
      applies.some((e) => e.includes("sw-t1-hello-web-v1-second")),
      recorder.events.join("\n"),
    );
    assert.ok(applies.at(-1)?.includes("sw-t1-hello-web-v1-second"));
  });
});
