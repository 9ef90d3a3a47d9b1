import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, it } from "node:test";
import { scoreSite } from "./observatory-score.ts";

/**
 * Compares scoreSite's header tests with the real MDN HTTP Observatory 1.4.8 analyzers on
 * the same headers. The package is never a dependency: install it into a temp dir with
 * `npm i --ignore-scripts --prefix DIR @mdn/mdn-http-observatory@1.4.8` and point
 * SLIPWAY_OBSERVATORY_DIR at DIR (its analyzers read conf/hsts-preload.json: write `{}`
 * there). Without it, this test is skipped.
 */
const dir = process.env.SLIPWAY_OBSERVATORY_DIR;
const src =
  dir === undefined ? undefined : join(dir, "node_modules", "@mdn", "mdn-http-observatory", "src");
const available = src !== undefined && existsSync(src);

type Analyzer = (requests: unknown) => { result: string };

const CASES: readonly Record<string, string>[] = [
  {},
  { "content-security-policy": "default-src 'self'; frame-ancestors 'self'; object-src 'none'" },
  { "content-security-policy": "default-src 'none'" },
  { "content-security-policy": "default-src 'self' 'unsafe-inline'" },
  { "content-security-policy": "img-src 'self'" },
  { "content-security-policy": "default-src 'self'; script-src 'self' 'unsafe-eval'" },
  { "content-security-policy": "default-src 'self'; style-src 'unsafe-inline'" },
  { "content-security-policy": "default-src 'self'; script-src 'nonce-x' 'unsafe-inline'" },
  { "content-security-policy": "default-src 'self'; script-src 'strict-dynamic'" },
  { "content-security-policy": "default-src 'self'; img-src http://cdn.example" },
  { "content-security-policy": "default-src 'self'; connect-src http://api.example" },
  { "content-security-policy-report-only": "default-src 'none'" },
  { "x-frame-options": "SAMEORIGIN" },
  { "x-frame-options": "ALLOWALL" },
  { "x-frame-options": "ALLOW-FROM https://a.example" },
  { "referrer-policy": "strict-origin-when-cross-origin" },
  { "referrer-policy": "no-referrer-when-downgrade" },
  { "referrer-policy": "bogus" },
  { "referrer-policy": "unsafe-url, no-referrer" },
  { "x-content-type-options": "nosniff" },
  { "x-content-type-options": "sniff" },
  { "strict-transport-security": "max-age=63072000; includeSubDomains" },
  { "strict-transport-security": "max-age=300" },
  { "strict-transport-security": "includeSubDomains" },
  { "cross-origin-resource-policy": "same-origin" },
  { "cross-origin-resource-policy": "same-site" },
  { "cross-origin-resource-policy": "nope" },
];

const TESTS: readonly [file: string, name: string, test: string][] = [
  ["csp.js", "contentSecurityPolicyTest", "content-security-policy"],
  ["x-frame-options.js", "xFrameOptionsTest", "x-frame-options"],
  ["referrer-policy.js", "referrerPolicyTest", "referrer-policy"],
  ["x-content-type-options.js", "xContentTypeOptionsTest", "x-content-type-options"],
  ["strict-transport-security.js", "strictTransportSecurityTest", "strict-transport-security"],
  [
    "cross-origin-resource-policy.js",
    "crossOriginResourcePolicyTest",
    "cross-origin-resource-policy",
  ],
];

/** The Requests object the analyzers read: one verified HTTPS response with these headers. */
function requests(headers: Record<string, string>): unknown {
  const map = new Map(Object.entries(headers));
  const response = {
    status: 200,
    verified: true,
    httpEquiv: new Map(),
    headers: Object.assign(Object.fromEntries(map), { get: (n: string) => map.get(n) ?? null }),
  };
  return {
    hostname: "hello.example.com",
    responses: { auto: response, https: response, http: null, cors: null },
    resources: { path: "" },
    session: { url: new URL("https://hello.example.com/") },
  };
}

describe("scoreSite matches the MDN HTTP Observatory 1.4.8 analyzers", { skip: !available }, () => {
  it("gives the same result for each header test", async () => {
    const base = src ?? "";
    for (const [file, name, test] of TESTS) {
      const module = (await import(
        pathToFileURL(join(base, "analyzer", "tests", file)).href
      )) as Record<string, Analyzer>;
      const analyzer = module[name];
      assert.ok(analyzer, `${file} exports ${name}`);
      for (const headers of CASES) {
        const theirs: string = analyzer(requests(headers)).result;
        const ours = scoreSite({
          headers,
          cookies: [],
          http: null,
          host: "hello.example.com",
        }).tests.find((t) => t.test === test)?.result;
        assert.equal(ours, theirs, `${test} for ${JSON.stringify(headers)}`);
      }
    }
  });
});
