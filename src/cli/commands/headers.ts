import type { RouterPolicyView, ScoreView } from "../../api/router-settings.ts";
import { keyValues, table, toJson } from "../format.ts";
import { defineCommand, type Command, type CommandContext } from "../registry.ts";
import { APP_FLAG, appPath } from "./common.ts";

const APPLIES = "The router applies it within seconds (no restart, no dropped request).\n";

/** Prints a policy view: the headers the app gets, HSTS, TLS and the rate limit. */
function printPolicy(ctx: CommandContext, view: RouterPolicyView, note = ""): void {
  if (ctx.json) {
    ctx.io.out(toJson(view));
    return;
  }
  ctx.io.out(
    table(view.headers, [
      { header: "header", value: (h) => h.name },
      { header: "value", value: (h) => h.value },
      { header: "app's own", value: (h) => (h.force ? "replaced" : "kept") },
    ]),
  );
  ctx.io.out(
    keyValues([
      ["HSTS, platform domain", view.hsts.platform],
      ["HSTS, custom domains", view.hsts.custom],
      ["removed", view.removed.join(", ")],
      ["preset", view.policy.preset],
      ["TLS profile", view.policy.tls],
      ["rate limit", view.rateLimit ?? "none"],
    ]),
  );
  if (note !== "") ctx.io.out(note);
}

async function post(ctx: CommandContext, app: string, path: string, body: unknown) {
  return (await ctx.client()).post<RouterPolicyView>(appPath(app, `/router${path}`), body);
}

const show = defineCommand({
  name: "headers",
  summary: "show the security headers, TLS profile and rate limit of an app",
  description:
    "Show the headers the router adds to every response of the app (unless the app sends its own, or the header is forced), HSTS, the TLS profile and the rate limit.",
  args: [],
  flags: { app: APP_FLAG },
  examples: ["slipway headers --app shop"],
  async run(ctx, { flags }) {
    const view = await (await ctx.client()).get<RouterPolicyView>(appPath(flags.app, "/router"));
    printPolicy(ctx, view);
    return 0;
  },
});

const set = defineCommand({
  name: "headers:set",
  summary: "set a response header for an app",
  description:
    "Add or change a header the router sends. The app's own header of that name is kept unless --force. With --report-only, a Content-Security-Policy is sent as Content-Security-Policy-Report-Only, to test it before enforcing it. Values are visible ASCII; HAProxy syntax in them is sent literally.",
  args: [
    { name: "NAME", description: "header name, e.g. Content-Security-Policy" },
    { name: "VALUE", description: "header value (quote it in the shell)" },
  ],
  flags: {
    app: APP_FLAG,
    force: { type: "boolean", description: "replace the header the app sends itself" },
    "report-only": {
      type: "boolean",
      description: "Content-Security-Policy only: report violations, do not block",
    },
  },
  examples: [
    `slipway headers:set Content-Security-Policy "default-src 'self'" --report-only --app shop`,
    "slipway headers:set X-Frame-Options DENY --force --app shop",
  ],
  async run(ctx, { args, flags }) {
    const view = await post(ctx, flags.app, "/headers", {
      name: args.NAME,
      value: args.VALUE,
      force: flags.force,
      reportOnly: flags["report-only"],
    });
    printPolicy(ctx, view, APPLIES);
    return 0;
  },
});

const unset = defineCommand({
  name: "headers:unset",
  summary: "stop sending a response header for an app",
  description:
    "The router no longer adds this header (the app may still send its own). Server and X-Powered-By are always removed; HSTS is set with headers:hsts.",
  args: [{ name: "NAME", description: "header name" }],
  flags: { app: APP_FLAG },
  examples: ["slipway headers:unset X-Frame-Options --app widget"],
  async run(ctx, { args, flags }) {
    printPolicy(ctx, await post(ctx, flags.app, "/headers/unset", { name: args.NAME }), APPLIES);
    return 0;
  },
});

const preset = defineCommand({
  name: "headers:preset",
  summary: "choose the header preset of an app: default or strict",
  description:
    "default: the platform's headers (SECURITY.md). strict: the OWASP Secure Headers Project values, with a Content-Security-Policy, Permissions-Policy and Cross-Origin-*-Policy; they may break apps that load resources from elsewhere. Header rules set with headers:set stay.",
  args: [{ name: "PRESET", description: "default or strict" }],
  flags: { app: APP_FLAG },
  examples: ["slipway headers:preset strict --app shop"],
  async run(ctx, { args, flags }) {
    printPolicy(ctx, await post(ctx, flags.app, "/preset", { preset: args.PRESET }), APPLIES);
    return 0;
  },
});

