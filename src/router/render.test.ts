import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ValidationError } from "../domain/errors.ts";
import { renderHaproxyConfig, renderHostMap, type RouterSettings } from "./render.ts";
import type { AppRoute, Endpoint, RouteTable } from "./router.ts";
import { assertGolden } from "./testdata/golden.ts";

const SETTINGS: RouterSettings = {
  bindAddress: "0.0.0.0",
  httpPort: 80,
  httpsPort: 443,
  domain: "example.com",
  platformHost: "slipway.example.com",
  apiSocket: "/run/slipway/api.sock",
  crtList: "/var/lib/slipway/router/crt-list",
  statsSocket: "/run/slipway/haproxy.sock",
  mapDir: "/var/lib/slipway/router",
};

const HELLO: AppRoute = {
  app: "hello",
  hosts: ["www.hello.io", "hello.example.com"],
  endpoints: [
    { name: "hello-web-2", address: "10.213.4.3", port: 5000 },
    { name: "hello-web-1", address: "10.213.4.2", port: 5000 },
  ],
};
const IDLE: AppRoute = { app: "idle", hosts: ["idle.example.com"], endpoints: [] };

function rejects(table: RouteTable, settings: RouterSettings, detail: RegExp): void {
  assert.throws(
    () => renderHaproxyConfig(table, settings),
    (error: unknown) => {
      assert.ok(error instanceof ValidationError, `expected ValidationError, got ${String(error)}`);
      assert.ok(
        error.details.some((d) => detail.test(d)),
        `no detail matches ${String(detail)}: ${JSON.stringify(error.details)}`,
      );
      return true;
    },
  );
}

function withEndpoint(endpoint: Partial<Endpoint>): RouteTable {
  const base = { name: "hello-web-1", address: "10.213.4.2", port: 5000 };
  return { apps: [{ ...HELLO, endpoints: [{ ...base, ...endpoint }] }] };
}

