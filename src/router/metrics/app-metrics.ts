import type { AccessLog } from "./access-log.ts";
import { backendStats, parseShowStat, runtimeCommand, type BackendStats } from "./show-stat.ts";

/** An app's traffic metrics as the API serves them (the autoscaler's inputs). */
export interface AppMetrics extends BackendStats {
  /** Response-time percentiles (ms) over the recent requests in the access log. */
  readonly responseTimePercentilesMs: {
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly samples: number;
  };
}

/** Reads HAProxy's counters over the stats socket and joins the access-log percentiles. */
export async function collectMetrics(statsSocket: string, log: AccessLog): Promise<AppMetrics[]> {
  const rows = parseShowStat(await runtimeCommand(statsSocket, "show stat"));
  return backendStats(rows).map((stats) => ({
    ...stats,
    responseTimePercentilesMs: log.percentiles(stats.app),
  }));
}

/** The Prometheus text exposition (version 0.0.4) of these metrics. */
export function prometheusText(metrics: readonly AppMetrics[]): string {
  const out: string[] = [];
  const family = (
    name: string,
    type: "gauge" | "counter",
    help: string,
    values: readonly [labels: string, value: number][],
  ): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of values) out.push(`${name}{${labels}} ${String(value)}`);
  };
  const base = (m: AppMetrics): string => `app="${m.app}",process_type="${m.processType}"`;
  family(
    "slipway_http_requests_total",
    "counter",
    "HTTP requests routed to the app.",
    metrics.map((m) => [base(m), m.requestsTotal]),
  );
  family(
    "slipway_http_request_rate",
    "gauge",
    "HTTP requests per second (last second).",
    metrics.map((m) => [base(m), m.requestRate]),
  );
  family(
    "slipway_http_responses_total",
    "counter",
    "HTTP responses by status class.",
    metrics.flatMap((m) =>
      Object.entries(m.statusCounts).map(([code, n]): [string, number] => [
        `${base(m)},code="${code}"`,
        n,
      ]),
    ),
  );
  family(
    "slipway_http_response_time_mean_ms",
    "gauge",
    "Mean response time over the last 1024 requests.",
    metrics.map((m) => [base(m), m.responseTimeMeanMs]),
  );
  family(
    "slipway_http_response_time_ms",
    "gauge",
    "Response-time percentiles over the recent requests.",
    metrics.flatMap((m) =>
      (
        [
          ["p50", "0.5"],
          ["p90", "0.9"],
          ["p99", "0.99"],
        ] as const
      ).map(([q, label]): [string, number] => [
        `${base(m)},quantile="${label}"`,
        m.responseTimePercentilesMs[q],
      ]),
    ),
  );
  family(
    "slipway_active_connections",
    "gauge",
    "Connections open to the app now.",
    metrics.map((m) => [base(m), m.activeConnections]),
  );
  family(
    "slipway_servers_up",
    "gauge",
    "Containers the router sees as up.",
    metrics.map((m) => [base(m), m.serversUp]),
  );
  return `${out.join("\n")}\n`;
}
