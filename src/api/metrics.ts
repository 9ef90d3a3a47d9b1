import { Hono } from "hono";
import type { AccessLogEntry } from "../router/metrics/access-log.ts";
import { prometheusText, type AppMetrics } from "../router/metrics/app-metrics.ts";
import type { ApiEnv } from "./context.ts";
import type { ApiDeps } from "./deps.ts";
import { findApp } from "./lookup.ts";
import { integer, optional, parseQuery } from "./validate.ts";

/** What the metrics endpoints read: the router's counters and the access log. */
export interface MetricsDeps {
  /** Per app and process type, from HAProxy's `show stat` and the access log. */
  collect(): Promise<AppMetrics[]>;
  /** An app's most recent requests, oldest first. */
  accessLog(app: string, limit: number): AccessLogEntry[];
}

/**
 * /v1/apps/:name/metrics and /v1/apps/:name/access-log. An app without traffic (or
 * without a backend yet) reports zeros.
 */
export function metricsRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const routes = new Hono<ApiEnv>();
  const metrics = deps.metrics;
  if (metrics === undefined) return routes;

  routes.get("/apps/:name/metrics", async (c) => {
    const app = await findApp(deps.store, c.req.param("name"));
    parseQuery({}, c.req.url);
    const items = (await metrics.collect()).filter((m) => m.app === app.name);
    return c.json({ items: items.length > 0 ? items : [emptyMetrics(app.name)] });
  });

  routes.get("/apps/:name/access-log", async (c) => {
    const app = await findApp(deps.store, c.req.param("name"));
    const query = parseQuery({ limit: optional(integer({ min: 1, max: 2048 })) }, c.req.url);
    return c.json({ items: metrics.accessLog(app.name, query.limit ?? 100) });
  });

  return routes;
}

/** GET /metrics in the Prometheus text format (the caller puts auth in front). */
export function prometheusRoute(metrics: MetricsDeps): Hono<ApiEnv> {
  const routes = new Hono<ApiEnv>();
  routes.get("/metrics", async (c) =>
    c.text(prometheusText(await metrics.collect()), 200, {
      "Content-Type": "text/plain; version=0.0.4; charset=utf-8",
    }),
  );
  return routes;
}

function emptyMetrics(app: string): AppMetrics {
  return {
    app,
    processType: "web",
    requestRate: 0,
    requestsTotal: 0,
    responseTimeMeanMs: 0,
    totalTimeMeanMs: 0,
    statusCounts: { "1xx": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0, other: 0 },
    activeConnections: 0,
    serversUp: 0,
    servers: 0,
    responseTimePercentilesMs: { p50: 0, p90: 0, p99: 0, samples: 0 },
  };
}