describe("renderHaproxyConfig", () => {
  it("renders the empty table", async () => {
    await assertGolden("empty", renderHaproxyConfig({ apps: [] }, SETTINGS));
  });

  it("renders apps, custom domains and apps without endpoints", async () => {
    await assertGolden("apps", renderHaproxyConfig({ apps: [IDLE, HELLO] }, SETTINGS));
  });

  it("sends the access log through a ring forwarded over TCP to the daemon", async () => {
    const config = renderHaproxyConfig({ apps: [HELLO] }, { ...SETTINGS, accessLogPort: 5140 });
    await assertGolden("access-log", config);
    assert.match(
      config,
      /^ring slipway_access\n(?: {4}.*\n)*? {4}server daemon 127\.0\.0\.1:5140 log-proto octet-count$/m,
    );
    assert.match(config, /^ {4}log ring@slipway_access len 8192 format raw local0 info$/m);
    // The config HAProxy itself accepts (the driver checks every file with `haproxy -c`).
    const dir = mkdtempSync(join(tmpdir(), "slipway-render-"));
    try {
      const file = join(dir, "haproxy.cfg");
      const crtList = join(dir, "crt-list");
      writeFileSync(crtList, "");
      const map = renderHostMap({ apps: [HELLO] }, { ...SETTINGS, mapDir: dir });
      writeFileSync(map.path, map.text);
      writeFileSync(
        file,
        config.replace(SETTINGS.crtList, crtList).replace(`${SETTINGS.mapDir}/`, `${dir}/`),
      );
      const check = spawnSync("haproxy", ["-c", "-f", file], { encoding: "utf8" });
      assert.ok(
        check.status === 0 || /unable to load|no SSL certificate|crt-list/i.test(check.stderr),
        check.stderr,
      );
      assert.doesNotMatch(check.stderr, /ring|log-proto|unknown keyword/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs as many HAProxy threads as configured", () => {
    const config = renderHaproxyConfig({ apps: [] }, { ...SETTINGS, threads: 1 });
    assert.match(config, /^global\n(?: {4}.*\n)*? {4}nbthread 1$/m);
    assert.doesNotMatch(renderHaproxyConfig({ apps: [] }, SETTINGS), /nbthread/);
  });

  it("routes by a host map in a fixed file, so hosts alone do not change the configuration", () => {
    const table = { apps: [IDLE, HELLO] };
    const map = renderHostMap(table, SETTINGS);
    assert.equal(
      map.text,
      [
        "hello.example.com app_hello",
        "idle.example.com app_idle",
        "slipway.example.com platform_api",
        "www.hello.io app_hello",
        "",
      ].join("\n"),
    );
    assert.equal(map.path, "/var/lib/slipway/router/hosts.map");
    const config = renderHaproxyConfig(table, SETTINGS);
    assert.ok(config.includes(`map_str(${map.path})`));
    assert.doesNotMatch(config, /use_backend app_/, "no per-host rule: one lookup per request");
    // Same hosts in another order: same text. Another host: another text, in the same
    // file, and the same configuration (the driver changes the map at runtime).
    assert.equal(renderHostMap({ apps: [HELLO, IDLE] }, SETTINGS).text, map.text);
    const moved = { ...HELLO, hosts: [...HELLO.hosts, "shop.hello.io"] };
    const more = renderHostMap({ apps: [IDLE, moved] }, SETTINGS);
    assert.equal(more.path, map.path);
    assert.match(more.text, /^shop\.hello\.io app_hello$/m);
    assert.equal(renderHaproxyConfig({ apps: [IDLE, moved] }, SETTINGS), config);
  });

  it("renders IPv6, other ports and the ACME hook", async () => {
    const settings = {
      ...SETTINGS,
      bindAddress: "::",
      httpPort: 8080,
      httpsPort: 8443,
      acmeHttp01ToApi: true,
    };
    const v6: AppRoute = {
      ...HELLO,
      endpoints: [{ name: "hello-web-1", address: "fd00:d5::2", port: 5000 }],
    };
    await assertGolden("ipv6-ports-acme", renderHaproxyConfig({ apps: [v6] }, settings));
  });

  it("is independent of the order of apps, hosts and endpoints", () => {
    const reversed: AppRoute = {
      ...HELLO,
      hosts: [...HELLO.hosts].reverse(),
      endpoints: [...HELLO.endpoints].reverse(),
    };
    assert.equal(
      renderHaproxyConfig({ apps: [HELLO, IDLE] }, SETTINGS),
      renderHaproxyConfig({ apps: [IDLE, reversed] }, SETTINGS),
    );
  });
});

describe("renderHaproxyConfig rejects input that could inject directives", () => {
  const hostile = [
    "a\nb",
    "a\r\nb",
    "a b",
    'a"b',
    "a'b",
    "a#b",
    "${HOME}",
    "a\\b",
    "a;b",
    "a\tb",
    "",
  ];

  it("in host names", () => {
    for (const host of [...hostile, "Hello.example.com", "*.example.com", "a..b", "-a.b", "a.b."]) {
      rejects({ apps: [{ ...HELLO, hosts: [host] }] }, SETTINGS, /host .* is not valid/);
    }
    rejects(
      { apps: [{ ...HELLO, hosts: ["x.example.com\n    use_backend app_evil"] }] },
      SETTINGS,
      /is not valid/,
    );
  });

  it("in app names", () => {
    for (const app of [...hostile, "Hello", "app_x", "a".repeat(64)]) {
      rejects({ apps: [{ ...HELLO, app }] }, SETTINGS, /is not a DNS label/);
    }
  });

  it("in server names", () => {
    for (const name of [...hostile, "-web", "a".repeat(129)]) {
      rejects(withEndpoint({ name }), SETTINGS, /name is not a container name/);
    }
  });

  it("in addresses", () => {
    const addresses = [...hostile, "10.0.0.1 backup", "10.0.0.256", "010.0.0.1", "10.0.0"];
    for (const address of [...addresses, "example.com", "::1]:80 [::1", "fe80::1%eth0"]) {
      rejects(withEndpoint({ address }), SETTINGS, /is not an IP address/);
    }
  });

  it("in ports", () => {
    for (const port of [0, 65536, 1.5, Number.NaN, -1]) {
      rejects(withEndpoint({ port }), SETTINGS, /port .* is invalid/);
    }
    const text = "5000 check backup" as unknown as number;
    rejects(withEndpoint({ port: text }), SETTINGS, /port .* is invalid/);
  });

  it("in settings", () => {
    const cases: [Partial<RouterSettings>, RegExp][] = [
      [{ bindAddress: "0.0.0.0:80 ssl" }, /bindAddress/],
      [{ httpPort: 0 }, /httpPort/],
      [{ httpsPort: 80 }, /httpPort equals httpsPort/],
      [{ domain: "example.com\nglobal" }, /domain/],
      [{ platformHost: "slipway example.com" }, /platformHost/],
      [{ apiSocket: "relative/api.sock" }, /apiSocket/],
      [{ apiSocket: "/run/api sock" }, /apiSocket/],
      [{ statsSocket: `/${"s".repeat(110)}` }, /statsSocket is longer/],
      [{ crtList: "/etc/crt-list\n" }, /crtList/],
      [{ crtList: "/etc/${SECRET}" }, /crtList/],
      [{ mapDir: "/var/lib/slipway/router map" }, /mapDir/],
      [{ threads: 0 }, /threads 0 is not from 1 to 64/],
      [{ threads: 1.5 }, /threads/],
    ];
    for (const [override, detail] of cases) {
      assert.throws(
        () => renderHaproxyConfig({ apps: [] }, { ...SETTINGS, ...override }),
        (error: unknown) =>
          error instanceof ValidationError && error.details.some((d) => detail.test(d)),
      );
    }
  });

  it("rejects ambiguous tables", () => {
    rejects(
      { apps: [HELLO, { ...IDLE, hosts: ["hello.example.com"] }] },
      SETTINGS,
      /taken by app hello/,
    );
    rejects(
      { apps: [{ ...IDLE, hosts: ["slipway.example.com"] }] },
      SETTINGS,
      /taken by the platform/,
    );
    rejects({ apps: [HELLO, HELLO] }, SETTINGS, /appears twice/);
    const twin = HELLO.endpoints[0]!;
    rejects({ apps: [{ ...HELLO, endpoints: [twin, twin] }] }, SETTINGS, /name appears twice/);
  });

  it("keeps error details on one line", () => {
    try {
      renderHaproxyConfig({ apps: [{ ...HELLO, hosts: ["a\nb"] }] }, SETTINGS);
      assert.fail("expected a ValidationError");
    } catch (error) {
      assert.ok(error instanceof ValidationError);
      for (const detail of error.details) assert.doesNotMatch(detail, /[\r\n]/);
    }
  });
});
