/**
 * Scores an app's live response headers by the rules of the MDN HTTP Observatory 1.4.8
 * (@mdn/mdn-http-observatory), as docs/security.md describes. Pure: the caller fetches the
 * HTTPS response and the plain-HTTP redirect. Covered: CSP, HSTS, X-Content-Type-Options,
 * X-Frame-Options, Referrer-Policy, redirection, cookies, CORS and CORP. Not covered
 * (they need the HTML body): subresource integrity, which scores 0 for a page without
 * external scripts.
 */

/** What the scorer needs from the live app. */
export interface ObservedSite {
  /** Lower-cased header names of the HTTPS answer; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  /** Set-Cookie lines of the HTTPS answer. */
  readonly cookies: readonly string[];
  /** The plain-HTTP answer: status and Location, or null when plain HTTP is not served. */
  readonly http: { readonly status: number; readonly location: string | null } | null;
  /** The host that was scanned, to tell an on-host redirect from an off-host one. */
  readonly host: string;
}

/** One test's outcome, named like the Observatory's results. */
export interface TestResult {
  readonly test: string;
  readonly result: string;
  readonly modifier: number;
  readonly pass: boolean;
}

export interface ScoreReport {
  readonly score: number;
  readonly grade: string;
  readonly tests: readonly TestResult[];
}

const GRADES: readonly (readonly [min: number, grade: string])[] = [
  [100, "A+"],
  [90, "A"],
  [85, "A-"],
  [80, "B+"],
  [70, "B"],
  [65, "B-"],
  [60, "C+"],
  [50, "C"],
  [45, "C-"],
  [40, "D+"],
  [30, "D"],
  [25, "D-"],
  [0, "F"],
];

/** Scores a site: 100, plus every penalty, plus the bonuses only when still at 90 or more. */
export function scoreSite(site: ObservedSite): ScoreReport {
  const tests = [
    contentSecurityPolicy(site.headers),
    cookies(site.cookies),
    crossOriginResourceSharing(site.headers),
    redirection(site),
    referrerPolicy(site.headers),
    strictTransportSecurity(site.headers),
    {
      test: "subresource-integrity",
      result: "sri-not-implemented-but-no-scripts-loaded",
      modifier: 0,
      pass: true,
    },
    xContentTypeOptions(site.headers),
    xFrameOptions(site.headers),
    crossOriginResourcePolicy(site.headers),
  ];
  const penalties = tests.reduce((sum, t) => sum + Math.min(0, t.modifier), 0);
  let score = 100 + penalties;
  if (score >= 90) score += tests.reduce((sum, t) => sum + Math.max(0, t.modifier), 0);
  score = Math.max(0, score);
  const grade = GRADES.find(([min]) => score >= min)?.[1] ?? "F";
  return { score, grade, tests };
}

function result(test: string, outcome: string, modifier: number, pass = modifier >= 0): TestResult {
  return { test, result: outcome, modifier, pass };
}

/** Directive name to its source list, lower-cased; the first of a duplicate wins. */
export function parseCsp(value: string): Map<string, string[]> {
  const directives = new Map<string, string[]>();
  for (const part of value.split(";")) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name === undefined || name === "") continue;
    const key = name.toLowerCase();
    if (!directives.has(key))
      directives.set(
        key,
        sources.map((s) => s.toLowerCase()),
      );
  }
  return directives;
}

const BROAD = new Set([
  "ftp:",
  "http:",
  "https:",
  "*",
  "http://*",
  "http://*.*",
  "https://*",
  "https://*.*",
]);
const UNSAFE_INLINE = new Set(["'unsafe-inline'", "data:"]);
const PASSIVE = ["img-src", "media-src"];
const NONCE_HASH = ["'sha256-", "'sha384-", "'sha512-", "'nonce-"];

