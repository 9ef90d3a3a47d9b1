import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { beforeEach, describe, it } from "node:test";
import type { App } from "../domain/app.ts";
import { silentLogger } from "../domain/logger.ts";
import type { Engine } from "../engine/engine.ts";
import { FakeEngine, type FakeAction } from "../engine/fake-engine.ts";
import { packTar, tarFile } from "../engine/tar-files.ts";
import { newId } from "../store/ids.ts";
import { SqliteStore } from "../store/sqlite/sqlite-store.ts";
import type { AppController } from "./app-controller.ts";
import { BuildController, type Builder, type BuildFiles } from "./build-controller.ts";
import { PreparedContainers, type UpcomingRelease } from "./prepared-containers.ts";
import { RuntimeState } from "./runtime-state.ts";
import { fakeRelease } from "./testing/fake-release.ts";
import { testController, testRoutes } from "./testing/test-controller.ts";

/**
 * The release's web container made while its build runs (PreparedContainers): the rollout
 * starts that container instead of making one, only when it is the one the release needs,
 * and nothing leaves one behind.
 */
describe("containers made ahead for a release", () => {
  let store: SqliteStore;
  let engine: FakeEngine;
  let state: RuntimeState;
  let prepared: PreparedContainers;
  let controller: AppController;
  let app: App;
  const signal = new AbortController().signal;

  beforeEach(async () => {
    store = new SqliteStore(":memory:");
    engine = new FakeEngine({ instance: "t1", program: () => ({ untilStopped: true }) });
    state = new RuntimeState();
    prepared = new PreparedContainers({ engine, store, instance: "t1", logger: silentLogger });
    const routes = testRoutes(store, engine, state);
    controller = testController({ store, engine, routes, state }, () => true, { prepared });
    app = await store.createApp("hello");
    await store.setFormation({ appId: app.id, type: "web", quantity: 1, size: "S" });
    await fakeRelease(engine, store, app.id, 1);
    await controller.reconcile(app.id, signal);
  });

  /** An image for the next build, and the release it will most likely make. */
  async function upcoming(version = 2): Promise<UpcomingRelease> {
    const image = await engine.importImage(packTar([tarFile("app/server.js", "v2")]), {
      reference: `img-${String(version)}`,
      labels: {},
    });
    return { id: newId("rel"), appId: app.id, version, imageRef: image.id, configVersion: null };
  }

  function release(ahead: UpcomingRelease, imageRef = ahead.imageRef) {
    return store.createRelease({
      id: ahead.id,
      appId: app.id,
      imageDigest: imageRef,
      imageRef,
      buildId: null,
      processTypes: { web: "node server.js" },
      stack: "slipway-24",
      buildpacks: ["nodejs"],
      description: "test",
    });
  }

  /** Has the engine record network preparations (the fake has none): "NETWORK ALIASES". */
  function recordNetworkPreparations(): string[] {
    const calls: string[] = [];
    const withNetworks: Engine = engine;
    withNetworks.prepareNetwork = (network, aliases) => {
      calls.push(`${network} ${aliases.join(",")}`);
      return Promise.resolve();
    };
    return calls;
  }

  /** The verbs of the engine's actions since `from` that `which` picks. */
  function verbsSince(from: number, which: (action: FakeAction) => boolean): string[] {
    return engine.actions
      .slice(from)
      .filter(which)
      .map((a) => a.verb);
  }

  async function containers() {
    return (await engine.listContainers({ "io.slipway.app-id": app.id })).map((c) => ({
      id: c.id,
      release: c.labels["io.slipway.release"],
      state: c.state,
    }));
  }

  it("starts the container made ahead when its release rolls out; the planner leaves it until then", async () => {
    const ahead = await upcoming();
    const before = engine.actions.length;
    await prepared.prepare(app, ahead);
    assert.deepEqual(
      engine.actions.slice(before).map((a) => `${a.verb} ${a.kind}`),
      ["create container", "init container"],
    );
    const made = (await containers()).find((c) => c.release === "2");
    assert.equal(made?.state, "created");

    // The app converges on v1 meanwhile: the container for v2 stays, unstarted.
    await controller.reconcile(app.id, signal);
    assert.deepEqual(
      (await containers()).find((c) => c.release === "2"),
      made,
    );

    await release(ahead);
    const rollout = engine.actions.length;
    await controller.reconcile(app.id, signal);
    assert.deepEqual(
      verbsSince(rollout, (a) => a.kind === "container"),
      ["start", "stop", "remove"],
      "no container created: v2's was made ahead; v1's stops",
    );
    assert.deepEqual(await containers(), [{ id: made.id, release: "2", state: "running" }]);
    assert.equal(state.routedRelease(app.id), 2);
  });

  it("checks the network of its rollout while the engine's listing still waits", async () => {
    // Podman answers a list only once a container's init in progress is over: the
    // rollout of the release made ahead need not wait for that to begin its network check.
    const ahead = await upcoming();
    await prepared.prepare(app, ahead);
    await release(ahead);
    const calls: string[] = [];
    let open = (): void => undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const list = engine.listContainers.bind(engine);
    const ensure = engine.ensureNetwork.bind(engine);
    engine.listContainers = async (labels) => {
      calls.push("list");
      await gate;
      return list(labels);
    };
    engine.ensureNetwork = (name, labels) => {
      calls.push("network");
      return ensure(name, labels);
    };
    const rollout = controller.reconcile(app.id, signal);
    for (let waited = 0; !calls.includes("list") && waited < 5000; waited += 5) await sleep(5);
    assert.deepEqual(calls, ["network", "list"], "checked before the listing answered");
    open();
    await rollout;
    assert.deepEqual(
      calls.filter((call) => call === "network"),
      ["network"],
      "and not again for the start",
    );
    assert.deepEqual(
      (await containers()).map((c) => [c.release, c.state]),
      [["2", "running"]],
    );
  });

  it("boosts the container made ahead from its start until it serves, as any other", async () => {
    const boosted = new PreparedContainers({ engine, store, instance: "t1", logger: silentLogger });
    const rolling = testController(
      { store, engine, routes: testRoutes(store, engine, state), state },
      () => true,
      { prepared: boosted, startupCpus: 2 },
    );
    const ahead = await upcoming();
    await boosted.prepare(app, ahead);
    const made = (await containers()).find((c) => c.release === "2");
    await release(ahead);
    const before = engine.actions.length;
    await rolling.reconcile(app.id, signal);
    assert.deepEqual(
      verbsSince(before, (a) => a.name === (made ? engine.nameOf(made.id) : "")),
      ["start", "update", "update"],
      "raised once started, set back once it serves",
    );
    assert.equal((await containers()).find((c) => c.state === "running")?.id, made?.id);
    assert.equal(engine.cpuLimitOf(made?.id ?? ""), 0.5, "size S once it serves");
  });

  it("removes the container made ahead when the release is not the one it was made for", async () => {
    const ahead = await upcoming();
    await prepared.prepare(app, ahead);
    const made = (await containers()).find((c) => c.release === "2");
    // The build made another image than the one it stored ahead.
    const other = await engine.importImage(packTar([tarFile("app/server.js", "v2'")]), {
      reference: "img-other",
      labels: {},
    });
    await release(ahead, other.id);
    const networks = recordNetworkPreparations();
    await controller.reconcile(app.id, signal);
    assert.deepEqual(
      networks,
      ["sw-t1-hello web"],
      "once, by the converged app: the rollout made its own container meanwhile",
    );
    const [only, ...more] = await containers();
    assert.ok(only !== undefined);
    assert.deepEqual(more, []);
    assert.notEqual(only.id, made?.id);
    assert.equal(only.state, "running");
    assert.equal((await engine.inspectContainer(only.id))?.imageId, other.id);
  });

  it("removes it when another release took the version it was made for", async () => {
    const ahead = await upcoming();
    await prepared.prepare(app, ahead);
    await fakeRelease(engine, store, app.id, 2); // a config change, say
    const ours = await release(ahead); // v3 now, with the id chosen ahead
    assert.equal(ours.version, 3);
    await controller.reconcile(app.id, signal);
    const now = await containers();
    assert.deepEqual(
      now.map((c) => [c.release, c.state]),
      [["3", "running"]],
    );
  });

  it("removes it once its release failed or is no newer than the one running", async () => {
    const ahead = await upcoming();
    await prepared.prepare(app, ahead);
    const made = await release(ahead);
    await store.setReleaseStatus(made.id, "failed", "release phase failed");
    const networks = recordNetworkPreparations();
    await controller.reconcile(app.id, signal);
    assert.deepEqual(
      (await containers()).map((c) => c.release),
      ["1"],
    );
    assert.deepEqual(networks, ["sw-t1-hello web"], "once, by the converged app");
  });

  it("keeps it for a newer release while an older one's container is replaced", async () => {
    const ahead = await upcoming();
    await prepared.prepare(app, ahead);
    const v1 = (await containers()).find((c) => c.release === "1");
    await engine.stopContainer(v1?.id ?? "", 0); // v1's container died
    await controller.reconcile(app.id, signal);
    const now = await containers();
    assert.deepEqual(now.map((c) => [c.release, c.state]).sort(), [
      ["1", "running"],
      ["2", "created"],
    ]);
    const held = now.find((c) => c.state === "created");
    assert.ok(prepared.holds((await engine.inspectContainer(held?.id ?? ""))?.name ?? ""));
  });

  it("is made by the build controller when the builder names its image ahead, and goes when the build fails", async () => {
    const files: BuildFiles = {
      sourcePath: () => "/nowhere",
      openLog: () => ({ write: () => undefined, close: () => Promise.resolve() }),
      removeSource: () => Promise.resolve(),
    };
    const next = await upcoming();
    let fail = false;
    const builder: Builder = {
      build(request) {
        request.onImage?.(next.imageRef);
        if (fail) return Promise.reject(new Error("the build broke"));
        return Promise.resolve({
          imageRef: next.imageRef,
          imageDigest: next.imageRef,
          processTypes: { web: "node server.js" },
          buildpacks: ["nodejs"],
          stack: "slipway-24",
        });
      },
    };
    const builds = new BuildController({ store, builder, files, logger: silentLogger, prepared });
    const build = await store.createBuild(app.id, "sha256:a");
    await builds.reconcile(build.id, signal);
    const release = await store.currentRelease(app.id);
    assert.equal(release?.version, 2);
    const made = (await containers()).find((c) => c.release === "2");
    assert.ok(made !== undefined, "made while the build ran");
    const rollout = engine.actions.length;
    await controller.reconcile(app.id, signal);
    assert.equal(engine.actions.slice(rollout).filter((a) => a.verb === "create").length, 0);
    assert.equal((await containers()).find((c) => c.state === "running")?.id, made.id);

    fail = true;
    const broken = await store.createBuild(app.id, "sha256:b");
    const networks = recordNetworkPreparations();
    await builds.reconcile(broken.id, signal);
    assert.equal((await store.getBuild(broken.id))?.status, "failed");
    assert.deepEqual(
      (await containers()).map((c) => c.release),
      ["2"],
      "nothing of the failed build's v3 is left",
    );
    assert.deepEqual(networks, ["sw-t1-hello web"], "no rollout follows: prepared again here");
  });
});
