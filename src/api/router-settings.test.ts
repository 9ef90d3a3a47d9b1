import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { ROUTER_POLICY_SETTING } from "../domain/router-policy.ts";
import type { RouterPolicyView } from "./router-settings.ts";
import { apiHarness, expectProblem, type ApiHarness } from "./test-harness.ts";

const post = (body: unknown): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

describe("/v1/apps/:name/router", () => {
  let h: ApiHarness;
  let appId = "";
  beforeEach(async () => {
    h = await apiHarness();
    appId = (await h.store.createApp("shop")).id;
  });
  afterEach(async () => {
    await h.close();
  });

  const stored = async () => (await h.store.getAppSettings(appId))[ROUTER_POLICY_SETTING];

  it("shows the platform defaults", async () => {
    const res = await h.request("/v1/apps/shop/router");
    assert.equal(res.status, 200);
    const view = (await res.json()) as RouterPolicyView;
    assert.equal(view.policy.preset, "default");
    assert.equal(view.hsts.platform, "max-age=63072000; includeSubDomains");
    assert.ok(view.headers.some((h) => h.name === "X-Content-Type-Options"));
    assert.equal(view.rateLimit, null);
  });

  it("sets, forces, report-onlies and unsets headers, and stores the policy", async () => {
    let res = await h.request(
      "/v1/apps/shop/router/headers",
      post({ name: "Content-Security-Policy", value: "default-src 'self'", reportOnly: true }),
    );
    assert.equal(res.status, 200);
    let view = (await res.json()) as RouterPolicyView;
    assert.ok(view.headers.some((x) => x.name === "Content-Security-Policy-Report-Only"));
    res = await h.request(
      "/v1/apps/shop/router/headers",
      post({ name: "X-Frame-Options", value: "DENY", force: true }),
    );
    view = (await res.json()) as RouterPolicyView;
    assert.deepEqual(
      view.headers.find((x) => x.name === "X-Frame-Options"),
      { name: "X-Frame-Options", value: "DENY", force: true },
    );
    res = await h.request("/v1/apps/shop/router/headers/unset", post({ name: "x-xss-protection" }));
    view = (await res.json()) as RouterPolicyView;
    assert.ok(!view.headers.some((x) => x.name.toLowerCase() === "x-xss-protection"));
    assert.match((await stored()) ?? "", /DENY/);
  });

  it("sets the preset, HSTS, TLS profile and rate limit; back to defaults clears it", async () => {
    await h.request("/v1/apps/shop/router/preset", post({ preset: "strict" }));
    await h.request("/v1/apps/shop/router/hsts", post({ includeSubDomains: true, preload: true }));
    await h.request("/v1/apps/shop/router/tls", post({ profile: "modern" }));
    const res = await h.request("/v1/apps/shop/router/ratelimit", post({ limit: "100/10s" }));
    const view = (await res.json()) as RouterPolicyView;
    assert.equal(view.policy.preset, "strict");
    assert.equal(view.policy.tls, "modern");
    assert.equal(view.hsts.custom, "max-age=63072000; includeSubDomains; preload");
    assert.equal(view.rateLimit, "100/10s");
    await h.request("/v1/apps/shop/router/preset", post({ preset: "default" }));
    await h.request(
      "/v1/apps/shop/router/hsts",
      post({ includeSubDomains: false, preload: false }),
    );
    await h.request("/v1/apps/shop/router/tls", post({ profile: "intermediate" }));
    await h.request("/v1/apps/shop/router/ratelimit", post({}));
    assert.equal(await stored(), undefined, "the default policy is not stored");
  });

  it("refuses bad input with 422 and changes nothing", async () => {
    const cases: [string, unknown][] = [
      ["headers", { name: "X-A\r\nX-B", value: "v" }],
      ["headers", { name: "X-A", value: "v\r\nX-Injected: 1" }],
      ["headers", { name: "X-A", value: "v\nhttp-request deny" }],
      ["headers", { name: "Server", value: "x" }],
      ["headers", { name: "Strict-Transport-Security", value: "max-age=0" }],
      ["headers", { name: "X-A", value: "v", reportOnly: true }],
      ["headers", { name: "Content-Security-Policy", value: "%[src] 'self'" }],
      ["headers/unset", { name: "X A" }],
      ["preset", { preset: "lax" }],
      ["hsts", { includeSubDomains: false, preload: true }],
      ["tls", { profile: "old" }],
      ["ratelimit", { limit: "10/10s\nglobal" }],
      ["ratelimit", { limit: "0/10s" }],
    ];
    for (const [path, body] of cases) {
      const res = await h.request(`/v1/apps/shop/router/${path}`, post(body));
      await expectProblem(res, 422, "invalid_input");
    }
    assert.equal(await stored(), undefined);
  });

  it("answers 404 for an unknown app and 502 for a score without a probe", async () => {
    await expectProblem(await h.request("/v1/apps/nope/router"), 404, "app_not_found");
    const res = await h.request("/v1/apps/shop/router/score");
    assert.equal(res.status, 502);
  });
});
