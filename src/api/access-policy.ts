import type { AppAction } from "../security/permissions.ts";

/**
 * What each /v1 request needs, decided from its method and path alone, before any handler
 * runs. Default deny: a route not listed here is for admins, so a new endpoint is never
 * opened to deploy tokens by accident. Pure.
 */
export type AccessRule =
  /** Admins only. */
  | { readonly kind: "admin" }
  /** Any valid token; the handler narrows what it sees (own keys, own apps). */
  | { readonly kind: "any" }
  /** The app named in the path, for this action. */
  | { readonly kind: "app"; readonly app: string; readonly action: AppAction };

/** App subresources deploy tokens may use, by method: the rest of /v1/apps/NAME/... is admin. */
const APP_RULES: readonly { method: string; path: RegExp; action: AppAction }[] = [
  { method: "GET", path: /^$/, action: "read" },
  { method: "GET", path: /^\/builds(\/[^/]+(\/log)?)?$/, action: "read" },
  { method: "GET", path: /^\/(releases|rollout|ps|events|logs|formation|git)$/, action: "read" },
  { method: "POST", path: /^\/builds$/, action: "deploy" },
  { method: "POST", path: /^\/(rollbacks|restart)$/, action: "deploy" },
  { method: "DELETE", path: /^\/build-cache$/, action: "deploy" },
];

/** Routes outside /v1/apps/NAME that every token may call. */
const ANY_RULES: readonly { method: string; path: RegExp }[] = [
  { method: "GET", path: /^\/apps$/ },
  { method: "GET", path: /^\/sizes$/ },
  { method: "GET", path: /^\/keys$/ },
  { method: "POST", path: /^\/keys$/ },
  { method: "DELETE", path: /^\/keys\/[^/]+$/ },
];

/** The rule for a request; path is relative to /v1 (e.g. "/apps/shop/builds"). */
export function accessRule(method: string, path: string): AccessRule {
  const verb = method === "HEAD" ? "GET" : method.toUpperCase();
  const clean = path.replace(/\/+$/, "");
  const app = /^\/apps\/([^/]+)(\/.*)?$/.exec(clean);
  if (app?.[1] !== undefined) {
    const rest = app[2] ?? "";
    const rule = APP_RULES.find((r) => r.method === verb && r.path.test(rest));
    return rule === undefined
      ? { kind: "admin" }
      : { kind: "app", app: decodeURIComponent(app[1]), action: rule.action };
  }
  if (ANY_RULES.some((r) => r.method === verb && r.path.test(clean))) return { kind: "any" };
  return { kind: "admin" };
}
