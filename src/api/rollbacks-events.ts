import { Hono } from "hono";
import type { ApiEnv } from "./context.ts";
import type { ApiDeps } from "./deps.ts";
import { findApp } from "./lookup.ts";
import { integer, optional, parseObject, parseQuery, readJsonBody } from "./validate.ts";

const rollbackBody = { version: integer({ min: 1 }) };

/**
 * POST /v1/apps/:name/rollbacks {"version": N}: a new release from vN's image and config,
 * without a build. GET /v1/apps/:name/events: what happened to the app, newest first.
 */
export function rollbackEventRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const routes = new Hono<ApiEnv>();

  routes.post("/apps/:name/rollbacks", async (c) => {
    const app = await findApp(deps.store, c.req.param("name"));
    parseQuery({}, c.req.url);
    const { version } = parseObject(rollbackBody, await readJsonBody(c.req.raw));
    const release = await deps.rollback(app, version, c.get("token").name);
    return c.json(release, 201);
  });

  routes.get("/apps/:name/events", async (c) => {
    const app = await findApp(deps.store, c.req.param("name"));
    const query = parseQuery({ limit: optional(digits()) }, c.req.url);
    return c.json({ items: await deps.store.listEvents(app.id, query.limit ?? 100) });
  });

  return routes;
}

/** A query number from 1 to 1000. */
function digits(): ReturnType<typeof integer> {
  const inner = integer({ min: 1, max: 1000 });
  return {
    optional: false,
    check: (value) =>
      typeof value === "string" && /^\d{1,4}$/.test(value)
        ? inner.check(Number(value))
        : { ok: false, message: "expected a number from 1 to 1000" },
  };
}
