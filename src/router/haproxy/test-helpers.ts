import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer as createHttpServer, type Server } from "node:http";
import { Agent, request } from "node:https";
import type { AddressInfo } from "node:net";
import { freePort } from "../../testing/free-port.ts";

export { freePort };

/**
 * Helpers for the router's integration tests: tiny upstream servers, free ports, and the
 * real clients (curl, openssl s_client, a keep-alive load loop) that prove the behaviour.
 */

/**
 * An "app" or "API": answers every request with `body`, sending the given headers, among
 * them ones the router must strip (Server, X-Powered-By) or keep (X-Frame-Options).
 */
export async function startUpstream(
  listen: { port: 0; host: "127.0.0.1" } | { path: string },
  body: string,
  headers: Readonly<Record<string, string>> = {},
): Promise<Server> {
  const server = createHttpServer((req, res) => {
    res.writeHead(200, { "content-type": "text/plain", ...headers });
    res.end(body);
  });
  server.listen(listen);
  await once(server, "listening");
  return server;
}

/** Port of a TCP server. */
export function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}

/** Closes a server and its idle keep-alive connections. */
export async function closeServer(server: Server): Promise<void> {
  if (!server.listening) return;
  server.closeAllConnections();
  server.close();
  await once(server, "close");
}

/** Result of a child process run to completion. */
export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command with stdin closed (s_client then exits after the handshake). */
export async function run(command: string, args: readonly string[]): Promise<RunResult> {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], timeout: 15_000 });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, "close")) as [number | null];
  return { code, stdout, stderr };
}

/** An HTTP response as curl saw it. */
export interface CurlResponse {
  /** "2", "1.1" */
  readonly version: string;
  readonly status: number;
  /** Lower-cased names; repeated headers keep the last value. */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: string;
}

/** Fetches `url` with curl, resolving its host to 127.0.0.1 and trusting only `caFile`. */
export async function curl(
  url: string,
  options: {
    readonly caFile: string;
    readonly http2?: boolean;
    /** Request headers to send, as "Name: value". */
    readonly headers?: readonly string[];
  },
): Promise<CurlResponse> {
  const { hostname, port } = new URL(url);
  const args = ["-sS", "-i", "--max-time", "5", "--cacert", options.caFile];
  args.push("--resolve", `${hostname}:${port}:127.0.0.1`);
  if (options.http2 === true) args.push("--http2");
  for (const header of options.headers ?? []) args.push("-H", header);
  const result = await run("curl", [...args, url]);
  if (result.code !== 0) throw new Error(`curl ${url} failed: ${result.stderr}`);
  const split = result.stdout.indexOf("\r\n\r\n");
  const [statusLine = "", ...lines] = result.stdout.slice(0, split).split("\r\n");
  const status = /^HTTP\/([\d.]+) (\d{3})/.exec(statusLine);
  if (status === null) throw new Error(`curl ${url}: no status line in ${result.stdout}`);
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return {
    version: status[1] ?? "",
    status: Number(status[2]),
    headers,
    body: result.stdout.slice(split + 4),
  };
}

/** What a load loop saw. */
export interface LoadResult {
  readonly ok: number;
  readonly failures: readonly string[];
  /** Requests sent on a connection an earlier request used: keep-alive was in effect. */
  readonly reused: number;
  /** Count per response body. */
  readonly bodies: ReadonlyMap<string, number>;
}

/**
 * Sends requests over keep-alive HTTPS connections from `concurrency` loops until `signal`
 * aborts. Any error or non-200 answer counts as a failure.
 */
export async function keepAliveLoad(options: {
  readonly port: number;
  readonly host: string;
  readonly ca: string;
  readonly concurrency: number;
  readonly signal: AbortSignal;
}): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency, ca: options.ca });
  const failures: string[] = [];
  const bodies = new Map<string, number>();
  let ok = 0;
  let reused = 0;
  const once = () =>
    new Promise<void>((resolve) => {
      const req = request(
        {
          host: "127.0.0.1",
          port: options.port,
          servername: options.host,
          headers: { host: options.host },
          agent,
        },
        (res) => {
          if (req.reusedSocket) reused += 1;
          let body = "";
          res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
          res.on("end", () => {
            if (res.statusCode === 200) ok += 1;
            else failures.push(`status ${String(res.statusCode)}: ${body}`);
            bodies.set(body, (bodies.get(body) ?? 0) + 1);
            resolve();
          });
        },
      );
      req.on("error", (error) => {
        failures.push(`${error.message} (reused socket: ${String(req.reusedSocket)})`);
        resolve();
      });
      req.end();
    });
  const loop = async () => {
    while (!options.signal.aborted) await once();
  };
  await Promise.all(Array.from({ length: options.concurrency }, loop));
  agent.destroy();
  return { ok, failures, reused, bodies };
}
