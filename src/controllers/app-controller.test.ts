import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import type { App } from "../domain/app.ts";
import type { Engine } from "../engine/engine.ts";
import { FakeEngine } from "../engine/fake-engine.ts";
import type { RouteTable, Router } from "../router/router.ts";
import { SqliteStore } from "../store/sqlite/sqlite-store.ts";
import type { AppController } from "./app-controller.ts";
import { healthcheckPath } from "./healthcheck-path.ts";
import { RouteSync } from "./route-sync.ts";
import { RuntimeState } from "./runtime-state.ts";
import { fakeRelease } from "./testing/fake-release.ts";
import { testController } from "./testing/test-controller.ts";

/** A router that records every table it is given. */
class RecordingRouter implements Router {
  readonly tables: RouteTable[] = [];
  start(): Promise<void> {
    return Promise.resolve();
  }
  apply(table: RouteTable): Promise<void> {
    this.tables.push(table);
    return Promise.resolve();
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
  running(): Promise<boolean> {
    return Promise.resolve(true);
  }
  get endpoints(): string[] {
    return (this.tables.at(-1)?.apps[0]?.endpoints ?? []).map((e) => e.name);
  }
}

describe("AppController", () => {
  let store: SqliteStore;
  let engine: FakeEngine;
  let router: RecordingRouter;
  let state: RuntimeState;
  let app: App;
  let healthy: boolean;
  let controller: AppController;
  const signal = new AbortController().signal;

  /** A controller over the test's store, engine, router and (current) state. */
  function makeController(ready: () => boolean): AppController {
    const routes = new RouteSync({
      store,
      engine,
      router,
      state,
      instance: "t1",
      domain: "example.test",
    });
    return testController({ store, engine, routes, state }, ready);
  }

  beforeEach(async () => {
    store = new SqliteStore(":memory:");
    engine = new FakeEngine({ instance: "t1", program: () => ({ untilStopped: true }) });
    router = new RecordingRouter();
    state = new RuntimeState();
    healthy = true;
    controller = makeController(() => healthy);
    app = await store.createApp("hello");
  });

  async function release(version: number): Promise<void> {
    const r = await fakeRelease(engine, store, app.id, version);
    assert.equal(r.version, version);
  }

  async function running(): Promise<{ id: string; image: string }[]> {
    return (await engine.listContainers({ "io.slipway.app-id": app.id }))
      .filter((c) => c.state === "running")
      .map((c) => ({ id: c.id, image: c.image }));
  }

  it("routes an app without a release to no endpoint and starts nothing", async () => {
    await controller.reconcile(app.id, signal);
    assert.deepEqual(engine.actions, []);
    assert.deepEqual(router.tables.at(-1), {
      apps: [{ app: "hello", hosts: ["hello.example.test"], endpoints: [] }],
    });
  });

  it("deploys the first release on the app's own network and routes it once ready", async () => {
    await release(1);
    engine.clearActions();
    await controller.reconcile(app.id, signal);
    assert.deepEqual(
      engine.actions.map((a) => `${a.verb} ${a.kind}`),
      ["create network", "create container", "start container"],
    );
    assert.equal(engine.actions[0]?.name, "sw-t1-hello");
    assert.deepEqual(
      (await running()).map((c) => c.image),
      ["img-1"],
    );
    assert.equal(router.endpoints.length, 1);
  });

  it("creates the container while the network is checked, and starts it only after", async () => {
    await release(1);
    await controller.reconcile(app.id, signal);
    await release(2);
    engine.clearActions();
    // The network's check fails this time (the host firewall, say): nothing new runs.
    engine.failNext("ensureNetwork", new Error("iptables failed"));
    await assert.rejects(controller.reconcile(app.id, signal), /iptables failed/);
    assert.deepEqual(
      engine.actions.map((a) => `${a.verb} ${a.kind}`),
      ["create container", "remove container"],
      "created meanwhile, removed unstarted",
    );
    assert.deepEqual(
      (await running()).map((c) => c.image),
      ["img-1"],
    );
  });

  it("once converged, asks the engine to prepare the network of each running type's next container", async () => {
    const prepared: string[] = [];
    const fail = { next: false };
    // The fake has no sandboxes; the Docker driver's are tested on Podman.
    (engine as Engine).prepareNetwork = (network: string, aliases: readonly string[]) => {
      prepared.push(`${network} ${aliases.join(",")}`);
      if (fail.next) return Promise.reject(new Error("no sandbox today"));
      return Promise.resolve();
    };
    await release(1);
    await controller.reconcile(app.id, signal);
    assert.deepEqual(prepared, ["sw-t1-hello web"]);
    // Only a hint: a failure is logged, and the app is converged all the same.
    fail.next = true;
    await release(2);
    await controller.reconcile(app.id, signal);
    assert.deepEqual(
      (await running()).map((c) => c.image),
      ["img-2"],
    );
    assert.equal(prepared.length, 2);
  });

  it("is idempotent: a second reconcile changes nothing", async () => {
    await release(1);
    await controller.reconcile(app.id, signal);
    engine.clearActions();
    await controller.reconcile(app.id, signal);
    assert.deepEqual(engine.actions, []);
  });

  it("rolls a new release: the new container serves before the old one stops", async () => {
    await release(1);
    await controller.reconcile(app.id, signal);
    const [old] = await running();
    await release(2);
    engine.clearActions();
    const tablesBefore = router.tables.length;
    await controller.reconcile(app.id, signal);
    assert.deepEqual(
      engine.actions.map((a) => `${a.verb} ${a.kind}`),
      ["create container", "start container", "stop container", "remove container"],
    );
    // The first table applied after the start already points at v2 only.
    const switched = router.tables[tablesBefore]?.apps[0]?.endpoints ?? [];
    assert.equal(switched.length, 1);
    assert.match(switched[0]?.name ?? "", /-v2-/);
    assert.deepEqual(
      (await running()).map((c) => c.image),
      ["img-2"],
    );
    assert.notEqual((await running())[0]?.id, old?.id);
  });

  it("keeps the old release serving when the new one never becomes ready", async () => {
    await release(1);
    await controller.reconcile(app.id, signal);
    await release(2);
    healthy = false;
    await controller.reconcile(app.id, signal);
    assert.deepEqual(
      (await running()).map((c) => c.image),
      ["img-1"],
    );
    assert.match(router.endpoints[0] ?? "", /-v1-/);
    const events = await store.listEvents(app.id, 10);
    assert.ok(events.some((e) => e.type === "release.failed"));
    // Marked failed: the controller does not try it again until a new release.
    assert.equal((await store.listReleases(app.id))[0]?.status, "failed");
    engine.clearActions();
    await controller.reconcile(app.id, signal);
    assert.deepEqual(engine.actions, []);
    healthy = true;
    await release(3);
    await controller.reconcile(app.id, signal);
    assert.deepEqual(
      (await running()).map((c) => c.image),
      ["img-3"],
    );
  });

  it("replaces a crashed container", async () => {
    await release(1);
    await controller.reconcile(app.id, signal);
    const [first] = await running();
    engine.exitContainer(first?.id ?? "", 137, true);
    await controller.reconcile(app.id, signal);
    const now = await running();
    assert.equal(now.length, 1);
    assert.notEqual(now[0]?.id, first?.id);
    const events = await store.listEvents(app.id, 10);
    assert.ok(events.some((e) => e.message.includes("out of memory")));
  });

  it("takes a dead container out of the router before removing and replacing it", async () => {
    await release(1);
    await controller.reconcile(app.id, signal);
    const [first] = await running();
    assert.deepEqual(router.endpoints.length, 1);
    const tables = router.tables.length;
    const deadStillThere: boolean[] = [];
    const apply = router.apply.bind(router);
    router.apply = async (table) => {
      deadStillThere.push((await engine.inspectContainer(first?.id ?? "")) !== undefined);
      return apply(table);
    };
    engine.exitContainer(first?.id ?? "", 137, false);
    await controller.reconcile(app.id, signal);
    // The first table after the crash routes to nothing, while the dead container still
    // exists; a later one routes to the replacement.
    const after = router.tables.slice(tables).map((t) => t.apps[0]?.endpoints.length ?? 0);
    assert.equal(after[0], 0, JSON.stringify(after));
    assert.equal(deadStillThere[0], true);
    assert.equal(after.at(-1), 1);
    const [replacement] = await running();
    assert.notEqual(replacement?.id, first?.id);
  });

  it("says when a replaced container ignored SIGTERM and was killed after the grace", async () => {
    engine = new FakeEngine({
      instance: "t1",
      program: () => ({ untilStopped: true, ignoresSigterm: true }),
    });
    controller = makeController(() => healthy);
    await release(1);
    await controller.reconcile(app.id, signal);
    await release(2);
    await controller.reconcile(app.id, signal);
    const stopped = (await store.listEvents(app.id, 20)).filter(
      (e) => e.type === "container.stopped",
    );
    assert.equal(stopped.length, 1);
    assert.match(
      stopped[0]?.message ?? "",
      /replaced by v2; killed after the 1 s grace period \(SIGTERM ignored\)/,
    );
  });

  it("adopts running containers after a restart without restarting them", async () => {
    await release(1);
    await controller.reconcile(app.id, signal);
    const before = await running();
    state = new RuntimeState();
    const restarted = makeController(() => true);
    engine.clearActions();
    await restarted.reconcile(app.id, signal);
    assert.deepEqual(engine.actions, []);
    assert.deepEqual(await running(), before);
    assert.equal(router.endpoints.length, 1);
  });

  it("checks the app's network before probing the containers found after a restart", async () => {
    await release(1);
    await controller.reconcile(app.id, signal);
    state = new RuntimeState();
    const steps: string[] = [];
    const ensureNetwork = engine.ensureNetwork.bind(engine);
    engine.ensureNetwork = (name, labels) => {
      steps.push(`ensure ${name}`);
      return ensureNetwork(name, labels);
    };
    const restarted = makeController(() => {
      steps.push("probe");
      return true;
    });
    await restarted.reconcile(app.id, signal);
    assert.deepEqual(steps, ["ensure sw-t1-hello", "probe"]);
    // Known containers are not probed again, nor is their network checked again.
    steps.length = 0;
    await restarted.reconcile(app.id, signal);
    assert.deepEqual(steps, []);
  });

  it("replaces a container found running after a restart that does not answer", async () => {
    await release(1);
    await controller.reconcile(app.id, signal);
    const [before] = await running();
    state = new RuntimeState();
    let probes = 0;
    const restarted = makeController(() => ++probes > 1); // the adoption probe fails
    engine.clearActions();
    await restarted.reconcile(app.id, signal);
    const after = await running();
    assert.equal(after.length, 1);
    assert.notEqual(after[0]?.id, before?.id);
    assert.deepEqual(
      engine.actions.map((a) => `${a.verb} ${a.kind}`),
      ["create container", "start container", "stop container", "remove container"],
    );
    assert.equal(router.endpoints.length, 1);
    const events = await store.listEvents(app.id, 100);
    assert.ok(
      events.some((e) => /did not answer its check when the daemon started/.test(e.message)),
      "the replacement says why",
    );
  });

  it("does not fail the release when its replacement cannot answer either", async () => {
    await release(1);
    await controller.reconcile(app.id, signal);
    state = new RuntimeState();
    const restarted = makeController(() => false); // nothing answers: a host-wide fault
    await assert.rejects(restarted.reconcile(app.id, signal), /v1 web/);
    assert.equal((await store.currentRelease(app.id))?.version, 1, "v1 is not condemned");
    assert.equal((await store.listReleases(app.id))[0]?.status ?? "succeeded", "succeeded");
  });

  it("removes the containers and network of a deleted app", async () => {
    await release(1);
    await controller.reconcile(app.id, signal);
    await store.deleteApp(app.id);
    await controller.reconcile(app.id, signal);
    assert.deepEqual(await engine.listContainers({ "io.slipway.app-id": app.id }), []);
    assert.deepEqual(await engine.listNetworks({ "io.slipway.app-id": app.id }), []);
    assert.deepEqual(router.tables.at(-1), { apps: [] });
  });

  it("scales up at once, then resizes in rolling steps without dropping below N", async () => {
    await release(1);
    await store.setFormation({ appId: app.id, type: "web", quantity: 4, size: "S" });
    await controller.reconcile(app.id, signal);
    assert.equal((await running()).length, 4);
    await store.setFormation({ appId: app.id, type: "web", quantity: 4, size: "M" });
    engine.clearActions();
    await controller.reconcile(app.id, signal);
    // One start, then one stop, four times: never fewer than four running.
    let live = 4;
    let lowest = live;
    for (const action of engine.actions) {
      if (action.verb === "start" && action.kind === "container") live++;
      if (action.verb === "stop" && action.kind === "container") live--;
      lowest = Math.min(lowest, live);
    }
    assert.equal(lowest, 4);
    const sizes = (await engine.listContainers({ "io.slipway.app-id": app.id })).map(
      (c) => c.labels["io.slipway.size"],
    );
    assert.deepEqual(sizes, ["M", "M", "M", "M"]);
    assert.equal(router.endpoints.length, 4);
  });

  it("restarts every container of a type after a restart mark", async () => {
    await release(1);
    await store.setFormation({ appId: app.id, type: "web", quantity: 2, size: "S" });
    await controller.reconcile(app.id, signal);
    const before = (await running()).map((c) => c.id);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await store.setAppSetting(app.id, "restart.web", new Date().toISOString());
    await controller.reconcile(app.id, signal);
    const after = (await running()).map((c) => c.id);
    assert.equal(after.length, 2);
    assert.ok(after.every((id) => !before.includes(id)));
    engine.clearActions();
    await controller.reconcile(app.id, signal);
    assert.deepEqual(engine.actions, []);
  });

  /** Deploys v1 and lets its web container crash twice (the second waits for a back-off). */
  async function crashTwice(): Promise<void> {
    await release(1);
    await controller.reconcile(app.id, signal);
    for (let i = 0; i < 2; i++) {
      const [c] = await running();
      engine.exitContainer(c?.id ?? "", 1);
      await controller.reconcile(app.id, signal);
    }
  }

  it("backs off a container that keeps crashing and records each crash", async () => {
    await crashTwice();
    // The second crash waits (1 s) instead of starting right away.
    assert.equal((await running()).length, 0);
    const [c] = await engine.listContainers({ "io.slipway.app-id": app.id });
    assert.equal(c, undefined);
    const result = await controller.reconcile(app.id, signal);
    assert.ok((result.retryAfterMs ?? 0) > 0);
    const crashes = (await store.listEvents(app.id, 20)).filter(
      (e) => e.type === "container.crashed",
    );
    assert.equal(crashes.length, 2);
    assert.match(crashes[0]?.message ?? "", /exited with code 1; restart #2 in 1 s/);
    assert.equal(state.crashes(app.id).get("web")?.restarts, 2);
  });

  it("keeps the back-off across a daemon restart (crash history restored from the store)", async () => {
    await crashTwice();
    // A new daemon: empty memory, the same store; it restores what the store kept.
    state = new RuntimeState();
    for (const record of await store.listCrashRecords()) state.restoreCrash(record);
    controller = makeController(() => healthy);
    const result = await controller.reconcile(app.id, signal);
    assert.ok((result.retryAfterMs ?? 0) > 0, "still backing off");
    assert.equal((await running()).length, 0);
    assert.equal(state.crashes(app.id).get("web")?.restarts, 2);
  });

  it("checks the app's HTTP path, else app.json's startup check, else TCP", async () => {
    await release(1);
    const [r] = await store.listReleases(app.id);
    assert.ok(r);
    const base = {
      bootTimeoutSeconds: 60,
      stopGraceSeconds: 30,
      maxQuantity: 20,
      restartMarks: {},
    };
    const manifest = {
      formation: {},
      postdeploy: null,
      healthchecks: {
        web: [
          {
            type: "startup" as const,
            path: "/up",
            timeoutSeconds: 5,
            intervalSeconds: 10,
            attempts: 3,
          },
        ],
      },
    };
    assert.equal(healthcheckPath(r, "web", { ...base, healthcheckPath: null }), null);
    assert.equal(
      healthcheckPath({ ...r, manifest }, "web", { ...base, healthcheckPath: null }),
      "/up",
    );
    assert.equal(
      healthcheckPath({ ...r, manifest }, "web", { ...base, healthcheckPath: "/health" }),
      "/health",
    );
  });

  it("stops containers with the app's grace period (SIGTERM, then SIGKILL)", async () => {
    const graces: number[] = [];
    const stop = engine.stopContainer.bind(engine);
    engine.stopContainer = (id, grace) => {
      graces.push(grace);
      return stop(id, grace);
    };
    await release(1);
    await store.setFormation({ appId: app.id, type: "web", quantity: 2, size: "S" });
    await controller.reconcile(app.id, signal);
    await store.setAppSetting(app.id, "stop-grace", "3");
    await store.setFormation({ appId: app.id, type: "web", quantity: 1, size: "S" });
    await controller.reconcile(app.id, signal);
    assert.deepEqual(graces, [3]);
  });
});
