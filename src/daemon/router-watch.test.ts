import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { memoryLogger } from "../testing/memory-logger.ts";
import { restartRouterIfGone } from "./router-watch.ts";

describe("restartRouterIfGone", () => {
  it("leaves a running router alone", async () => {
    const calls: string[] = [];
    const restarted = await restartRouterIfGone({
      router: {
        running: () => Promise.resolve(true),
        start: () => Promise.resolve(void calls.push("start")),
      },
      resync: () => Promise.resolve(void calls.push("resync")),
      logger: memoryLogger(),
    });
    assert.equal(restarted, false);
    assert.deepEqual(calls, []);
  });

  it("leaves a router alone that is back on the second look (a master rewriting its pid file)", async () => {
    const calls: string[] = [];
    const looks = [false, true];
    const restarted = await restartRouterIfGone({
      router: {
        running: () => Promise.resolve(looks.shift() ?? true),
        start: () => Promise.resolve(void calls.push("start")),
      },
      resync: () => Promise.resolve(void calls.push("resync")),
      logger: memoryLogger(),
      confirmMs: 1,
    });
    assert.equal(restarted, false);
    assert.deepEqual(calls, []);
    assert.deepEqual(looks, [], "looked twice");
  });

  it("starts a router that is gone, then applies the current routes", async () => {
    const calls: string[] = [];
    const logger = memoryLogger();
    const restarted = await restartRouterIfGone({
      router: {
        running: () => Promise.resolve(false),
        start: () => Promise.resolve(void calls.push("start")),
      },
      resync: () => Promise.resolve(void calls.push("resync")),
      logger,
      confirmMs: 1,
    });
    assert.equal(restarted, true);
    assert.deepEqual(calls, ["start", "resync"]);
    assert.ok(logger.lines.includes("error: the router's processes are gone; starting them again"));
  });

  it("logs a failed start and tries again at the next check", async () => {
    const logger = memoryLogger();
    let resynced = false;
    const restarted = await restartRouterIfGone({
      router: {
        running: () => Promise.resolve(false),
        start: () => Promise.reject(new Error("port taken")),
      },
      resync: () => Promise.resolve(void (resynced = true)),
      logger,
      confirmMs: 1,
    });
    assert.equal(restarted, false);
    assert.equal(resynced, false);
    assert.ok(
      logger.lines.some((line) => line.startsWith("error: starting the router again failed")),
    );
  });
});
