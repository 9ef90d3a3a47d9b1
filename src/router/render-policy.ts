import {
  DEFAULT_POLICY,
  policyProblems,
  type HeaderRule,
  type RouterPolicy,
} from "../domain/router-policy.ts";

/**
 * The per-app part of haproxy.cfg: security headers, HSTS and the rate limit, rendered into
 * the app's backend. Pure. Backend `http-after-response` rules run before the frontend's, so
 * an app backend sets its whole header set and marks the transaction (txn.sw_app_headers);
 * the frontend then adds the platform defaults only to responses no app policy handled
 * (redirects, the no-route page, the API).
 */

/** Security headers every response gets unless the app sent its own (SECURITY.md). */
export const PLATFORM_HEADERS: readonly (readonly [name: string, value: string])[] = [
  ["X-Content-Type-Options", "nosniff"],
  ["X-Frame-Options", "SAMEORIGIN"],
  ["Referrer-Policy", "strict-origin-when-cross-origin"],
  ["X-Permitted-Cross-Domain-Policies", "none"],
  ["X-XSS-Protection", "0"],
];

/**
 * The OWASP Secure Headers Project recommendations (ci/headers_add.json, 2024), minus
 * Clear-Site-Data (it would wipe the site's storage on every response: it belongs on a
 * logout response) and Cache-Control (caching is the app's decision).
 */
export const STRICT_HEADERS: readonly (readonly [name: string, value: string])[] = [
  ["X-Content-Type-Options", "nosniff"],
  ["X-Frame-Options", "DENY"],
  ["Referrer-Policy", "no-referrer"],
  ["X-Permitted-Cross-Domain-Policies", "none"],
  ["X-XSS-Protection", "0"],
  [
    "Content-Security-Policy",
    "default-src 'self'; form-action 'self'; base-uri 'self'; object-src 'none'; frame-ancestors 'none'; upgrade-insecure-requests",
  ],
  [
    "Permissions-Policy",
    "accelerometer=(), autoplay=(), camera=(), cross-origin-isolated=(), display-capture=(), encrypted-media=(), fullscreen=(), geolocation=(), gyroscope=(), keyboard-map=(), magnetometer=(), microphone=(), midi=(), payment=(), picture-in-picture=(), publickey-credentials-get=(), screen-wake-lock=(), sync-xhr=(self), usb=(), web-share=(), xr-spatial-tracking=(), clipboard-read=(), clipboard-write=(), gamepad=(), hid=(), idle-detection=(), serial=()",
  ],
  ["Cross-Origin-Opener-Policy", "same-origin"],
  ["Cross-Origin-Embedder-Policy", "require-corp"],
  ["Cross-Origin-Resource-Policy", "same-origin"],
  ["X-DNS-Prefetch-Control", "off"],
];

/** Two years, as SECURITY.md sets (hstspreload.org asks for at least one). */
export const HSTS_MAX_AGE = "max-age=63072000";

/** The variable an app backend sets so the frontend does not add the defaults again. */
export const APP_HEADERS_VAR = "txn.sw_app_headers";

/** One header as the router sends it for an app. */
export interface EffectiveHeader {
  readonly name: string;
  readonly value: string;
  /** Replaces the app's own header; otherwise the app's is kept. */
  readonly force: boolean;
}

/** The headers (without HSTS) an app with this policy gets, in a stable order. */
export function effectiveHeaders(policy: RouterPolicy = DEFAULT_POLICY): EffectiveHeader[] {
  const preset = policy.preset === "strict" ? STRICT_HEADERS : PLATFORM_HEADERS;
  const rules = new Map<string, HeaderRule>(policy.headers.map((r) => [r.name.toLowerCase(), r]));
  const result: EffectiveHeader[] = [];
  for (const [name, value] of preset) {
    const rule = rules.get(name.toLowerCase());
    rules.delete(name.toLowerCase());
    if (rule === undefined) result.push({ name, value, force: false });
    else if (rule.value !== null)
      result.push({ name: rule.name, value: rule.value, force: rule.force });
  }
  const added = [...rules.values()].sort((a, b) => compare(a.name, b.name));
  for (const rule of added) {
    if (rule.value !== null) result.push({ name: rule.name, value: rule.value, force: rule.force });
  }
  return result;
}

/** The HSTS value for a platform host (always includeSubDomains) or a custom domain. */
export function hstsValue(policy: RouterPolicy, platformHost: boolean): string {
  if (platformHost) return `${HSTS_MAX_AGE}; includeSubDomains`;
  if (!policy.hstsIncludeSubDomains) return HSTS_MAX_AGE;
  return `${HSTS_MAX_AGE}; includeSubDomains${policy.hstsPreload ? "; preload" : ""}`;
}

/** Problems that make a policy unrenderable, prefixed with the app (for ValidationError). */
export function renderPolicyProblems(app: string, policy: RouterPolicy | undefined): string[] {
  return policy === undefined ? [] : policyProblems(policy).map((p) => `app ${app}: ${p}`);
}

/**
 * The lines of an app backend that apply its policy (the policy must be valid: see
 * renderPolicyProblems). `domain` is the platform domain, for the HSTS variant.
 */
export function appPolicyLines(
  app: string,
  policy: RouterPolicy = DEFAULT_POLICY,
  domain: string,
): string[] {
  const lines: string[] = [];
  const limit = policy.rateLimit;
  if (limit !== null) {
    const period = `${limit.periodSeconds}s`;
    // One table per app, so a flood on one app never evicts another app's clients; ipv6
    // keys hold IPv4 clients too (as ::ffff:a.b.c.d).
    lines.push(
      `stick-table type ipv6 size 100k expire ${period} store http_req_rate(${period})`,
      `http-request track-sc0 src table app_${app}`,
      `http-request return status 429 content-type "text/plain; charset=utf-8" string "Too many requests: slow down and retry later.\\n" hdr Retry-After ${limit.periodSeconds} if { sc_http_req_rate(0,app_${app}) gt ${limit.requests} }`,
    );
  }
  const unlessSent = (name: string) => `!{ res.hdr(${name.toLowerCase()}) -m found }`;
  const platform = `{ var(txn.host) -m end .${domain} }`;
  lines.push(
    `http-after-response set-var(${APP_HEADERS_VAR}) bool(true)`,
    `http-after-response set-header Strict-Transport-Security ${haproxyString(hstsValue(policy, true))} if ${platform} ${unlessSent("Strict-Transport-Security")}`,
    `http-after-response set-header Strict-Transport-Security ${haproxyString(hstsValue(policy, false))} if !${platform} ${unlessSent("Strict-Transport-Security")}`,
  );
  for (const header of effectiveHeaders(policy)) {
    const condition = header.force ? "" : ` if ${unlessSent(header.name)}`;
    lines.push(
      `http-after-response set-header ${header.name} ${haproxyString(header.value)}${condition}`,
    );
  }
  return lines;
}

/**
 * A validated header value as one HAProxy double-quoted log-format argument: `%` would
 * start a sample fetch (`%[...]`), `$` an environment variable, `"` would end the string
 * and `\` escape; each is neutralised, so the value reaches clients byte for byte.
 * Control characters never get here (the policy validation refuses them).
 */
export function haproxyString(value: string): string {
  if (/\p{Cc}/u.test(value)) {
    throw new Error("control character in a rendered value");
  }
  const escaped = value
    .replaceAll("\\", "\\\\")
    .replaceAll('"', '\\"')
    .replaceAll("$", "\\$")
    .replaceAll("%", "%%");
  return `"${escaped}"`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
