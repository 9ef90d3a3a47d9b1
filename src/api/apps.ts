import { Hono } from "hono";
import { validateAppName } from "../domain/app.ts";
import type { ApiEnv } from "./context.ts";
import type { ApiDeps } from "./deps.ts";
import { findApp } from "./lookup.ts";
import { parseObject, parseQuery, readJsonBody, string } from "./validate.ts";
import { mayOnApp } from "../security/permissions.ts";

const createAppBody = { name: string({ maxLength: 64 }) };

/** /v1/apps: list, create, show and destroy apps. */
export function appRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const routes = new Hono<ApiEnv>();

  routes.get("/apps", async (c) => {
    parseQuery({}, c.req.url);
    // A deploy token sees its own apps only (src/security/permissions.ts).
    const principal = c.get("principal");
    const apps = await deps.store.listApps();
    return c.json({ items: apps.filter((app) => mayOnApp(principal, app.id, "read")) });
  });

  routes.post("/apps", async (c) => {
    const body = parseObject(createAppBody, await readJsonBody(c.req.raw));
    const app = await deps.store.createApp(validateAppName(body.name));
    c.header("Location", `/v1/apps/${app.name}`);
    return c.json(app, 201);
  });

  routes.get("/apps/:name", async (c) => {
    parseQuery({}, c.req.url);
    return c.json(await findApp(deps.store, c.req.param("name")));
  });

  routes.delete("/apps/:name", async (c) => {
    const app = await findApp(deps.store, c.req.param("name"));
    await deps.destroyApp(app);
    return c.body(null, 204);
  });

  return routes;
}
