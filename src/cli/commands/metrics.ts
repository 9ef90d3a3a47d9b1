import type { AccessLogEntry } from "../../router/metrics/access-log.ts";
import type { AppMetrics } from "../../router/metrics/app-metrics.ts";
import { keyValues, table, toJson } from "../format.ts";
import { defineCommand, type Command } from "../registry.ts";
import { APP_FLAG, appPath, type Items } from "./common.ts";

const metrics = defineCommand({
  name: "metrics",
  summary: "show an app's traffic: request rate, response times, status codes, connections",
  args: [],
  flags: { app: APP_FLAG },
  examples: ["slipway metrics --app shop"],
  async run(ctx, { flags }) {
    const { items } = await (
      await ctx.client()
    ).get<Items<AppMetrics>>(appPath(flags.app, "/metrics"));
    if (ctx.json) {
      ctx.io.out(toJson(items));
      return 0;
    }
    ctx.io.out(
      items
        .map((m) =>
          keyValues([
            ["Process type", m.processType],
            ["Requests", `${String(m.requestsTotal)} total, ${String(m.requestRate)}/s now`],
            [
              "Response time",
              `mean ${String(m.responseTimeMeanMs)} ms; p50 ${String(m.responseTimePercentilesMs.p50)}, p90 ${String(m.responseTimePercentilesMs.p90)}, p99 ${String(m.responseTimePercentilesMs.p99)} ms (last ${String(m.responseTimePercentilesMs.samples)} requests)`,
            ],
            [
              "Status codes",
              Object.entries(m.statusCounts)
                .map(([code, n]) => `${code} ${String(n)}`)
                .join(", "),
            ],
            ["Connections", String(m.activeConnections)],
            ["Containers up", `${String(m.serversUp)} of ${String(m.servers)}`],
          ]),
        )
        .join("\n"),
    );
    return 0;
  },
});

const accessLog = defineCommand({
  name: "logs:access",
  summary: "show an app's recent requests from the router's access log",
  args: [],
  flags: {
    app: APP_FLAG,
    limit: { type: "string", placeholder: "N", description: "how many (default 100)" },
  },
  examples: ["slipway logs:access --app shop --limit 20"],
  async run(ctx, { flags }) {
    const query = flags.limit === undefined ? "" : `?limit=${encodeURIComponent(flags.limit)}`;
    const { items } = await (
      await ctx.client()
    ).get<Items<AccessLogEntry>>(appPath(flags.app, `/access-log${query}`));
    if (ctx.json) ctx.io.out(toJson(items));
    else
      ctx.io.out(
        table(items, [
          { header: "time", value: (e) => e.time },
          { header: "client", value: (e) => e.clientIp },
          { header: "method", value: (e) => e.method },
          { header: "path", value: (e) => e.path },
          { header: "status", value: (e) => String(e.status), align: "right" },
          { header: "ms", value: (e) => String(e.durationMs), align: "right" },
          { header: "bytes", value: (e) => String(e.bytes), align: "right" },
          { header: "request id", value: (e) => e.requestId },
        ]),
      );
    return 0;
  },
});

/** metrics, logs:access. */
export const metricsCommands: readonly Command[] = [metrics, accessLog];
