import { Hono } from "hono";
import type { App } from "../domain/app.ts";
import type { ContainerAudit } from "../security/audit/container-audit.ts";
import type { ApiEnv } from "./context.ts";
import type { ApiDeps } from "./deps.ts";
import { findApp } from "./lookup.ts";
import { parseQuery } from "./validate.ts";

/** Audits an app's running containers (`slipway doctor --app NAME`). */
export type AuditApp = (app: App) => Promise<ContainerAudit[]>;

/**
 * GET /v1/apps/:name/audit: every running container of the app judged against the CIS
 * Docker Benchmark 1.6 section 5, the Pod Security Standards "restricted" profile and
 * Slipway's baseline; `failed` totals the failed items.
 */
export function auditRoutes(deps: ApiDeps, audit: AuditApp): Hono<ApiEnv> {
  const routes = new Hono<ApiEnv>();
  routes.get("/apps/:name/audit", async (c) => {
    const app = await findApp(deps.store, c.req.param("name"));
    parseQuery({}, c.req.url);
    const items = await audit(app);
    return c.json({ items, failed: items.reduce((sum, a) => sum + a.failed, 0) });
  });
  return routes;
}
