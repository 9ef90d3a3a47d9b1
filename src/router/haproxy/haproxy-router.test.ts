import assert from "node:assert/strict";
import { once } from "node:events";
import { access, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { DriverError, ValidationError } from "../../domain/errors.ts";
import { ensureServerCertificate } from "../../security/ca.ts";
import type { RouterSettings } from "../render.ts";
import type { Endpoint, RouteTable } from "../router.ts";
import { writeCrtList } from "./crt-list.ts";
import { checkConfig } from "./haproxy-config.ts";
import { HaproxyRouter } from "./haproxy-router.ts";
import { memoryLogger } from "../../testing/memory-logger.ts";
import {
  API,
  DOMAIN,
  EXTRA,
  HELLO,
  IDLE,
  startRouterFixture,
  type RouterFixture,
} from "./router-fixture.ts";
import { parseShowStat, runtimeCommand } from "../metrics/show-stat.ts";
import {
  closeServer,
  curl,
  freePort,
  keepAliveLoad,
  portOf,
  run,
  startUpstream,
  type CurlResponse,
} from "./test-helpers.ts";

const SECURITY_HEADERS: readonly (readonly [string, string])[] = [
  ["x-content-type-options", "nosniff"],
  ["referrer-policy", "strict-origin-when-cross-origin"],
  ["x-permitted-cross-domain-policies", "none"],
  ["x-xss-protection", "0"],
];

function assertSecurityHeaders(response: CurlResponse): void {
  for (const [name, value] of SECURITY_HEADERS) {
    assert.equal(response.headers.get(name), value, `header ${name}`);
  }
  assert.match(response.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
  assert.equal(response.headers.has("server"), false, "Server is removed");
  assert.equal(response.headers.has("x-powered-by"), false, "X-Powered-By is removed");
}

describe("HaproxyRouter (real haproxy, openssl and curl)", () => {
  let fx: RouterFixture;
  let dir = "";
  let caFile = "";
  let settings: RouterSettings;
  let router: HaproxyRouter;
  let httpsPort = 0;
  let httpPort = 0;
  let appA: Endpoint;
  let appB: Endpoint;
  let logger: RouterFixture["logger"];
  const table = (...endpoints: Endpoint[]): RouteTable => fx.table(...endpoints);
  const newRouter = (overrides: Partial<RouterSettings> = {}) => fx.newRouter(overrides);
  const https = (host: string, path = "/") => fx.https(host, path);
  const masterReloads = () => fx.masterReloads();

  before(async () => {
    fx = await startRouterFixture();
    ({ dir, caFile, settings, router, httpsPort, httpPort, appA, appB, logger } = fx);
  });

  after(async () => {
    fx.router = router;
    await fx.close();
  });

  it("renders golden configurations that haproxy accepts", async () => {
    const testdata = new URL("../testdata/", import.meta.url);
    const goldens = (await readdir(testdata)).filter((name) => name.endsWith(".cfg"));
    assert.ok(goldens.length >= 3);
    for (const name of goldens) {
      const text = await readFile(new URL(name, testdata), "utf8");
      const file = join(dir, name);
      const local = text
        .replaceAll("/var/lib/slipway/router/crt-list", settings.crtList)
        .replaceAll("/var/lib/slipway/router/hosts.map", join(dir, "hosts.map"));
      // The host map a golden names (its content does not matter to the check).
      for (const [, map] of local.matchAll(/map_str\((\S+)\)/g)) await writeFile(map ?? "", "");
      await writeFile(file, local);
      await checkConfig("haproxy", file);
    }
  });

  it("serves an app over HTTP/2 with the security headers", async () => {
    const response = await https(HELLO);
    assert.equal(response.status, 200);
    assert.equal(response.version, "2");
    assert.equal(response.body, "hello from a");
    assertSecurityHeaders(response);
    const hsts = "max-age=63072000; includeSubDomains";
    assert.equal(response.headers.get("strict-transport-security"), hsts);
    assert.equal(response.headers.get("x-frame-options"), "DENY", "the app's own value stays");
  });

  it("redirects plain HTTP to HTTPS with 308", async () => {
    const response = await curl(`http://${HELLO}:${httpPort}/a/b?c=d`, { caFile });
    assert.equal(response.status, 308);
    assert.equal(response.headers.get("location"), `https://${HELLO}:${httpsPort}/a/b?c=d`);
    assertSecurityHeaders(response);
    assert.equal(response.headers.get("x-frame-options"), "SAMEORIGIN");
    assert.equal(response.headers.has("strict-transport-security"), false, "no HSTS over HTTP");
  });

  it("answers unknown hosts and apps without endpoints with 503", async () => {
    const unknown = await https(`nope.${DOMAIN}`);
    assert.equal(unknown.status, 503);
    assert.equal(unknown.body, "No application is configured for this host.\n");
    assertSecurityHeaders(unknown);
    const idle = await https(IDLE);
    assert.equal(idle.status, 503);
    assert.equal(idle.body, "Service unavailable: the application has no running instance.\n");
    assertSecurityHeaders(idle);
  });

  it("sends the platform host to the API socket", async () => {
    const response = await https(API, "/v1/apps");
    assert.equal(response.status, 200);
    assert.equal(response.body, "slipway api");
    assertSecurityHeaders(response);
  });

  it("tells the app the client's address, the scheme and a request id, and nothing the client made up", async () => {
    const echo = createServer((req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(req.headers));
    });
    echo.listen({ port: 0, host: "127.0.0.1" });
    await once(echo, "listening");
    const host = `echo.${DOMAIN}`;
    const endpoint = { name: "echo-web-a", address: "127.0.0.1", port: portOf(echo) };
    await router.apply({
      apps: [...table(appA).apps, { app: "echo", hosts: [host], endpoints: [endpoint] }],
    });
    try {
      const response = await curl(`https://${host}:${httpsPort}/`, {
        caFile,
        headers: [
          "X-Forwarded-For: 203.0.113.9",
          "Forwarded: for=203.0.113.9;proto=http",
          "X-Forwarded-Proto: http",
          "X-Forwarded-Host: evil.example",
          "X-Forwarded-Port: 80",
          "X-Request-Id: chosen-by-the-client",
        ],
      });
      assert.equal(response.status, 200);
      const seen = JSON.parse(response.body) as Record<string, string>;
      assert.equal(seen.host, `${host}:${String(httpsPort)}`, "Host is passed on unchanged");
      assert.equal(seen["x-forwarded-for"], "127.0.0.1");
      assert.equal(seen["x-forwarded-proto"], "https");
      assert.match(seen["x-request-id"] ?? "", /^[0-9a-f-]{36}$/);
      assert.equal(response.headers.get("x-request-id"), seen["x-request-id"]);
      for (const name of ["forwarded", "x-forwarded-host", "x-forwarded-port"]) {
        assert.equal(seen[name], undefined, `${name} is removed`);
      }
    } finally {
      await router.apply(table(appA));
      await closeServer(echo);
    }
  });

  it("offers only TLS 1.2 and 1.3 with strong ciphers, and h2 by ALPN", async () => {
    const connect = ["s_client", "-connect", `127.0.0.1:${httpsPort}`, "-servername", HELLO];
    const tls11 = await run("openssl", [...connect, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"]);
    assert.notEqual(tls11.code, 0, "TLS 1.1 must fail");
    const weak = await run("openssl", [...connect, "-tls1_2", "-cipher", "AES128-SHA"]);
    assert.notEqual(weak.code, 0, "TLS 1.2 with AES128-SHA must fail");
    const tls13 = await run("openssl", [...connect, "-tls1_3", "-alpn", "h2", "-CAfile", caFile]);
    assert.equal(tls13.code, 0, tls13.stderr);
    assert.match(tls13.stdout, /New, TLSv1\.3/);
    assert.match(tls13.stdout, /ALPN protocol: h2/);
    assert.match(tls13.stdout, /Verify return code: 0 \(ok\)/);
  });

  it("skips identical tables and adopts the running haproxy", async () => {
    const reloads = await masterReloads();
    await router.apply(table(appA));
    const second = newRouter();
    await second.start();
    assert.ok(logger.lines.includes("router adopted"));
    await second.apply(table(appA));
    assert.equal(await masterReloads(), reloads, "no reload for an unchanged table");
  });

  it("changes endpoints at runtime and config by reload, failing no keep-alive request", async () => {
    const abort = new AbortController();
    const ca = await readFile(caFile, "utf8");
    const load = keepAliveLoad({
      port: httpsPort,
      host: HELLO,
      ca,
      concurrency: 4,
      signal: abort.signal,
    });
    const reloadsBefore = await masterReloads();
    try {
      const steps = [[appA, appB], [appB], [appA, appB], [appA]];
      for (const endpoints of steps) {
        await sleep(300);
        await router.apply(table(...endpoints));
      }
      assert.equal(await masterReloads(), reloadsBefore, "endpoint changes need no reload");
      // A host added to an app, and removed again with an endpoint change: the host map
      // and the servers change through the runtime API too.
      const withHost: RouteTable = {
        apps: [{ ...table(appA).apps[0]!, hosts: [HELLO, EXTRA] }, table().apps[1]!],
      };
      await sleep(300);
      await router.apply(withHost);
      const added = await https(EXTRA);
      assert.equal(added.status, 200, "the new host routes (host map)");
      assert.match(added.body, /^hello from [ab]$/);
      const map = join(dir, "state", "hosts.map");
      assert.match(await readFile(map, "utf8"), /^extra\.test\.localhost app_hello$/m);
      await sleep(300);
      await router.apply(table(appA, appB));
      assert.equal((await https(EXTRA)).status, 503, "the removed host is gone");
      assert.doesNotMatch(await readFile(map, "utf8"), /extra/, "the file says what runs");
      assert.equal(await masterReloads(), reloadsBefore, "host changes need no reload");
      assert.ok(logger.lines.includes("router hosts updated at runtime"));
      // A configuration change (a new app) still reloads, hitlessly.
      const withApp: RouteTable = {
        apps: [...table(appA, appB).apps, { app: "extra", hosts: [EXTRA], endpoints: [appB] }],
      };
      await sleep(300);
      await router.apply(withApp);
      assert.equal((await https(EXTRA)).body, "hello from b", "the new app's host routes");
      await sleep(300);
      await router.apply(table(appA));
      assert.equal((await https(EXTRA)).status, 503);
      await sleep(300);
    } finally {
      abort.abort(); // a failed step must not leave the load running
    }
    const result = await load;
    assert.deepEqual(result.failures, []);
    assert.equal(await masterReloads(), reloadsBefore + 2, "two config changes, two reloads");
    const legacy = (await readdir(join(dir, "state"))).filter((f) => /^hosts-/.test(f));
    assert.deepEqual(legacy, [], "no host map named by digest is left");
    assert.ok(logger.lines.includes("router endpoints updated at runtime"));
    assert.ok(result.ok > 100, `only ${result.ok} requests`);
    assert.ok(result.reused > result.ok / 2, `keep-alive barely used: ${result.reused}`);
    assert.ok(result.bodies.has("hello from a") && result.bodies.has("hello from b"));
  });

  it("reuses connections to a server added at runtime", async () => {
    // HAProxy 2.6 keeps no idle connection of a dynamic server unless pool-max-conn and
    // pool-purge-delay are given (render.ts default-server): each request would connect anew.
    const reloads = await masterReloads();
    await router.apply(table(appB));
    await router.apply(table(appA));
    assert.equal(await masterReloads(), reloads, "both changes went through the runtime API");
    const abort = new AbortController();
    const load = keepAliveLoad({
      port: httpsPort,
      host: HELLO,
      ca: await readFile(caFile, "utf8"),
      concurrency: 2,
      signal: abort.signal,
    });
    await sleep(1_000);
    abort.abort();
    const result = await load;
    const stats = parseShowStat(
      await runtimeCommand(settings.statsSocket, "show stat app_hello -1 -1"),
    ).find((row) => row.svname === appA.name);
    const requests = Number(stats?.stot ?? 0);
    assert.ok(requests >= result.ok && result.ok > 20, JSON.stringify(stats));
    assert.ok(Number(stats?.connect ?? requests) <= 10, `connections: ${JSON.stringify(stats)}`);
    assert.ok(Number(stats?.reuse ?? 0) >= requests - 10, `reuse: ${JSON.stringify(stats)}`);
  });

  it("applies only the newest of concurrent tables", async () => {
    const reloads = await masterReloads();
    await Promise.all([
      router.apply(table(appA, appB)),
      router.apply(table(appB)),
      router.apply(table(appA)),
    ]);
    // The first table starts at once; the second is replaced by the third while it runs.
    // Endpoint-only changes go through the runtime API: no reload at all.
    assert.equal(await masterReloads(), reloads);
    assert.equal((await https(HELLO)).body, "hello from a");
  });

  it("rejects invalid input and keeps serving the previous configuration", async () => {
    const live = await readFile(join(dir, "state", "haproxy.cfg"), "utf8");
    const hostile = { apps: [{ app: "hello", hosts: [`${HELLO}\n  bind :1`], endpoints: [appB] }] };
    await assert.rejects(router.apply(hostile), ValidationError);
    const broken = newRouter({ crtList: join(dir, "missing-crt-list") });
    await broken.start();
    await assert.rejects(broken.apply(table(appB)), (error: unknown) => {
      assert.ok(error instanceof DriverError);
      assert.match(error.message, /missing-crt-list/);
      return true;
    });
    assert.equal(await readFile(join(dir, "state", "haproxy.cfg"), "utf8"), live);
    assert.equal((await https(HELLO)).body, "hello from a");
  });

  it("stops haproxy and removes its pid file and sockets", async () => {
    await router.stop();
    for (const file of ["haproxy.pid", "haproxy-master.sock", "haproxy.sock"]) {
      await assert.rejects(access(join(dir, "run", file)), { code: "ENOENT" });
    }
    await assert.rejects(https(HELLO), /curl .* failed/);
  });

  it("starts again with the stored configuration, or without routes if it is invalid", async () => {
    await router.start();
    assert.equal((await https(HELLO)).body, "hello from a");
    await router.stop();
    await writeFile(join(dir, "state", "haproxy.cfg"), "global\n    no-such-directive\n");
    await router.start();
    assert.ok(logger.lines.some((line) => line.includes("stored router configuration is invalid")));
    assert.equal((await https(HELLO)).status, 503);
    await router.apply(table(appB));
    assert.equal((await https(HELLO)).body, "hello from b");
  });
});

describe("HaproxyRouter start failures", () => {
  it("reports why haproxy could not start and leaves nothing running", async () => {
    const dir = await mkdtemp("/tmp/slipway-router-fail-");
    const taken = await startUpstream({ port: 0, host: "127.0.0.1" }, "not haproxy");
    try {
      const cert = await ensureServerCertificate({
        caDir: join(dir, "ca"),
        outDir: join(dir, "certs"),
        domain: DOMAIN,
      });
      await writeCrtList(join(dir, "crt-list"), [cert.pemPath]);
      const router = new HaproxyRouter({
        stateDir: join(dir, "state"),
        runDir: join(dir, "run"),
        settings: {
          bindAddress: "127.0.0.1",
          httpPort: await freePort(),
          httpsPort: portOf(taken),
          domain: DOMAIN,
          platformHost: API,
          apiSocket: join(dir, "run", "api.sock"),
          crtList: join(dir, "crt-list"),
          statsSocket: join(dir, "run", "haproxy.sock"),
          mapDir: join(dir, "state"),
        },
        logger: memoryLogger(),
        readyTimeoutMs: 10_000,
      });
      await assert.rejects(router.start(), (error: unknown) => {
        assert.ok(error instanceof DriverError);
        assert.match(error.message, /exited at start .*cannot bind socket/);
        return true;
      });
      await router.stop();
    } finally {
      await closeServer(taken);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
