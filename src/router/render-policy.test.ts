import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ValidationError } from "../domain/errors.ts";
import { DEFAULT_POLICY, parseRateLimit, type RouterPolicy } from "../domain/router-policy.ts";
import { renderHaproxyConfig, type RouterSettings } from "./render.ts";
import { effectiveHeaders, haproxyString, hstsValue } from "./render-policy.ts";
import type { AppRoute } from "./router.ts";
import { assertGolden } from "./testdata/golden.ts";
import { TRICKY_VALUES } from "./testdata/tricky.ts";

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

const ROUTE: AppRoute = {
  app: "shop",
  hosts: ["shop.example.com", "www.shop.io"],
  endpoints: [{ name: "shop-web-1", address: "10.213.4.2", port: 5000 }],
};

function policy(overrides: Partial<RouterPolicy>): RouterPolicy {
  return { ...DEFAULT_POLICY, ...overrides };
}

function rejects(route: AppRoute, detail: RegExp): void {
  assert.throws(
    () => renderHaproxyConfig({ apps: [route] }, SETTINGS),
    (error: unknown) => {
      assert.ok(error instanceof ValidationError, `expected ValidationError, got ${String(error)}`);
      assert.ok(
        error.details.some((d) => detail.test(d)),
        `no detail matches ${String(detail)}: ${JSON.stringify(error.details)}`,
      );
      for (const d of error.details) assert.doesNotMatch(d, /[\r\n]/);
      return true;
    },
  );
}

describe("per-app router policy rendering", () => {
  it("renders the strict preset, overrides, CSP report-only, HSTS preload and a rate limit", async () => {
    const strict = policy({
      preset: "strict",
      headers: [
        { name: "X-Frame-Options", value: "SAMEORIGIN", force: true },
        { name: "Cross-Origin-Embedder-Policy", value: null, force: false },
        {
          name: "Content-Security-Policy-Report-Only",
          value: "default-src 'none'; report-uri /csp",
          force: false,
        },
      ],
      hstsIncludeSubDomains: true,
      hstsPreload: true,
      rateLimit: parseRateLimit("100/10s"),
    });
    await assertGolden(
      "policy",
      renderHaproxyConfig({ apps: [{ ...ROUTE, policy: strict }] }, SETTINGS),
    );
  });

  it("renders tricky but valid values neutralised", async () => {
    const headers = TRICKY_VALUES.map((value, i) => ({
      name: `X-T${i}`,
      value,
      force: i % 2 === 0,
    }));
    await assertGolden(
      "policy-tricky",
      renderHaproxyConfig({ apps: [{ ...ROUTE, policy: policy({ headers }) }] }, SETTINGS),
    );
  });

  it("quotes for HAProxy: no sample fetch, variable, quote or escape survives", () => {
    assert.equal(haproxyString("a %[src] b"), '"a %%[src] b"');
    assert.equal(haproxyString('say "hi"'), '"say \\"hi\\""');
    assert.equal(haproxyString("${HOME}"), '"\\${HOME}"');
    assert.equal(haproxyString("a\\b"), '"a\\\\b"');
    assert.throws(() => haproxyString("a\nb"));
  });

  it("computes the effective headers", () => {
    const names = effectiveHeaders().map((h) => h.name);
    assert.deepEqual(names, [
      "X-Content-Type-Options",
      "X-Frame-Options",
      "Referrer-Policy",
      "X-Permitted-Cross-Domain-Policies",
      "X-XSS-Protection",
    ]);
    const unset = effectiveHeaders(
      policy({ headers: [{ name: "x-frame-options", value: null, force: false }] }),
    );
    assert.ok(!unset.some((h) => h.name.toLowerCase() === "x-frame-options"));
    const strict = effectiveHeaders(policy({ preset: "strict" })).map((h) => h.name);
    for (const name of [
      "Content-Security-Policy",
      "Permissions-Policy",
      "Cross-Origin-Opener-Policy",
      "Cross-Origin-Embedder-Policy",
      "Cross-Origin-Resource-Policy",
    ]) {
      assert.ok(strict.includes(name), name);
    }
    assert.equal(hstsValue(DEFAULT_POLICY, true), "max-age=63072000; includeSubDomains");
    assert.equal(hstsValue(DEFAULT_POLICY, false), "max-age=63072000");
    assert.equal(
      hstsValue(policy({ hstsIncludeSubDomains: true, hstsPreload: true }), false),
      "max-age=63072000; includeSubDomains; preload",
    );
  });
});

describe("per-app router policy rejects input that could inject directives", () => {
  const withHeader = (name: string, value: string | null): AppRoute => ({
    ...ROUTE,
    policy: policy({ headers: [{ name, value, force: false }] }),
  });

  it("in header names", () => {
    for (const name of [
      "X-A\r\nX-B",
      "X-A\nhttp-request deny",
      "X A",
      'X"A',
      "X:A",
      "%[src]",
      "X-${HOME}",
      "X#A",
      "",
      "x".repeat(65),
      "1X",
      "X_A",
    ]) {
      rejects(withHeader(name, "v"), /header name .* must be letters/);
    }
    for (const name of ["Server", "x-powered-by", "Set-Cookie", "Content-Length", "Proxy-Foo"]) {
      rejects(withHeader(name, "v"), /cannot be changed/);
    }
    rejects(withHeader("Strict-Transport-Security", "max-age=0"), /headers:hsts/);
  });

  it("in header values and CSP strings", () => {
    for (const value of [
      "a\r\nX-Injected: 1",
      "a\nhttp-request redirect location https://evil",
      "a\rb",
      "a\tb",
      "a\0b",
      " leading",
      "trailing ",
      "",
      "é",
      "x".repeat(4097),
    ]) {
      rejects(withHeader("X-Custom", value), /value of X-Custom must be/);
      rejects(withHeader("Content-Security-Policy", value), /value of Content-Security-Policy/);
    }
    rejects(
      withHeader("Content-Security-Policy", "default-src 'self'; %[src] x"),
      /CSP directive "%\[src\]"/,
    );
    rejects(
      withHeader("Content-Security-Policy-Report-Only", "Default_Src 'self'"),
      /CSP directive/,
    );
  });

  it("in presets, TLS profiles, HSTS and rate limits", () => {
    const bad = (p: Partial<RouterPolicy>, detail: RegExp) => {
      rejects({ ...ROUTE, policy: policy(p) }, detail);
    };
    bad({ preset: "lax" as RouterPolicy["preset"] }, /preset/);
    bad({ tls: "old\nglobal" as RouterPolicy["tls"] }, /TLS profile/);
    bad({ hstsPreload: true }, /preload needs includeSubDomains/);
    bad({ rateLimit: { requests: 0, periodSeconds: 10 } }, /rate limit/);
    bad({ rateLimit: { requests: 1.5, periodSeconds: 10 } }, /rate limit/);
    bad({ rateLimit: { requests: 10, periodSeconds: 7200 } }, /rate limit/);
    for (const text of ["10", "10/", "x/10s", "10/10s\nglobal", "-1/10s", "10/10h", "0/10s"]) {
      assert.throws(() => parseRateLimit(text), ValidationError, text);
    }
    assert.deepEqual(parseRateLimit("5/s"), { requests: 5, periodSeconds: 1 });
    assert.deepEqual(parseRateLimit("600/1m"), { requests: 600, periodSeconds: 60 });
  });
});
