import { Hono } from "hono";
import type { ApiEnv } from "./context.ts";
import type { ApiDeps } from "./deps.ts";
import { linesBody } from "./log-stream.ts";
import { findApp, findBuild } from "./lookup.ts";
import { withUpload } from "./upload.ts";
import { flag, optional, parseQuery, requireMediaType } from "./validate.ts";

const ARCHIVE_TYPES = ["application/gzip", "application/x-gzip"];
const logQuery = { follow: optional(flag()) };

/** /v1/apps/:name/builds: upload source to build, list and show builds, read build logs. */
export function buildRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const routes = new Hono<ApiEnv>();

  routes.post("/apps/:name/builds", async (c) => {
    const app = await findApp(deps.store, c.req.param("name"));
    parseQuery({}, c.req.url);
    requireMediaType(c.req.raw, ARCHIVE_TYPES);
    // submitBuild creates the build only once the archive passed validation, and the
    // upload is removed afterwards either way: a failed request leaves nothing behind.
    const build = await withUpload(c.req.raw, deps.uploadDir, deps.maxUploadBytes, (path) =>
      deps.submitBuild(app, path, { createdBy: c.get("token").name }),
    );
    c.header("Location", `/v1/apps/${app.name}/builds/${build.id}`);
    return c.json(build, 201);
  });

  routes.get("/apps/:name/builds", async (c) => {
    const app = await findApp(deps.store, c.req.param("name"));
    parseQuery({}, c.req.url);
    return c.json({ items: await deps.store.listBuilds(app.id) });
  });

  routes.get("/apps/:name/builds/:id", async (c) => {
    const app = await findApp(deps.store, c.req.param("name"));
    parseQuery({}, c.req.url);
    return c.json(await findBuild(deps.store, app, c.req.param("id")));
  });

  routes.delete("/apps/:name/build-cache", async (c) => {
    const app = await findApp(deps.store, c.req.param("name"));
    parseQuery({}, c.req.url);
    if (deps.clearBuildCache === undefined) return c.notFound();
    await deps.clearBuildCache(app);
    return c.body(null, 204);
  });

  routes.get("/apps/:name/builds/:id/log", async (c) => {
    const app = await findApp(deps.store, c.req.param("name"));
    const query = parseQuery(logQuery, c.req.url);
    const build = await findBuild(deps.store, app, c.req.param("id"));
    const stop = new AbortController();
    const signal = AbortSignal.any([stop.signal, c.req.raw.signal]);
    const lines = deps.buildLog(build, { follow: query.follow ?? false, signal });
    const body = await linesBody(lines, () => {
      stop.abort();
    });
    return c.body(body, 200, {
      "Content-Type": "text/plain; charset=utf-8",
      // Tell proxies not to buffer: the client wants each line as it is written.
      "X-Accel-Buffering": "no",
    });
  });

  return routes;
}
