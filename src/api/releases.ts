import { Hono } from "hono";
import type { ApiEnv } from "./context.ts";
import type { ApiDeps } from "./deps.ts";
import { findApp } from "./lookup.ts";
import { parseQuery } from "./validate.ts";

/** /v1/apps/:name/releases: an app's releases, newest first. */
export function releaseRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const routes = new Hono<ApiEnv>();

  routes.get("/apps/:name/releases", async (c) => {
    const app = await findApp(deps.store, c.req.param("name"));
    parseQuery({}, c.req.url);
    return c.json({ items: await deps.store.listReleases(app.id) });
  });

  return routes;
}
