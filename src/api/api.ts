import { Hono } from "hono";
import { NotFoundError } from "../domain/errors.ts";
import { appRoutes } from "./apps.ts";
import { bearerAuth } from "./auth.ts";
import { buildRoutes } from "./builds.ts";
import type { ApiEnv } from "./context.ts";
import type { ApiDeps } from "./deps.ts";
import { isInternal, problemResponse, toProblem } from "./problem.ts";
import { processRoutes } from "./processes.ts";
import { releaseRoutes } from "./releases.ts";

/** The scope every /v1 endpoint requires today; finer scopes come with more token kinds. */
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

  api.use("/v1/*", bearerAuth(deps.store, ADMIN_SCOPE));
  for (const routes of [appRoutes, buildRoutes, releaseRoutes, processRoutes]) {
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
