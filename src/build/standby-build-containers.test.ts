import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, it } from "node:test";
import { silentLogger } from "../domain/logger.ts";
import type { Engine } from "../engine/engine.ts";
import { StandbyBuildContainers } from "./standby-build-containers.ts";
import type { BuildContainerSetup, StartedBuildContainer } from "./started-build-container.ts";

/** An engine that only records removals, and a start that hands out numbered containers. */
function world(options: { failStart?: boolean } = {}) {
  const removed: string[] = [];
  const started: string[] = [];
  const engine = {
    removeContainer: (id: string) => {
      removed.push(id);
      return Promise.resolve();
    },
    removeVolume: () => Promise.resolve(),
  } as unknown as Engine;
  const setup = (app: string): [string, Promise<BuildContainerSetup>] => [
    app,
    Promise.resolve({
      engine,
      app: { id: `id-${app}`, name: app },
    } as unknown as BuildContainerSetup),
  ];
  const start = (s: BuildContainerSetup, name: string): Promise<StartedBuildContainer> => {
    if (options.failStart === true) return Promise.reject(new Error("engine down"));
    const id = `c${String(started.length + 1)}-${s.app.name}`;
    started.push(id);
    return Promise.resolve({ id, name, key: "k" });
  };
  return { removed, started, setup, start };
}

describe("StandbyBuildContainers", () => {
  it("hands the app's started container to its next build, once", async () => {
    const { setup, start, removed } = world();
    const standby = new StandbyBuildContainers({ idleMs: 60_000, logger: silentLogger, start });
    standby.prepare(...setup("shop"));
    const taken = await standby.take("shop");
    assert.equal(taken?.id, "c1-shop");
    assert.match(taken.name, /^slipway-build-next-[0-9a-f]{12}$/);
    assert.equal(await standby.take("shop"), undefined);
    assert.equal(await standby.take("blog"), undefined, "one per app");
    assert.deepEqual(removed, []);
    await standby.stop();
  });

  it("keeps one per app: a newer one replaces it", async () => {
    const { setup, start, removed } = world();
    const standby = new StandbyBuildContainers({ idleMs: 60_000, logger: silentLogger, start });
    standby.prepare(...setup("shop"));
    standby.prepare(...setup("shop"));
    assert.equal((await standby.take("shop"))?.id, "c2-shop");
    assert.deepEqual(removed, ["c1-shop"]);
    await standby.stop();
  });

  it("keeps at most `max`: the one waiting longest goes first", async () => {
    const { setup, start, removed } = world();
    const standby = new StandbyBuildContainers({
      idleMs: 60_000,
      max: 2,
      logger: silentLogger,
      start,
    });
    standby.prepare(...setup("a"));
    standby.prepare(...setup("b"));
    standby.prepare(...setup("c"));
    assert.equal(await standby.take("a"), undefined);
    assert.equal((await standby.take("b"))?.id, "c2-b");
    assert.equal((await standby.take("c"))?.id, "c3-c");
    await standby.stop();
    assert.deepEqual(removed, ["c1-a"]);
  });

  it("removes one that waited longer than idleMs", async () => {
    const { setup, start, removed } = world();
    const standby = new StandbyBuildContainers({ idleMs: 20, logger: silentLogger, start });
    standby.prepare(...setup("shop"));
    for (let i = 0; i < 100 && removed.length === 0; i++) await sleep(10);
    assert.deepEqual(removed, ["c1-shop"]);
    assert.equal(await standby.take("shop"), undefined);
  });

  it("forgets an app's container, and removes all and starts no more once stopped", async () => {
    const { setup, start, removed, started } = world();
    const standby = new StandbyBuildContainers({ idleMs: 60_000, logger: silentLogger, start });
    standby.prepare(...setup("shop"));
    standby.prepare(...setup("blog"));
    await standby.forget("shop");
    assert.deepEqual(removed, ["c1-shop"]);
    await standby.stop();
    assert.deepEqual(removed, ["c1-shop", "c2-blog"]);
    standby.prepare(...setup("shop"));
    assert.equal(await standby.take("shop"), undefined);
    assert.equal(started.length, 2);
  });

  it("starts none with idleMs 0, and logs a start that failed", async () => {
    const off = world();
    const none = new StandbyBuildContainers({ idleMs: 0, logger: silentLogger, start: off.start });
    none.prepare(...off.setup("shop"));
    assert.equal(await none.take("shop"), undefined);
    assert.deepEqual(off.started, []);

    const broken = world({ failStart: true });
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (message: string) => void warnings.push(message) };
    const failing = new StandbyBuildContainers({ idleMs: 60_000, logger, start: broken.start });
    failing.prepare(...broken.setup("shop"));
    assert.equal(await failing.take("shop"), undefined);
    assert.deepEqual(warnings, ["a build container for the next build did not start"]);
  });
});