/** The Observatory's CSP test: the first matching outcome of its ordered checks wins. */
function contentSecurityPolicy(headers: Readonly<Record<string, string>>): TestResult {
  const test = "content-security-policy";
  const value = headers["content-security-policy"];
  if (value === undefined) {
    return headers["content-security-policy-report-only"] === undefined
      ? result(test, "csp-not-implemented", -25)
      : result(test, "csp-not-implemented-but-reporting-enabled", -25);
  }
  const csp = parseCsp(value);
  if (csp.size === 0) return result(test, "csp-header-invalid", -25);
  const sources = (name: string) => new Set(csp.get(name) ?? csp.get("default-src") ?? ["*"]);
  const script = sources("script-src");
  const style = sources("style-src");
  const object = sources("object-src");
  const nonceOrHash = (list: Set<string>) =>
    [...list].some((s) => NONCE_HASH.some((prefix) => s.startsWith(prefix)));
  // Browsers ignore unsafe-inline next to a nonce or hash.
  for (const list of [script, style]) {
    if (nonceOrHash(list)) list.delete("'unsafe-inline'");
  }
  if (script.has("'strict-dynamic'")) {
    if (!nonceOrHash(script)) return result(test, "csp-header-invalid", -25);
    for (const s of [...script]) {
      const broad = [...BROAD].some((b) => s.startsWith(b));
      if (broad || s === "'self'" || s === "'unsafe-inline'") script.delete(s);
    }
  }
  const active = [
    ...[...csp.entries()]
      .filter(([name]) => !PASSIVE.includes(name) && name !== "script-src")
      .flatMap(([, list]) => list),
    ...script,
  ];
  const passive = PASSIVE.flatMap((name) => csp.get(name) ?? csp.get("default-src") ?? []);
  const insecure = (s: string) => s.startsWith("http:") || s.startsWith("ftp:");
  const unsafeScript = [...script].some((s) => BROAD.has(s) || UNSAFE_INLINE.has(s));
  if (unsafeScript || [...object].some((s) => BROAD.has(s))) {
    return result(test, "csp-implemented-with-unsafe-inline", -20);
  }
  if (active.some(insecure)) return result(test, "csp-implemented-with-insecure-scheme", -20);
  if (script.has("'unsafe-eval'") || style.has("'unsafe-eval'")) {
    return result(test, "csp-implemented-with-unsafe-eval", -10);
  }
  if (passive.some(insecure)) {
    return result(test, "csp-implemented-with-insecure-scheme-in-passive-content-only", -10, true);
  }
  if ([...style].some((s) => BROAD.has(s) || UNSAFE_INLINE.has(s))) {
    return result(test, "csp-implemented-with-unsafe-inline-in-style-src-only", 0);
  }
  const defaultSrc = csp.get("default-src");
  return defaultSrc?.length === 1 && defaultSrc[0] === "'none'"
    ? result(test, "csp-implemented-with-no-unsafe-default-src-none", 10)
    : result(test, "csp-implemented-with-no-unsafe", 5);
}

function cookies(lines: readonly string[]): TestResult {
  const test = "cookies";
  if (lines.length === 0) return result(test, "cookies-not-found", 0);
  const parsed = lines.map((line) => {
    const attributes = line
      .split(";")
      .slice(1)
      .map((a) => a.trim().toLowerCase());
    return {
      secure: attributes.includes("secure"),
      httpOnly: attributes.includes("httponly"),
      sameSite: attributes.find((a) => a.startsWith("samesite="))?.slice(9),
    };
  });
  if (parsed.some((c) => !c.secure)) return result(test, "cookies-without-secure-flag", -20);
  if (
    parsed.some((c) => c.sameSite !== undefined && !["strict", "lax", "none"].includes(c.sameSite))
  ) {
    return result(test, "cookies-samesite-flag-invalid", -20);
  }
  if (parsed.every((c) => c.httpOnly && c.sameSite !== undefined)) {
    return result(test, "cookies-secure-with-httponly-sessions-and-samesite", 5);
  }
  return result(test, "cookies-secure-with-httponly-sessions", 0);
}

function crossOriginResourceSharing(headers: Readonly<Record<string, string>>): TestResult {
  const test = "cross-origin-resource-sharing";
  const origin = headers["access-control-allow-origin"];
  if (origin === undefined) return result(test, "cross-origin-resource-sharing-not-implemented", 0);
  if (origin.trim() === "*") {
    return result(test, "cross-origin-resource-sharing-implemented-with-public-access", 0);
  }
  return result(test, "cross-origin-resource-sharing-implemented-with-restricted-access", 0);
}

