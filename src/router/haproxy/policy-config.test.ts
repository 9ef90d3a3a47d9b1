import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { DEFAULT_POLICY, parseRateLimit } from "../../domain/router-policy.ts";
import { ensureServerCertificate } from "../../security/ca.ts";
import { renderHaproxyConfig, renderHostMap, type RouterSettings } from "../render.ts";
import type { RouteTable } from "../router.ts";
import { TRICKY_VALUES } from "../testdata/tricky.ts";
import { writeCrtList } from "./crt-list.ts";
import { checkConfig } from "./haproxy-config.ts";

/**
 * The per-app policy output is valid for the real HAProxy (`haproxy -c`), with every preset,
 * a rate limit, and header values full of characters HAProxy's parser treats specially.
 */
describe("router policy in haproxy -c", () => {
  let dir = "";
  let settings: RouterSettings;

  before(async () => {
    dir = await mkdtemp("/tmp/slipway-policy-");
    const cert = await ensureServerCertificate({
      caDir: join(dir, "ca"),
      outDir: join(dir, "certs"),
      domain: "test.localhost",
    });
    await writeCrtList(join(dir, "crt-list"), [cert.pemPath]);
    settings = {
      bindAddress: "127.0.0.1",
      httpPort: 18080,
      httpsPort: 18443,
      domain: "test.localhost",
      platformHost: "slipway.test.localhost",
      apiSocket: join(dir, "api.sock"),
      crtList: join(dir, "crt-list"),
      statsSocket: join(dir, "stats.sock"),
      mapDir: dir,
    };
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("accepts the rendered policies", async () => {
    const headers = TRICKY_VALUES.map((value, i) => ({ name: `X-T${i}`, value, force: i > 2 }));
    const table: RouteTable = {
      apps: [
        {
          app: "strict",
          hosts: ["strict.test.localhost", "www.strict.io"],
          endpoints: [{ name: "s1", address: "127.0.0.1", port: 9 }],
          policy: {
            ...DEFAULT_POLICY,
            preset: "strict",
            hstsIncludeSubDomains: true,
            hstsPreload: true,
            rateLimit: parseRateLimit("10/10s"),
          },
        },
        {
          app: "tricky",
          hosts: ["tricky.test.localhost"],
          endpoints: [],
          policy: { ...DEFAULT_POLICY, headers, tls: "modern" },
        },
      ],
    };
    const config = renderHaproxyConfig(table, settings);
    const map = renderHostMap(table, settings);
    await writeFile(map.path, map.text);
    const file = join(dir, "haproxy.cfg");
    await writeFile(file, config);
    await checkConfig("haproxy", file);
    assert.match(config, /X-T0 "a %%\[src\] b"/);
  });
});
