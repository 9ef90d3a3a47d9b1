import { Hono } from "hono";
import { NotFoundError } from "../domain/errors.ts";
import { gitHttpRoutes } from "../git/git-http.ts";
import { appRoutes } from "./apps.ts";
import { auditRoutes } from "./audit.ts";
import { domainRoutes } from "./domains.ts";
import { routerSettingsRoutes } from "./router-settings.ts";
import { metricsRoutes, prometheusRoute } from "./metrics.ts";
import { authorize, bearerAuth } from "./auth.ts";
import { gitSettingsRoutes } from "./git-settings.ts";
import { tokenRoutes } from "./tokens.ts";
import { buildRoutes } from "./builds.ts";
import { keyRoutes } from "./keys.ts";
import type { ApiEnv } from "./context.ts";
import type { ApiDeps } from "./deps.ts";
import { isInternal, problemResponse, toProblem } from "./problem.ts";
import { processRoutes } from "./processes.ts";
import { releaseRoutes } from "./releases.ts";
import { runtimeRoutes } from "./runtime.ts";
import { configRoutes } from "./config-vars.ts";
import { rollbackEventRoutes } from "./rollbacks-events.ts";

/** The scope /metrics requires (the /v1 routes are authorized per route: ./access-policy.ts). */
const ADMIN_SCOPE = "admin";

/**
 * The REST API as a Hono app: GET /healthz without auth, everything else under /v1 behind
 * a bearer token. Serve it with @hono/node-server, or call `app.request()` in tests.
 * Errors from any handler become problem+json in one place (src/api/problem.ts).
 */
export function createApi(deps: ApiDeps): Hono<ApiEnv> {
  const onInternalError = deps.onInternalError ?? logInternalError;
  const api = new Hono<ApiEnv>();

  api.use(async (c, next) => {
    await next();
    // Responses carry tenant data and are never meant to be cached or sniffed.
    c.header("Cache-Control", "no-store");
    c.header("X-Content-Type-Options", "nosniff");
  });

  api.get("/healthz", (c) => c.json({ status: "ok" }));

  // git cannot send bearer tokens: the remote takes the token as a Basic password instead.
  if (deps.git !== undefined) {
    api.route("/git", gitHttpRoutes({ store: deps.store, git: deps.git }));
  }

  // ACME http-01: the CA fetches this over plain HTTP, without credentials (RFC 8555 §8.3).
  api.get("/.well-known/acme-challenge/:token", (c) => {
    const answer = deps.domains?.challenge(c.req.param("token"));
    if (answer === undefined) return c.text("Not found.\n", 404);
    return c.text(answer, 200, { "Content-Type": "application/octet-stream" });
  });

  if (deps.metrics !== undefined) {
    api.use("/metrics", bearerAuth(deps.store, ADMIN_SCOPE));
    api.route("/", prometheusRoute(deps.metrics));
  }

  // Authentication, then authorization: deploy tokens reach only their own apps.
  api.use("/v1/*", bearerAuth(deps.store), authorize(deps.store));
  api.route("/v1", tokenRoutes(deps));
  api.route("/v1", gitSettingsRoutes(deps));
  api.route("/v1", domainRoutes(deps));
  api.route("/v1", metricsRoutes(deps));
  api.route("/v1", routerSettingsRoutes(deps));
  api.route("/v1", keyRoutes(deps));
  if (deps.runtime !== undefined) api.route("/v1", runtimeRoutes(deps, deps.runtime));
  if (deps.audit !== undefined) api.route("/v1", auditRoutes(deps, deps.audit));
  for (const routes of [
    appRoutes,
    buildRoutes,
    releaseRoutes,
    processRoutes,
    configRoutes,
    rollbackEventRoutes,
  ]) {
    api.route("/v1", routes(deps));
  }

  api.notFound((c) => {
    const path = new URL(c.req.url).pathname;
    return problemResponse(toProblem(new NotFoundError("route", `${c.req.method} ${path}`)));
  });

  api.onError((error, c) => {
    const problem = toProblem(error);
    if (isInternal(problem)) onInternalError(error, c.req.raw);
    return problemResponse(problem);
  });

  return api;
}

function logInternalError(error: unknown, request: Request): void {
  console.error(`slipway api: ${request.method} ${new URL(request.url).pathname} failed:`, error);
}