function redirection(site: ObservedSite): TestResult {
  const test = "redirection";
  if (site.http === null) return result(test, "redirection-not-needed-no-http", 0);
  const { status, location } = site.http;
  if (status < 300 || status > 399 || location === null) {
    return result(test, "redirection-missing", -20);
  }
  let target: URL;
  try {
    target = new URL(location, `http://${site.host}/`);
  } catch {
    return result(test, "redirection-invalid", -20);
  }
  if (target.protocol !== "https:") return result(test, "redirection-not-to-https", -20);
  if (target.hostname !== site.host) {
    return result(test, "redirection-off-host-from-http", -5);
  }
  return result(test, "redirection-to-https", 0);
}

const PRIVATE_REFERRERS = new Set([
  "no-referrer",
  "same-origin",
  "strict-origin",
  "strict-origin-when-cross-origin",
]);
const UNSAFE_REFERRERS = new Set([
  "origin",
  "origin-when-cross-origin",
  "unsafe-url",
  "no-referrer-when-downgrade",
]);

function referrerPolicy(headers: Readonly<Record<string, string>>): TestResult {
  const test = "referrer-policy";
  const value = headers["referrer-policy"];
  if (value === undefined) return result(test, "referrer-policy-not-implemented", 0);
  // Browsers use the last policy they understand.
  const policies = value.split(",").map((p) => p.trim().toLowerCase());
  const last = [...policies]
    .reverse()
    .find((p) => PRIVATE_REFERRERS.has(p) || UNSAFE_REFERRERS.has(p));
  if (last === undefined) return result(test, "referrer-policy-header-invalid", -5);
  return PRIVATE_REFERRERS.has(last)
    ? result(test, "referrer-policy-private", 5)
    : result(test, "referrer-policy-unsafe", -5);
}

const SIX_MONTHS = 15_552_000;

function strictTransportSecurity(headers: Readonly<Record<string, string>>): TestResult {
  const test = "strict-transport-security";
  const value = headers["strict-transport-security"];
  if (value === undefined) return result(test, "hsts-not-implemented", -20);
  // Sent twice (joined with a comma) or without max-age, it is invalid.
  const maxAge = value
    .split(";")
    .map((p) => p.trim().toLowerCase())
    .find((p) => p.startsWith("max-age="));
  const seconds = Number.parseInt(maxAge?.slice(8) ?? "", 10);
  if (value.includes(",") || Number.isNaN(seconds)) {
    return result(test, "hsts-header-invalid", -20);
  }
  return seconds >= SIX_MONTHS
    ? result(test, "hsts-implemented-max-age-at-least-six-months", 0)
    : result(test, "hsts-implemented-max-age-less-than-six-months", -10);
}

function xContentTypeOptions(headers: Readonly<Record<string, string>>): TestResult {
  const test = "x-content-type-options";
  const value = headers["x-content-type-options"];
  if (value === undefined) return result(test, "x-content-type-options-not-implemented", -5);
  return value.trim().toLowerCase() === "nosniff"
    ? result(test, "x-content-type-options-nosniff", 0)
    : result(test, "x-content-type-options-header-invalid", -5);
}

function xFrameOptions(headers: Readonly<Record<string, string>>): TestResult {
  const test = "x-frame-options";
  const csp = headers["content-security-policy"];
  if (csp !== undefined && parseCsp(csp).has("frame-ancestors")) {
    return result(test, "x-frame-options-implemented-via-csp", 5);
  }
  const value = headers["x-frame-options"];
  if (value === undefined) return result(test, "x-frame-options-not-implemented", -20);
  const v = value.trim().toLowerCase();
  if (v === "deny" || v === "sameorigin") {
    return result(test, "x-frame-options-sameorigin-or-deny", 0);
  }
  if (v.startsWith("allow-from ")) return result(test, "x-frame-options-allow-from-origin", 0);
  return result(test, "x-frame-options-header-invalid", -20);
}

function crossOriginResourcePolicy(headers: Readonly<Record<string, string>>): TestResult {
  const test = "cross-origin-resource-policy";
  const value = headers["cross-origin-resource-policy"];
  if (value === undefined) return result(test, "corp-not-implemented", 0);
  const v = value.trim().toLowerCase();
  if (v === "same-origin") return result(test, "corp-implemented-with-same-origin", 10);
  if (v === "same-site") return result(test, "corp-implemented-with-same-site", 10);
  if (v === "cross-origin") return result(test, "corp-implemented-with-cross-origin", 0);
  return result(test, "corp-header-invalid", -5);
}
