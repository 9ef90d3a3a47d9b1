import { createConnection } from "node:net";
import { DriverError } from "../../domain/errors.ts";

/** One line of `show stat`, by column name (all values are strings as HAProxy sends them). */
export type StatRow = Readonly<Record<string, string>>;

/** Sends one command to HAProxy's runtime API (stats socket) and returns the whole answer. */
export function runtimeCommand(
  socketPath: string,
  command: string,
  timeoutMs = 5000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    const chunks: Buffer[] = [];
    socket.setTimeout(timeoutMs, () => {
      socket.destroy(new DriverError("haproxy", `runtime API did not answer "${command}" in time`));
    });
    socket.on("connect", () => socket.end(`${command}\n`));
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", (error) => {
      reject(
        error instanceof DriverError
          ? error
          : new DriverError("haproxy", error.message, { cause: error }),
      );
    });
    socket.on("close", () => {
      resolve(Buffer.concat(chunks).toString("utf8"));
    });
  });
}

/** Parses the CSV of `show stat` (header line starts with "# "). */
export function parseShowStat(csv: string): StatRow[] {
  const lines = csv.split("\n").filter((line) => line.trim() !== "");
  const head = lines[0];
  if (head?.startsWith("# ") !== true) throw new DriverError("haproxy", "show stat: no header");
  const columns = head.slice(2).split(",");
  return lines.slice(1).map((line) => {
    const values = line.split(",");
    return Object.fromEntries(columns.map((name, i) => [name, values[i] ?? ""]));
  });
}

/** Traffic numbers of one app's process type, from HAProxy's counters. */
export interface BackendStats {
  readonly app: string;
  readonly processType: string;
  /** HTTP requests per second over the last second. */
  readonly requestRate: number;
  readonly requestsTotal: number;
  /** Average response time (ms) over the last 1024 requests, HAProxy's rtime. */
  readonly responseTimeMeanMs: number;
  /** Average total time (ms) over the last 1024 requests, HAProxy's ttime. */
  readonly totalTimeMeanMs: number;
  /** Responses by status class: 1xx..5xx and other. */
  readonly statusCounts: Readonly<Record<"1xx" | "2xx" | "3xx" | "4xx" | "5xx" | "other", number>>;
  /** Connections open now. */
  readonly activeConnections: number;
  /** Servers (containers) up / configured. */
  readonly serversUp: number;
  readonly servers: number;
}

const APP_BACKEND = /^app_([a-z0-9-]+)$/;

/**
 * The per-app rows of `show stat`: one BACKEND row per app (app_NAME). Only web processes
 * are routed, so their process type is "web".
 */
export function backendStats(rows: readonly StatRow[]): BackendStats[] {
  const out: BackendStats[] = [];
  for (const row of rows) {
    const match = APP_BACKEND.exec(row.pxname ?? "");
    const app = match?.[1];
    if (app === undefined || row.svname !== "BACKEND") continue;
    const servers = rows.filter((r) => r.pxname === row.pxname && r.svname !== "BACKEND");
    out.push({
      app,
      processType: "web",
      // req_rate exists on frontends only; a backend counts one session per request.
      requestRate: num(row.req_rate === "" ? row.rate : row.req_rate),
      requestsTotal: num(row.req_tot),
      responseTimeMeanMs: num(row.rtime),
      totalTimeMeanMs: num(row.ttime),
      statusCounts: {
        "1xx": num(row.hrsp_1xx),
        "2xx": num(row.hrsp_2xx),
        "3xx": num(row.hrsp_3xx),
        "4xx": num(row.hrsp_4xx),
        "5xx": num(row.hrsp_5xx),
        other: num(row.hrsp_other),
      },
      activeConnections: num(row.scur),
      serversUp: servers.filter((r) => (r.status ?? "").startsWith("UP")).length,
      servers: servers.length,
    });
  }
  return out;
}

function num(value: string | undefined): number {
  const n = Number(value);
  return Number.isFinite(n) ? n : 0;
}
