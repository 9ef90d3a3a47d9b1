import { ValidationError } from "./errors.ts";

/**
 * An app's router policy: its security headers, TLS profile and rate limit. Stored per app
 * (src/store), rendered into haproxy.cfg by src/router/render-policy.ts. Every value here is
 * validated before it is stored and again before it is rendered.
 */

/** Mozilla "intermediate" (TLS 1.2 + 1.3) or "modern" (TLS 1.3 only). */
export type TlsProfile = "intermediate" | "modern";
/** "default": SECURITY.md's platform defaults; "strict": OWASP Secure Headers values. */
export type HeaderPreset = "default" | "strict";

/** One per-app header rule: set a value (kept if the app sent its own, unless forced) or unset. */
export interface HeaderRule {
  /** Canonical (as given) header name; compared case-insensitively. */
  readonly name: string;
  /** The value, or null to not send the header (the app's own is still passed through). */
  readonly value: string | null;
  /** Replace the app's own header instead of keeping it. */
  readonly force: boolean;
}

/** At most `requests` requests per client IP per `periodSeconds`; more get 429. */
export interface RateLimit {
  readonly requests: number;
  readonly periodSeconds: number;
}

export interface RouterPolicy {
  readonly preset: HeaderPreset;
  readonly headers: readonly HeaderRule[];
  /** HSTS on custom domains: add includeSubDomains (platform domains always have it). */
  readonly hstsIncludeSubDomains: boolean;
  /** HSTS on custom domains: add preload (needs includeSubDomains). */
  readonly hstsPreload: boolean;
  readonly tls: TlsProfile;
  readonly rateLimit: RateLimit | null;
}

export const DEFAULT_POLICY: RouterPolicy = {
  preset: "default",
  headers: [],
  hstsIncludeSubDomains: false,
  hstsPreload: false,
  tls: "intermediate",
  rateLimit: null,
};

/** Header names: letters, digits and dashes, starting with a letter (a subset of RFC 9110 tokens). */
const HEADER_NAME = /^[A-Za-z][A-Za-z0-9-]{0,63}$/;
/** Visible ASCII and space: no control characters (CR, LF, NUL, TAB), no non-ASCII. */
const HEADER_VALUE = /^[\x21-\x7e]([\x20-\x7e]{0,4094}[\x21-\x7e])?$/;
const CSP_DIRECTIVE = /^[a-z][a-z-]*$/;
const MAX_RULES = 32;

/**
 * Headers a policy may not set or unset: framing and hop-by-hop headers (setting them would
 * corrupt responses), headers the router owns (HSTS via the hsts settings, the request id),
 * and the ones it always removes.
 */
const RESERVED = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-length",
  "content-type",
  "content-encoding",
  "upgrade",
  "te",
  "trailer",
  "host",
  "date",
  "location",
  "set-cookie",
  "alt-svc",
  "server",
  "x-powered-by",
  "x-request-id",
  "strict-transport-security",
]);

/** Problems with a header name, or [] when it may be used in a policy. */
export function headerNameProblems(name: unknown): string[] {
  if (typeof name !== "string" || !HEADER_NAME.test(name)) {
    return [`header name ${show(name)} must be letters, digits and dashes (at most 64)`];
  }
  const lower = name.toLowerCase();
  if (RESERVED.has(lower) || lower.startsWith("proxy-")) {
    const hint =
      lower === "strict-transport-security" ? " (use `slipway headers:hsts`)" : " by the router";
    return [`header ${name} cannot be changed${hint}`];
  }
  return [];
}

/** Problems with a header value (for the named header), or []. */
export function headerValueProblems(name: string, value: unknown): string[] {
  if (typeof value !== "string" || !HEADER_VALUE.test(value)) {
    return [
      `value of ${name} must be 1 to 4096 visible ASCII characters or spaces, without control characters or surrounding spaces`,
    ];
  }
  const lower = name.toLowerCase();
  if (lower === "content-security-policy" || lower === "content-security-policy-report-only") {
    return cspProblems(value);
  }
  return [];
}

/** A CSP is `directive value...; directive ...`; the names must look like directives. */
function cspProblems(value: string): string[] {
  const problems: string[] = [];
  for (const part of value.split(";")) {
    const directive = part.trim().split(" ")[0] ?? "";
    if (directive === "") continue;
    if (!CSP_DIRECTIVE.test(directive)) {
      problems.push(`CSP directive ${show(directive)} is not a directive name`);
    }
  }
  return problems;
}

/** Checks a whole policy; throws ValidationError listing every problem. */
export function validatePolicy(policy: RouterPolicy): void {
  const problems = policyProblems(policy);
  if (problems.length > 0) throw new ValidationError("invalid router policy", problems);
}

