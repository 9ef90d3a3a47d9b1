import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import type { App } from "../domain/app.ts";
import type { ContainerSpec } from "../engine/engine.ts";
import { FakeEngine } from "../engine/fake-engine.ts";
import { SqliteStore } from "../store/sqlite/sqlite-store.ts";
import type { AppController } from "./app-controller.ts";
import { RuntimeState } from "./runtime-state.ts";
import { startupCpus } from "./startup-boost.ts";
import { fakeRelease } from "./testing/fake-release.ts";
import { testController, testRoutes } from "./testing/test-controller.ts";

describe("startupCpus", () => {
  const spec = (type: string, cpus: number): ContainerSpec => ({
    name: "c",
    image: "i",
    env: {},
    labels: { "io.slipway.process-type": type },
    network: "n",
    limits: { memoryBytes: 1, cpus, pids: 1, tmpBytes: 1 },
  });

  it("boosts web containers above their size's cap, nothing else", () => {
    assert.equal(startupCpus(spec("web", 0.5), 2), 2);
    assert.equal(startupCpus(spec("web", 2), 2), undefined, "already as much");
    assert.equal(startupCpus(spec("web", 4), 2), undefined, "never below the size's");
    assert.equal(startupCpus(spec("worker", 0.5), 2), undefined, "no check to wait for");
    assert.equal(startupCpus(spec("web", 0.5), 0), undefined, "off");
  });
});

describe("the startup CPU boost of web containers", () => {
  let store: SqliteStore;
  let engine: FakeEngine;
  let state: RuntimeState;
  let app: App;
  /** The CPU cap of each container when its readiness check ran. */
  let atProbe: number[];
  let ready: boolean;
  const signal = new AbortController().signal;

  function controller(boost: number): AppController {
    const routes = testRoutes(store, engine, state);
    return testController({ store, engine, routes, state }, () => true, {
      startupCpus: boost,
      probe: async (address) => {
        const c = (await engine.listContainers({ "io.slipway.app-id": app.id })).find((each) =>
          Object.values(each.addresses).includes(address),
        );
        atProbe.push(engine.cpuLimitOf(c?.id ?? "") ?? -1);
        return ready;
      },
    });
  }

  beforeEach(async () => {
    store = new SqliteStore(":memory:");
    engine = new FakeEngine({ instance: "t1", program: () => ({ untilStopped: true }) });
    state = new RuntimeState();
    atProbe = [];
    ready = true;
    app = await store.createApp("hello");
    await fakeRelease(engine, store, app.id, 1);
  });

  async function web(): Promise<{ id: string; cpus: number | undefined }[]> {
    return (await engine.listContainers({ "io.slipway.app-id": app.id }))
      .filter((c) => c.state === "running")
      .map((c) => ({ id: c.id, cpus: engine.cpuLimitOf(c.id) }));
  }

  it("boots with the boost, then gets the size's cap back once it serves", async () => {
    await controller(2).reconcile(app.id, signal);
    assert.deepEqual(atProbe, [2], "boosted while booting");
    const [container] = await web();
    assert.equal(container?.cpus, 0.5, "size S once ready");
    assert.deepEqual(
      engine.actions.filter((a) => a.kind === "container").map((a) => a.verb),
      ["create", "start", "update", "update"],
    );
  });

  it("does nothing of the kind when it is off", async () => {
    await controller(0).reconcile(app.id, signal);
    assert.deepEqual(atProbe, [0.5]);
    assert.deepEqual(
      engine.actions.filter((a) => a.kind === "container").map((a) => a.verb),
      ["create", "start"],
    );
  });

  it("removes a container that fails its check without settling it", async () => {
    ready = false;
    await controller(2).reconcile(app.id, signal);
    assert.deepEqual(await web(), []);
    const verbs = engine.actions.filter((a) => a.kind === "container").map((a) => a.verb);
    assert.equal(verbs.filter((v) => v === "update").length, 1, "raised, never lowered: gone");
  });

  it("settles containers an earlier daemon may have boosted", async () => {
    await controller(0).reconcile(app.id, signal);
    const [container] = await web();
    assert.ok(container !== undefined);
    await engine.setCpuLimit(container.id, 2); // as a daemon that died mid-boot left it
    state = new RuntimeState();
    await controller(2).reconcile(app.id, signal);
    assert.deepEqual(await web(), [{ id: container.id, cpus: 0.5 }]);
  });
});
