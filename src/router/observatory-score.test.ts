import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { scoreSite, type ObservedSite } from "./observatory-score.ts";

const DEFAULTS: Record<string, string> = {
  "strict-transport-security": "max-age=63072000; includeSubDomains",
  "x-content-type-options": "nosniff",
  "x-frame-options": "SAMEORIGIN",
  "referrer-policy": "strict-origin-when-cross-origin",
  "x-permitted-cross-domain-policies": "none",
  "x-xss-protection": "0",
};

function site(
  headers: Record<string, string>,
  overrides: Partial<ObservedSite> = {},
): ObservedSite {
  return {
    headers,
    cookies: [],
    http: { status: 308, location: "https://hello.example.com/" },
    host: "hello.example.com",
    ...overrides,
  };
}

function outcome(s: ObservedSite, test: string): string {
  return scoreSite(s).tests.find((t) => t.test === test)?.result ?? "";
}

describe("scoreSite (MDN HTTP Observatory 1.4.8 rules)", () => {
  it("gives the platform defaults B (75): only the CSP is missing", () => {
    const report = scoreSite(site(DEFAULTS));
    assert.equal(report.score, 75);
    assert.equal(report.grade, "B");
    assert.deepEqual(
      report.tests.filter((t) => !t.pass).map((t) => t.result),
      ["csp-not-implemented"],
    );
  });

  it("gives A+ to SECURITY.md's CSP on top of the defaults, with the bonuses", () => {
    const csp = "default-src 'self'; frame-ancestors 'self'; object-src 'none'; base-uri 'self'";
    const report = scoreSite(site({ ...DEFAULTS, "content-security-policy": csp }));
    assert.equal(report.score, 115);
    assert.equal(report.grade, "A+");
  });

  it("scores nothing at all as F-ish and counts each rule", () => {
    const report = scoreSite(site({}, { http: { status: 200, location: null } }));
    // -25 CSP, -20 HSTS, -20 XFO, -20 redirect, -5 nosniff
    assert.equal(report.score, 10);
    assert.equal(report.grade, "F");
  });

  it("applies the CSP rules", () => {
    const csp = (value: string) =>
      outcome(site({ "content-security-policy": value }), "content-security-policy");
    assert.equal(csp("default-src 'self' 'unsafe-inline'"), "csp-implemented-with-unsafe-inline");
    assert.equal(csp("img-src 'self'"), "csp-implemented-with-unsafe-inline", "no script-src");
    assert.equal(
      csp("default-src 'self'; script-src 'self' 'unsafe-eval'"),
      "csp-implemented-with-unsafe-eval",
    );
    assert.equal(csp("default-src 'none'"), "csp-implemented-with-no-unsafe-default-src-none");
    assert.equal(
      csp("default-src 'self'; script-src 'nonce-abc' 'unsafe-inline'"),
      "csp-implemented-with-no-unsafe",
      "a nonce makes browsers ignore unsafe-inline",
    );
    assert.equal(
      csp("default-src 'self'; style-src 'unsafe-inline'"),
      "csp-implemented-with-unsafe-inline-in-style-src-only",
    );
    assert.equal(
      outcome(
        site({ "content-security-policy-report-only": "default-src 'none'" }),
        "content-security-policy",
      ),
      "csp-not-implemented-but-reporting-enabled",
    );
  });

  it("applies the HSTS, XFO, referrer, redirect, cookie and CORP rules", () => {
    assert.equal(
      outcome(site({ "strict-transport-security": "max-age=300" }), "strict-transport-security"),
      "hsts-implemented-max-age-less-than-six-months",
    );
    assert.equal(
      outcome(
        site({ "strict-transport-security": "includeSubDomains" }),
        "strict-transport-security",
      ),
      "hsts-header-invalid",
    );
    assert.equal(
      outcome(site({ "x-frame-options": "ALLOWALL" }), "x-frame-options"),
      "x-frame-options-header-invalid",
    );
    assert.equal(
      outcome(site({ "referrer-policy": "unsafe-url" }), "referrer-policy"),
      "referrer-policy-unsafe",
    );
    assert.equal(
      outcome(site({ "referrer-policy": "bogus, no-referrer" }), "referrer-policy"),
      "referrer-policy-private",
    );
    assert.equal(
      outcome(
        site({}, { http: { status: 301, location: "http://hello.example.com/" } }),
        "redirection",
      ),
      "redirection-not-to-https",
    );
    assert.equal(
      outcome(
        site({}, { http: { status: 308, location: "https://elsewhere.example/" } }),
        "redirection",
      ),
      "redirection-off-host-from-http",
    );
    assert.equal(
      outcome(site({}, { http: null }), "redirection"),
      "redirection-not-needed-no-http",
    );
    assert.equal(
      outcome(site({}, { cookies: ["sid=1; HttpOnly"] }), "cookies"),
      "cookies-without-secure-flag",
    );
    assert.equal(
      outcome(site({}, { cookies: ["sid=1; Secure; HttpOnly; SameSite=Lax"] }), "cookies"),
      "cookies-secure-with-httponly-sessions-and-samesite",
    );
    assert.equal(
      outcome(site({ "cross-origin-resource-policy": "nope" }), "cross-origin-resource-policy"),
      "corp-header-invalid",
    );
  });
});
