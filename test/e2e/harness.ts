/**
 * Runs a whole Slipway installation for an end-to-end test: its own SLIPWAY_HOME, ports,
 * Podman service, storage, networks and HAProxy, driven through the real `slipway` CLI.
 * Everything it made is removed in stop(), even when the test failed.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { TEST_STACK_CACHE } from "../../src/build/testing/stack-cache.ts";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../src/testing/free-port.ts";

const root = join(import.meta.dirname, "..", "..");
const cliPath = join(root, "bin", "slipway.js");

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface HttpsResult {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

export interface TestPlatform {
  readonly home: string;
  readonly domain: string;
  readonly httpsPort: number;
  readonly httpPort: number;
  readonly env: Readonly<Record<string, string>>;
  cli(
    args: readonly string[],
    options?: { input?: string; timeoutMs?: number },
  ): Promise<CliResult>;
  /** GET https://HOST:httpsPort/PATH through the router, trusting only the Slipway CA. */
  get(host: string, path?: string, agentOptions?: { keepAlive?: boolean }): Promise<HttpsResult>;
  stop(): Promise<void>;
}

export { freePort };

/** Runs the CLI as a user would (bin/slipway.js on the project's Node 24). */
export function runCli(
  env: Readonly<Record<string, string>>,
  args: readonly string[],
  options: { input?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      env: { ...process.env, ...env },
      cwd: root,
      stdio: ["pipe", "pipe", "pipe"],
      timeout: options.timeoutMs ?? 600_000,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.once("error", reject);
    child.once("close", (code) => {
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(options.input ?? "");
  });
}

/** Starts a fresh installation and builds (or imports the cached) stack. */
export async function startPlatform(
  options: { readonly env?: Readonly<Record<string, string>>; readonly httpPort?: number } = {},
): Promise<TestPlatform> {
  const home = mkdtempSync(join(tmpdir(), "sw-"));
  const httpsPort = await freePort();
  const httpPort = options.httpPort ?? (await freePort());
  const domain = "slipway.localhost";
  const env: Record<string, string> = {
    SLIPWAY_HOME: home,
    SLIPWAY_DOMAIN: domain,
    SLIPWAY_HTTP_PORT: String(httpPort),
    SLIPWAY_HTTPS_PORT: String(httpsPort),
    // Each platform runs its own sshd (git over SSH); never the default 2222 in tests.
    SLIPWAY_SSH_PORT: String(await freePort()),
    SLIPWAY_BIND_ADDRESS: "127.0.0.1",
    // Stacks are cached by recipe digest outside the home, so each test imports in seconds.
    SLIPWAY_STACK_CACHE: TEST_STACK_CACHE,
    SLIPWAY_NETWORK_POOL: `10.${String(100 + Math.floor(Math.random() * 100))}.0.0/16`,
    // The CLI's compile cache (bin/slipway.js) goes with the test's home, not into ~/.cache.
    XDG_CACHE_HOME: join(home, "xdg-cache"),
    ...options.env,
  };
  const platform: TestPlatform = {
    home,
    domain,
    httpsPort,
    httpPort,
    env,
    cli: (args, options) => runCli(env, args, options),
    get: (host, path = "/", agentOptions = {}) =>
      httpsGet(home, httpsPort, host, path, agentOptions),
    stop: async () => {
      const down = await runCli(env, ["down", "--purge"], { timeoutMs: 180_000 });
      if (down.code !== 0)
        process.stderr.write(`slipway down --purge failed:\n${down.stdout}${down.stderr}`);
      rmSync(home, { recursive: true, force: true, maxRetries: 3 });
    },
  };
  try {
    await must(platform.cli(["up"]), "slipway up");
    await must(platform.cli(["stacks:build"], { timeoutMs: 900_000 }), "slipway stacks:build");
  } catch (error) {
    process.stderr.write(readLog(join(home, "logs", "daemon.log")));
    await platform.stop();
    throw error;
  }
  return platform;
}

/** Throws with the CLI's output when it failed. */
export async function must(result: Promise<CliResult>, what: string): Promise<CliResult> {
  const r = await result;
  if (r.code !== 0)
    throw new Error(`${what} exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  return r;
}

function readLog(path: string): string {
  try {
    return readFileSync(path, "utf8").split("\n").slice(-40).join("\n");
  } catch {
    return `(no ${path})`;
  }
}

function httpsGet(
  home: string,
  port: number,
  host: string,
  path: string,
  agentOptions: { keepAlive?: boolean },
): Promise<HttpsResult> {
  const ca = readFileSync(join(home, "ca", "ca.pem"));
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        servername: host,
        headers: { host },
        ca,
        timeout: 10_000,
        agent: agentOptions.keepAlive === true ? undefined : false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`GET https://${host}${path} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

/** GET on the installation's own engine socket (what `slipway doctor` reads), as JSON. */
export function engineGet(p: TestPlatform, path: string): Promise<unknown> {
  return engineRequest(p, "GET", path);
}

/** A request to the installation's own engine socket; its JSON answer (null when empty). */
export function engineRequest(p: TestPlatform, method: string, path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { socketPath: join(p.home, "run", "podman.sock"), method, path, headers: { host: "d" } },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => {
          if ((res.statusCode ?? 0) < 300 && body.trim() === "") {
            resolve(null);
            return;
          }
          try {
            resolve(JSON.parse(body));
          } catch (error) {
            reject(
              new Error(`engine ${path}: ${String(res.statusCode)} ${body}`, { cause: error }),
            );
          }
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}