const hsts = defineCommand({
  name: "headers:hsts",
  summary: "opt an app's custom domains into HSTS includeSubDomains and preload",
  description:
    "Platform hosts always get includeSubDomains. For custom domains it is opt-in, as is preload (which needs includeSubDomains and a submission to hstspreload.org). Without flags, both are turned off.",
  args: [],
  flags: {
    app: APP_FLAG,
    "include-subdomains": { type: "boolean", description: "add includeSubDomains" },
    preload: { type: "boolean", description: "add preload (implies --include-subdomains)" },
  },
  examples: ["slipway headers:hsts --include-subdomains --preload --app shop"],
  async run(ctx, { flags }) {
    const body = {
      includeSubDomains: flags["include-subdomains"] || flags.preload,
      preload: flags.preload,
    };
    printPolicy(ctx, await post(ctx, flags.app, "/hsts", body), APPLIES);
    return 0;
  },
});

const score = defineCommand({
  name: "headers:score",
  summary: "score the live app by the MDN HTTP Observatory rules",
  description:
    "Fetch the app through the router (HTTPS, and plain HTTP for the redirect) and score its headers by the rules of the MDN HTTP Observatory 1.4.8: 100 to start, penalties, and bonuses only at 90 or more.",
  args: [],
  flags: { app: APP_FLAG },
  examples: ["slipway headers:score --app shop"],
  async run(ctx, { flags }) {
    const report = await (await ctx.client()).get<ScoreView>(appPath(flags.app, "/router/score"));
    if (ctx.json) {
      ctx.io.out(toJson(report));
      return 0;
    }
    ctx.io.out(`${report.app}: ${report.grade} (${report.score})\n`);
    ctx.io.out(
      table(report.tests, [
        { header: "test", value: (t) => t.test },
        { header: "", value: (t) => (t.pass ? "ok" : "FAIL") },
        { header: "score", value: (t) => (t.modifier > 0 ? `+${t.modifier}` : String(t.modifier)) },
        { header: "result", value: (t) => t.result },
      ]),
    );
    return 0;
  },
});

const tlsSet = defineCommand({
  name: "tls:set",
  summary: "choose an app's TLS profile: intermediate or modern",
  description:
    "intermediate (default): Mozilla's intermediate profile, TLS 1.2 and 1.3. modern: TLS 1.3 only, refused to TLS 1.2 clients (by SNI: clients that send no server name get the default).",
  args: [{ name: "PROFILE", description: "intermediate or modern" }],
  flags: { app: APP_FLAG },
  examples: ["slipway tls:set modern --app shop"],
  async run(ctx, { args, flags }) {
    printPolicy(ctx, await post(ctx, flags.app, "/tls", { profile: args.PROFILE }), APPLIES);
    return 0;
  },
});

const rateLimitSet = defineCommand({
  name: "ratelimit:set",
  summary: "limit requests per client IP for an app",
  description:
    "At most N requests per client IP in the period (s or m); more are answered 429 with Retry-After until the rate drops. Counted per app, so one app's flood never affects another's clients.",
  args: [{ name: "LIMIT", description: "N/PERIOD, e.g. 100/10s or 600/1m" }],
  flags: { app: APP_FLAG },
  examples: ["slipway ratelimit:set 100/10s --app shop"],
  async run(ctx, { args, flags }) {
    printPolicy(ctx, await post(ctx, flags.app, "/ratelimit", { limit: args.LIMIT }), APPLIES);
    return 0;
  },
});

const rateLimitUnset = defineCommand({
  name: "ratelimit:unset",
  summary: "remove an app's rate limit",
  args: [],
  flags: { app: APP_FLAG },
  examples: ["slipway ratelimit:unset --app shop"],
  async run(ctx, { flags }) {
    printPolicy(ctx, await post(ctx, flags.app, "/ratelimit", {}), APPLIES);
    return 0;
  },
});

/** Security headers, TLS profile and rate limit of an app. */
export const headerCommands: readonly Command[] = [
  show,
  set,
  unset,
  preset,
  hsts,
  score,
  tlsSet,
  rateLimitSet,
  rateLimitUnset,
];
