import assert from "node:assert/strict";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { createServer as createTcpServer, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { RouterSettings } from "../render.ts";
import type { Endpoint, RouteTable } from "../router.ts";
import { parseShowStat, runtimeCommand } from "../metrics/show-stat.ts";
import { isAlive } from "./haproxy-process.ts";
import type { HaproxyRouter } from "./haproxy-router.ts";
import { EXTRA, HELLO, startRouterFixture, type RouterFixture } from "./router-fixture.ts";

/**
 * The router's own life on real haproxy: endpoint changes retire old servers without
 * waiting for them and never delete them at runtime (a reload drops them), and a router
 * whose processes died says so and starts again.
 */
describe("HaproxyRouter lifecycle (real haproxy)", () => {
  let fx: RouterFixture;
  let dir = "";
  let settings: RouterSettings;
  let router: HaproxyRouter;
  let appA: Endpoint;
  let appB: Endpoint;
  let logger: RouterFixture["logger"];
  const table = (...endpoints: Endpoint[]): RouteTable => fx.table(...endpoints);
  const newRouter = (overrides: Partial<RouterSettings> = {}, maxRetiredServers?: number) =>
    fx.newRouter(overrides, maxRetiredServers);
  const https = (host: string, path = "/") => fx.https(host, path);
  const masterReloads = () => fx.masterReloads();

  before(async () => {
    fx = await startRouterFixture();
    ({ dir, settings, router, appA, appB, logger } = fx);
  });

  after(async () => {
    fx.router = router;
    await fx.close();
  });

  it("retires a removed server without waiting for its requests, and reloads to drop retired ones", async () => {
    // One retired server at most: the change after the first retirement reloads.
    await router.stop();
    router = newRouter({}, 1);
    await router.start();
    // An endpoint that accepts requests and never answers them.
    const sockets: Socket[] = [];
    const hanging = createTcpServer((socket) => sockets.push(socket));
    hanging.listen(0, "127.0.0.1");
    await once(hanging, "listening");
    const address = hanging.address();
    assert.ok(address !== null && typeof address === "object");
    const stuck: Endpoint = { name: "extra-web-stuck", address: "127.0.0.1", port: address.port };
    // Its own app: adding it reloads, so the count starts at zero whatever ran before.
    const withExtra = (...endpoints: Endpoint[]): RouteTable => ({
      apps: [...table(appA).apps, { app: "extra", hosts: [EXTRA], endpoints }],
    });
    const row = async (name: string) =>
      parseShowStat(await runtimeCommand(settings.statsSocket, "show stat app_extra -1 -1")).find(
        (r) => r.svname === name,
      );
    try {
      await router.apply(withExtra(stuck));
      const reloads = await masterReloads();
      let answered = false;
      const pending = https(EXTRA).then(
        (response) => response.status,
        () => 0,
      );
      void pending.finally(() => (answered = true));
      while ((await row(stuck.name))?.scur !== "1") await sleep(20);
      await router.apply(withExtra(appA));
      assert.equal(answered, false, "the change waited for the request on the removed server");
      assert.match((await row(stuck.name))?.status ?? "", /^MAINT/, "retired, not deleted");
      assert.equal((await https(EXTRA)).body, "hello from a");
      assert.equal(await masterReloads(), reloads, "through the runtime API");
      // A second retirement would pass the limit: that change reloads, and the new
      // workers have only the servers of the configuration.
      await router.apply(withExtra(appB));
      assert.equal(await masterReloads(), reloads + 1);
      assert.equal(await row(stuck.name), undefined);
      assert.equal(await row(appA.name), undefined);
      assert.equal((await https(EXTRA)).body, "hello from b");
      assert.ok(logger.lines.includes("router reloads to drop the servers it retired"));
      // Counting starts again: the next removal goes through the runtime API.
      await router.apply(withExtra(appA));
      assert.equal(await masterReloads(), reloads + 1);
    } finally {
      for (const socket of sockets) socket.destroy();
      hanging.close();
      // The next tests get the table and the router they expect.
      await router.apply(table(appA));
      await router.stop();
      router = newRouter();
      await router.start();
    }
  });

  it("says whether its processes run, and starts again once they are gone", async () => {
    assert.equal(await router.running(), true);
    // What HAProxy does when a worker fails: the master kills the others and exits.
    const pid = Number(await readFile(join(dir, "run", "haproxy.pid"), "utf8"));
    process.kill(-pid, "SIGKILL");
    while (await isAlive(pid)) await sleep(20);
    assert.equal(await router.running(), false);
    await router.start();
    assert.equal(await router.running(), true);
    assert.equal((await https(HELLO)).body, "hello from a");
  });
});
