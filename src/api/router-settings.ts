import { Hono } from "hono";
import type { App } from "../domain/app.ts";
import { DriverError, ValidationError } from "../domain/errors.ts";
import {
  DEFAULT_POLICY,
  formatRateLimit,
  headerNameProblems,
  headerValueProblems,
  parseRateLimit,
  policyProblems,
  ROUTER_POLICY_SETTING,
  routerPolicyFromSettings,
  withHeaderRule,
  withoutHeaderRule,
  type RouterPolicy,
} from "../domain/router-policy.ts";
import { scoreSite, type ObservedSite, type ScoreReport } from "../router/observatory-score.ts";
import {
  effectiveHeaders,
  hstsValue,
  PLATFORM_HEADERS,
  STRICT_HEADERS,
  type EffectiveHeader,
} from "../router/render-policy.ts";
import type { ApiEnv } from "./context.ts";
import type { ApiDeps } from "./deps.ts";
import { findApp } from "./lookup.ts";
import { boolean, optional, parseObject, parseQuery, readJsonBody, string } from "./validate.ts";

/** What `slipway headers`, `tls:set` and `ratelimit:set` show. */
export interface RouterPolicyView {
  readonly app: string;
  readonly policy: RouterPolicy;
  /** The headers the router adds (HSTS apart), as the policy resolves. */
  readonly headers: readonly EffectiveHeader[];
  readonly hsts: { readonly platform: string; readonly custom: string };
  readonly removed: readonly string[];
  /** "100/10s", or null. */
  readonly rateLimit: string | null;
}

/** The scored live app. */
export interface ScoreView extends ScoreReport {
  readonly app: string;
}

/** Fetches an app's `/` through the router (HTTPS, and plain HTTP for the redirect). */
export type RouterProbe = (app: App) => Promise<ObservedSite>;

const setHeaderBody = {
  name: string({ maxLength: 64 }),
  value: string({ maxLength: 4096 }),
  force: optional(boolean()),
  reportOnly: optional(boolean()),
};

/** /v1/apps/:name/router: per-app security headers, HSTS, TLS profile and rate limit. */
export function routerSettingsRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const routes = new Hono<ApiEnv>();
  const { store } = deps;

  const load = async (app: App) => routerPolicyFromSettings(await store.getAppSettings(app.id));
  const save = async (app: App, policy: RouterPolicy) => {
    const problems = policyProblems(policy);
    if (problems.length > 0) throw new ValidationError("invalid router policy", problems);
    const same = JSON.stringify(policy) === JSON.stringify(DEFAULT_POLICY);
    // A "settings" change: the app controller re-syncs the routes, which re-renders HAProxy.
    await store.setAppSetting(app.id, ROUTER_POLICY_SETTING, same ? null : JSON.stringify(policy));
    return view(app, policy);
  };
  const change =
    (fn: (policy: RouterPolicy, body: unknown) => RouterPolicy) =>
    async (c: { req: { param(name: "name"): string; raw: Request } }) => {
      const app = await findApp(store, c.req.param("name"));
      const body = await readJsonBody(c.req.raw);
      return save(app, fn(await load(app), body));
    };

  routes.get("/apps/:name/router", async (c) => {
    parseQuery({}, c.req.url);
    const app = await findApp(store, c.req.param("name"));
    return c.json(view(app, await load(app)));
  });

  routes.post("/apps/:name/router/headers", async (c) =>
    c.json(
      await change((policy, raw) => {
        const body = parseObject(setHeaderBody, raw);
        let name = body.name;
        if (body.reportOnly === true) {
          if (name.toLowerCase() !== "content-security-policy") {
            throw new ValidationError("--report-only applies to Content-Security-Policy only");
          }
          name = "Content-Security-Policy-Report-Only";
        }
        throwIf([...headerNameProblems(name), ...headerValueProblems(name, body.value)]);
        return withHeaderRule(policy, { name, value: body.value, force: body.force === true });
      })(c),
    ),
  );

  routes.post("/apps/:name/router/headers/unset", async (c) =>
    c.json(
      await change((policy, raw) => {
        const { name } = parseObject({ name: string({ maxLength: 64 }) }, raw);
        throwIf(headerNameProblems(name));
        const inPreset = (policy.preset === "strict" ? STRICT_HEADERS : PLATFORM_HEADERS).some(
          ([n]) => n.toLowerCase() === name.toLowerCase(),
        );
        // A preset header needs a rule to stop it; any other just loses its rule.
        return inPreset
          ? withHeaderRule(policy, { name, value: null, force: false })
          : withoutHeaderRule(policy, name);
      })(c),
    ),
  );

  routes.post("/apps/:name/router/preset", async (c) =>
    c.json(
      await change((policy, raw) => {
        const { preset } = parseObject({ preset: string({ maxLength: 16 }) }, raw);
        if (preset !== "default" && preset !== "strict") {
          throw new ValidationError(`preset ${JSON.stringify(preset)} must be default or strict`);
        }
        return { ...policy, preset };
      })(c),
    ),
  );

  routes.post("/apps/:name/router/hsts", async (c) =>
    c.json(
      await change((policy, raw) => {
        const body = parseObject({ includeSubDomains: boolean(), preload: boolean() }, raw);
        return {
          ...policy,
          hstsIncludeSubDomains: body.includeSubDomains,
          hstsPreload: body.preload,
        };
      })(c),
    ),
  );

  routes.post("/apps/:name/router/tls", async (c) =>
    c.json(
      await change((policy, raw) => {
        const { profile } = parseObject({ profile: string({ maxLength: 16 }) }, raw);
        if (profile !== "modern" && profile !== "intermediate") {
          throw new ValidationError(
            `TLS profile ${JSON.stringify(profile)} must be modern or intermediate`,
          );
        }
        return { ...policy, tls: profile };
      })(c),
    ),
  );

  routes.post("/apps/:name/router/ratelimit", async (c) =>
    c.json(
      await change((policy, raw) => {
        const { limit } = parseObject({ limit: optional(string({ maxLength: 32 })) }, raw);
        return { ...policy, rateLimit: limit === undefined ? null : parseRateLimit(limit) };
      })(c),
    ),
  );

  routes.get("/apps/:name/router/score", async (c) => {
    parseQuery({}, c.req.url);
    const app = await findApp(store, c.req.param("name"));
    if (deps.routerProbe === undefined) {
      throw new DriverError("router", "this installation cannot probe its apps");
    }
    const site = await deps.routerProbe(app);
    const report: ScoreView = { app: app.name, ...scoreSite(site) };
    return c.json(report);
  });

  return routes;
}

function view(app: App, policy: RouterPolicy): RouterPolicyView {
  return {
    app: app.name,
    policy,
    headers: effectiveHeaders(policy),
    hsts: { platform: hstsValue(policy, true), custom: hstsValue(policy, false) },
    removed: ["Server", "X-Powered-By"],
    rateLimit: policy.rateLimit === null ? null : formatRateLimit(policy.rateLimit),
  };
}

function throwIf(problems: readonly string[]): void {
  if (problems.length > 0) throw new ValidationError("invalid header", problems);
}