/** Every problem of a policy (empty when valid). */
export function policyProblems(policy: RouterPolicy): string[] {
  const problems: string[] = [];
  // Stored and API input is only typed by assertion: check the unions at run time.
  if (!(["default", "strict"] as readonly string[]).includes(policy.preset)) {
    problems.push(`preset ${show(policy.preset)} must be default or strict`);
  }
  if (!(["intermediate", "modern"] as readonly string[]).includes(policy.tls)) {
    problems.push(`TLS profile ${show(policy.tls)} must be intermediate or modern`);
  }
  if (policy.hstsPreload && !policy.hstsIncludeSubDomains) {
    problems.push("HSTS preload needs includeSubDomains");
  }
  if (policy.headers.length > MAX_RULES) problems.push(`at most ${MAX_RULES} header rules`);
  const seen = new Set<string>();
  for (const rule of policy.headers) {
    const nameProblems = headerNameProblems(rule.name);
    problems.push(...nameProblems);
    if (nameProblems.length > 0) continue;
    if (seen.has(rule.name.toLowerCase())) problems.push(`header ${rule.name} appears twice`);
    seen.add(rule.name.toLowerCase());
    if (rule.value !== null) problems.push(...headerValueProblems(rule.name, rule.value));
  }
  if (policy.rateLimit !== null) problems.push(...rateLimitProblems(policy.rateLimit));
  return problems;
}

function rateLimitProblems(limit: RateLimit): string[] {
  const ok =
    Number.isInteger(limit.requests) &&
    limit.requests >= 1 &&
    limit.requests <= 1_000_000 &&
    Number.isInteger(limit.periodSeconds) &&
    limit.periodSeconds >= 1 &&
    limit.periodSeconds <= 3600;
  return ok ? [] : ["rate limit must be 1 to 1000000 requests per 1 s to 1 h"];
}

/** Parses "100/10s", "5/s", "600/1m" into a RateLimit; throws ValidationError. */
export function parseRateLimit(text: string): RateLimit {
  const match = /^(\d{1,7})\/(\d{0,4})(s|m)$/.exec(text.trim());
  if (match === null) {
    throw new ValidationError(`rate limit ${show(text)} must look like 100/10s or 600/1m`);
  }
  const count = match[2] === "" ? 1 : Number(match[2]);
  const limit = {
    requests: Number(match[1]),
    periodSeconds: count * (match[3] === "m" ? 60 : 1),
  };
  const problems = rateLimitProblems(limit);
  if (problems.length > 0) throw new ValidationError("invalid rate limit", problems);
  return limit;
}

/** "100/10s" */
export function formatRateLimit(limit: RateLimit): string {
  return `${limit.requests}/${limit.periodSeconds}s`;
}

/** A stored policy (JSON) back to a RouterPolicy; unknown or missing fields take defaults. */
export function parseStoredPolicy(json: string): RouterPolicy {
  const raw = JSON.parse(json) as Partial<RouterPolicy>;
  return {
    preset: raw.preset ?? DEFAULT_POLICY.preset,
    headers: raw.headers ?? [],
    hstsIncludeSubDomains: raw.hstsIncludeSubDomains ?? false,
    hstsPreload: raw.hstsPreload ?? false,
    tls: raw.tls ?? DEFAULT_POLICY.tls,
    rateLimit: raw.rateLimit ?? null,
  };
}

/** The policy with one header rule replaced (or added). */
export function withHeaderRule(policy: RouterPolicy, rule: HeaderRule): RouterPolicy {
  const others = policy.headers.filter((r) => r.name.toLowerCase() !== rule.name.toLowerCase());
  return { ...policy, headers: [...others, rule] };
}

/** The policy without any rule for this header (back to the preset's behaviour). */
export function withoutHeaderRule(policy: RouterPolicy, name: string): RouterPolicy {
  return {
    ...policy,
    headers: policy.headers.filter((r) => r.name.toLowerCase() !== name.toLowerCase()),
  };
}

function show(value: unknown): string {
  return JSON.stringify(typeof value === "string" ? value : String(value));
}

/** The key of the router policy in the app's settings (Store.getAppSettings), as JSON. */
export const ROUTER_POLICY_SETTING = "router.policy";

/**
 * The policy in an app's settings map, or the defaults when it has none. A stored policy
 * that no longer validates (never written by this code) also falls back to the defaults,
 * so one bad row cannot take the whole router down.
 */
export function routerPolicyFromSettings(settings: Readonly<Record<string, string>>): RouterPolicy {
  const json = settings[ROUTER_POLICY_SETTING];
  if (json === undefined) return DEFAULT_POLICY;
  try {
    const policy = parseStoredPolicy(json);
    return policyProblems(policy).length === 0 ? policy : DEFAULT_POLICY;
  } catch {
    return DEFAULT_POLICY;
  }
}
