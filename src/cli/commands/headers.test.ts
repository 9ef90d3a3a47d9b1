import assert from "node:assert/strict";
import { after, afterEach, beforeEach, describe, it } from "node:test";
import type { RouterPolicyView } from "../../api/router-settings.ts";
import { install, runCli, scratch, type Installation } from "../test-kit.ts";

const dirs = scratch("slipway-headers-");
after(() => {
  dirs.remove();
});

describe("slipway headers, tls:set and ratelimit commands", () => {
  let slipway: Installation;
  let home: string[];
  const run = (...argv: string[]) => runCli(dirs, [...argv, ...home]);
  beforeEach(async () => {
    slipway = await install(dirs);
    home = ["--home", slipway.home];
    await slipway.store.createApp("shop");
  });
  afterEach(async () => {
    await slipway.close();
  });

  it("shows, sets, unsets and presets headers", async () => {
    const shown = await run("headers", "--app", "shop");
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /X-Content-Type-Options\s+nosniff/);
    assert.match(shown.stdout, /max-age=63072000; includeSubDomains/);
    const csp = "default-src 'self'; object-src 'none'";
    const set = await run(
      "headers:set",
      "Content-Security-Policy",
      csp,
      "--report-only",
      "--app",
      "shop",
      "--json",
    );
    assert.equal(set.code, 0, set.stderr);
    const view = JSON.parse(set.stdout) as RouterPolicyView;
    assert.ok(
      view.headers.some((h) => h.name === "Content-Security-Policy-Report-Only" && h.value === csp),
    );
    assert.equal((await run("headers:unset", "X-Frame-Options", "--app", "shop")).code, 0);
    assert.equal((await run("headers:preset", "strict", "--app", "shop")).code, 0);
    const after = JSON.parse(
      (await run("headers", "--app", "shop", "--json")).stdout,
    ) as RouterPolicyView;
    assert.equal(after.policy.preset, "strict");
    assert.ok(!after.headers.some((h) => h.name === "X-Frame-Options"));
    assert.ok(after.headers.some((h) => h.name === "Permissions-Policy"));
  });

  it("sets HSTS options, the TLS profile and the rate limit", async () => {
    assert.equal((await run("headers:hsts", "--preload", "--app", "shop")).code, 0);
    assert.equal((await run("tls:set", "modern", "--app", "shop")).code, 0);
    const limited = await run("ratelimit:set", "50/10s", "--app", "shop");
    assert.equal(limited.code, 0, limited.stderr);
    assert.match(limited.stdout, /rate limit:\s+50\/10s/);
    assert.match(limited.stdout, /TLS profile:\s+modern/);
    assert.match(limited.stdout, /custom domains:\s+max-age=63072000; includeSubDomains; preload/);
    const unset = await run("ratelimit:unset", "--app", "shop");
    assert.match(unset.stdout, /rate limit:\s+none/);
  });

  it("refuses hostile input with a clear message and changes nothing", async () => {
    for (const argv of [
      ["headers:set", "X-A\r\nX-B", "v"],
      ["headers:set", "X-A", "v\r\nX-Injected: 1"],
      ["headers:set", "Server", "x"],
      ["tls:set", "old"],
      ["ratelimit:set", "lots"],
    ]) {
      const result = await run(...argv, "--app", "shop");
      assert.notEqual(result.code, 0, argv.join(" "));
      assert.match(result.stderr, /must|cannot|invalid/i);
    }
    assert.deepEqual(
      await slipway.store.getAppSettings((await slipway.store.getApp("shop"))?.id ?? ""),
      {},
    );
  });
});
