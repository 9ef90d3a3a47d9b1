import { Hono } from "hono";
import type { ApiEnv } from "./context.ts";
import type { ApiDeps } from "./deps.ts";
import { findApp } from "./lookup.ts";
import { parseQuery } from "./validate.ts";

/**
 * /v1/apps/:name/ps: the containers the engine reports for an app; /v1/apps/:name/rollout:
 * which release should run and which one the router serves.
 */
export function processRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const routes = new Hono<ApiEnv>();

  routes.get("/apps/:name/ps", async (c) => {
    const app = await findApp(deps.store, c.req.param("name"));
    parseQuery({}, c.req.url);
    return c.json({ items: await deps.processes(app) });
  });

  routes.get("/apps/:name/rollout", async (c) => {
    const app = await findApp(deps.store, c.req.param("name"));
    parseQuery({}, c.req.url);
    return c.json(await deps.rollout(app));
  });

  return routes;
}
