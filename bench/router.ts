/**
 * bench/router: HTTPS keep-alive throughput and latency (wrk) in front of a real app
 * container: the example app deployed on a throwaway Slipway installation (its own Podman
 * service, network and router, as the e2e harness runs it). Side by side, alternating
 * round by round on the same container:
 *
 * - the container directly (plain HTTP to its address on Slipway's app network);
 * - Slipway's router (the installation's own HAProxy, its rendered configuration);
 * - nginx and Caddy (Debian) with the same TLS (Mozilla intermediate, no tickets,
 *   X25519/P-256/P-384) and the same response headers;
 * - with --variants, stand-alone HAProxy processes on edits of the rendered configuration
 *   (bench/router-proxies.ts VARIANTS), to A/B tunings on a loaded machine.
 *
 * Then route update latency with 1,000 apps configured (runtime API, hitless reload).
 *
 * Run: npm run bench:router -- [--rounds 5] [--duration 10s] [--variants] [--write FILE]
 * (needs haproxy, nginx, caddy, wrk, podman; a few minutes). Prints the tables; --write
 * replaces the router section of FILE (docs/benchmarks.md).
 */
import type { ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config/config.ts";
import { HaproxyRouter } from "../src/router/haproxy/haproxy-router.ts";
import type { RouterSettings } from "../src/router/render.ts";
import type { AppRoute, RouteTable } from "../src/router/router.ts";
import { freePort, must, startPlatform, type TestPlatform } from "../test/e2e/harness.ts";
import {
  checkTarget,
  cpuTicks,
  ownCpuTicks,
  pidsWithCommandLine,
  startCaddy,
  startHaproxy,
  startNginx,
  VARIANTS,
  wrk,
  type WrkResult,
} from "./router-proxies.ts";

const root = join(import.meta.dirname, "..");
const APP = "bench";
const PATH = "/health";

const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    duration: { type: "string", default: "10s" },
    connections: { type: "string", default: "64" },
    variants: { type: "boolean", default: false },
    "skip-updates": { type: "boolean", default: false },
    write: { type: "string" },
  },
});
const ROUNDS = Number(args.rounds);
const WRK = { threads: 2, connections: Number(args.connections), duration: args.duration };

interface Target {
  readonly name: string;
  readonly url: string;
  readonly host: string;
  /** The proxy's processes (with their workers) whose CPU time is measured; none for direct. */
  readonly pids: readonly number[];
  /** Whether its responses must carry the security headers. */
  readonly headers: boolean;
  /** Other processes that work for this target (Slipway's daemon takes the access log). */
  readonly helperPids?: readonly number[];
}

/** One measured round of one target. */
interface Sample extends WrkResult {
  /** CPU time of the target's processes per request, in microseconds (NaN for direct). */
  readonly cpuUsPerRequest: number;
  /** The same for the target's helper processes (NaN without any). */
  readonly helperCpuUsPerRequest: number;
}

const TICK_US = 1_000_000 / 100; // USER_HZ, 100 on Linux

async function main(): Promise<void> {
  const dir = mkdtempSync("/tmp/slipway-bench-router-");
  const children: ChildProcess[] = [];
  let platform: TestPlatform | undefined;
  let router: HaproxyRouter | undefined;
  try {
    progress("starting a Slipway installation and deploying examples/hello-node");
    platform = await startPlatform();
    const p = platform;
    const host = `${APP}.${p.domain}`;
    const app = join(dir, "hello");
    cpSync(join(root, "examples", "hello-node"), app, {
      recursive: true,
      filter: (path) => !path.includes("node_modules"),
    });
    await must(p.cli(["apps:create", APP]), "apps:create");
    await must(p.cli(["deploy", app, "--app", APP], { timeoutMs: 900_000 }), "deploy");
    const platformConfig = readFileSync(join(p.home, "router", "haproxy.cfg"), "utf8");
    const upstream = containerAddress(platformConfig);
    progress(`app container at ${upstream}`);
    const { cert, key, pem } = splitDefaultPem(p.home, dir);

    const nginxPort = await freePort();
    const caddyPorts = { https: await freePort(), http: await freePort(), admin: await freePort() };
    const nginx = startNginx(dir, nginxPort, upstream, cert, key);
    const caddy = startCaddy(dir, caddyPorts, upstream, cert, key);
    children.push(nginx, caddy);
    const routerConfig = join(p.home, "router", "haproxy.cfg");
    const targets: Target[] = [
      {
        name: "app container directly (plain HTTP)",
        url: `http://${upstream}${PATH}`,
        host,
        pids: [],
        headers: false,
      },
      {
        name: "Slipway router (HAProxy 2.6)",
        url: `https://127.0.0.1:${String(p.httpsPort)}${PATH}`,
        host,
        pids: pidsWithCommandLine(routerConfig),
        headers: true,
        helperPids: [Number(readFileSync(join(p.home, "run", "daemon.pid"), "utf8").trim())],
      },
      {
        name: "nginx (Debian)",
        url: `https://127.0.0.1:${String(nginxPort)}${PATH}`,
        host,
        pids: [nginx.pid ?? -1],
        headers: true,
      },
      {
        name: "Caddy (Debian)",
        url: `https://127.0.0.1:${String(caddyPorts.https)}${PATH}`,
        host,
        pids: [caddy.pid ?? -1],
        headers: true,
      },
    ];
    if (args.variants) {
      for (const [i, variant] of VARIANTS.entries()) {
        const port = await freePort();
        const ports = { https: port, http: await freePort() };
        const config = variantConfig(
          platformConfig,
          p,
          ports,
          join(dir, `stats-${String(i)}.sock`),
        );
        const child = startHaproxy(dir, `variant-${String(i)}`, variant.edit(config));
        children.push(child);
        targets.push({
          name: `variant: ${variant.name}`,
          url: `https://127.0.0.1:${String(port)}${PATH}`,
          host,
          pids: [child.pid ?? -1],
          headers: variant.headers ?? true,
        });
      }
    }
    await sleep(1500);
    for (const target of targets) {
      const problem = await checkTarget(dir, target.url, target.host, target.headers);
      if (problem !== null)
        throw new Error(`${target.name} does not answer like the app: ${problem}`);
    }
    const samples = await alternate(targets);

    let updates: Updates | null = null;
    if (!args["skip-updates"]) {
      progress("route updates with 1,000 apps");
      ({ router, updates } = await routeUpdates(dir, pem, upstream));
    }
    const text = report(targets, samples, updates);
    process.stdout.write(`${text}\n`);
    if (args.write !== undefined) writeSection(args.write, text);
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
    await router?.stop();
    await platform?.stop();
    await sleep(300);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * wrk against every target, round by round, in an order that rotates each round, with the
 * CPU time the target's processes used per request (robust to the machine's other load,
 * unlike requests/s, though contention inflates it too).
 */
async function alternate(targets: readonly Target[]): Promise<Map<string, Sample[]>> {
  const samples = new Map(targets.map((t) => [t.name, [] as Sample[]]));
  progress("warming up");
  for (const target of targets) await wrk(target.url, target.host, { ...WRK, duration: "2s" });
  for (let round = 0; round < ROUNDS; round++) {
    const order = targets.map((_, i) => targets[(i + round) % targets.length] as Target);
    for (const target of order) {
      const helpers = target.helperPids ?? [];
      const before = cpuTicks(target.pids);
      const helpersBefore = ownCpuTicks(helpers); // the daemon's children include HAProxy
      const result = await wrk(target.url, target.host, WRK);
      const perRequest = (pids: readonly number[], ticks: number): number =>
        pids.length === 0 || result.requests === 0
          ? Number.NaN
          : (ticks * TICK_US) / result.requests;
      const cpuUsPerRequest = perRequest(target.pids, cpuTicks(target.pids) - before);
      const helperCpuUsPerRequest = perRequest(helpers, ownCpuTicks(helpers) - helpersBefore);
      samples.get(target.name)?.push({ ...result, cpuUsPerRequest, helperCpuUsPerRequest });
      progress(
        `round ${String(round + 1)}/${String(ROUNDS)} ${target.name}: ${result.rps.toFixed(0)} req/s, ${cpuUsPerRequest.toFixed(1)} CPU µs/req${helpers.length > 0 ? ` (+ ${helperCpuUsPerRequest.toFixed(1)} daemon)` : ""}, p99 ${result.p99Ms.toFixed(2)} ms, load ${loadavg()[0]?.toFixed(1) ?? "?"}`,
      );
    }
  }
  return samples;
}

/** The address of the app's (only) container, from the router's own configuration. */
function containerAddress(config: string): string {
  const backend = config.split(`backend app_${APP}\n`)[1] ?? "";
  const server = /^ {4}server \S+ (\S+)$/m.exec(backend.split("\n\n")[0] ?? "")?.[1];
  if (server === undefined) throw new Error("the app's backend has no server");
  return server;
}

/** The installation's default certificate, split into certificate chain and key files. */
function splitDefaultPem(home: string, dir: string): { cert: string; key: string; pem: string } {
  const crtList = readFileSync(join(home, "router", "crt-list.txt"), "utf8");
  const pem = crtList.split("\n")[0]?.split(" ")[0] ?? "";
  const text = readFileSync(pem, "utf8");
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g);
  writeFileSync(cert, (blocks ?? []).join(""));
  const keyBlock = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----\n?/;
  writeFileSync(key, keyBlock.exec(text)?.[0] ?? "", { mode: 0o600 });
  return { cert, key, pem };
}

/** The installation's configuration on another port and stats socket, without the master. */
function variantConfig(
  config: string,
  p: TestPlatform,
  ports: { https: number; http: number },
  stats: string,
): string {
  return config
    .replace(`:${String(p.httpsPort)} ssl`, `:${String(ports.https)} ssl`)
    .replace(`:${String(p.httpPort)}\n`, `:${String(ports.http)}\n`)
    .replace(/stats socket \S+/, `stats socket ${stats}`);
}

interface Updates {
  readonly initial: number;
  readonly endpointTimes: number[];
  readonly hostTimes: number[];
  readonly reloadTimes: number[];
  /** wrk through the 1,000-app router to the app whose host sorts last. */
  readonly lastApp: Sample;
}

/** Time until router.apply() returns, on a separate router with 1,000 apps. */
async function routeUpdates(
  dir: string,
  pem: string,
  upstream: string,
): Promise<{ router: HaproxyRouter; updates: Updates }> {
  const [address = "", portText = ""] = upstream.split(":");
  const port = Number(portText);
  const domain = "bench.localhost";
  const crtList = join(dir, "crt-list");
  writeFileSync(crtList, `${pem}\n`);
  const settings: RouterSettings = {
    bindAddress: "127.0.0.1",
    httpPort: await freePort(),
    httpsPort: await freePort(),
    domain,
    platformHost: `slipway.${domain}`,
    apiSocket: join(dir, "api.sock"),
    crtList,
    statsSocket: join(dir, "stats.sock"),
    mapDir: join(dir, "state"),
    // As an installation on this host would run it (SLIPWAY_ROUTER_THREADS or its default).
    threads: loadConfig(process.env).routerThreads,
  };
  const router = new HaproxyRouter({
    stateDir: join(dir, "state"),
    runDir: join(dir, "run"),
    settings,
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
  });
  await router.start();
  const route = (name: string, server = `${name}-web-1`): AppRoute => ({
    app: name,
    hosts: [`${name}.${domain}`],
    endpoints: [{ name: server, address, port }],
  });
  let apps: AppRoute[] = [route("app")];
  for (let i = 0; i < 999; i++) apps.push(route(`a${String(i).padStart(4, "0")}`));
  const table = (list: AppRoute[]): RouteTable => ({ apps: list });
  const timed = async (list: AppRoute[]): Promise<number> => {
    const t = performance.now();
    await router.apply(table(list));
    apps = list;
    return performance.now() - t;
  };
  const initial = await timed(apps);
  const endpointTimes: number[] = [];
  for (let i = 0; i < 5; i++) {
    endpointTimes.push(
      await timed(
        apps.map((a, j) => (j === 500 ? route(a.app, `${a.app}-web-${String(i + 2)}`) : a)),
      ),
    );
  }
  const hostTimes: number[] = [];
  for (let i = 0; i < 5; i++) {
    hostTimes.push(
      await timed(
        apps.map((a, j) =>
          j === 700 ? { ...a, hosts: [...a.hosts.slice(0, 1), `extra${String(i)}.${domain}`] } : a,
        ),
      ),
    );
  }
  const reloadTimes: number[] = [];
  for (let i = 0; i < 3; i++) {
    // A new app is a new backend: the configuration changes.
    reloadTimes.push(await timed([...apps.slice(0, 1000), route(`new${String(i)}`)]));
  }
  await timed(apps.slice(0, 1000));
  // Throughput with 1,000 apps configured, to the host that sorts last (the one a linear
  // list of per-host rules would reach last).
  const lastHost = `a0998.${domain}`;
  const url = `https://127.0.0.1:${String(settings.httpsPort)}${PATH}`;
  const problem = await checkTarget(dir, url, lastHost, true);
  if (problem !== null) throw new Error(`the 1,000-app router does not answer: ${problem}`);
  const pids = pidsWithCommandLine(join(dir, "state", "haproxy.cfg"));
  const before = cpuTicks(pids);
  const result = await wrk(url, lastHost, WRK);
  const cpuUsPerRequest = ((cpuTicks(pids) - before) * TICK_US) / Math.max(1, result.requests);
  progress(
    `1,000 apps, last host: ${result.rps.toFixed(0)} req/s, ${cpuUsPerRequest.toFixed(1)} CPU µs/req`,
  );
  const lastApp = { ...result, cpuUsPerRequest, helperCpuUsPerRequest: Number.NaN };
  return { router, updates: { initial, endpointTimes, hostTimes, reloadTimes, lastApp } };
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? 0)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

function report(
  targets: readonly Target[],
  samples: ReadonlyMap<string, Sample[]>,
  updates: Updates | null,
): string {
  const results = targets.map((t) => [t.name, samples.get(t.name) ?? []] as const);
  const direct = median(results[0]?.[1].map((r) => r.rps) ?? [1]);
  const load = loadavg()
    .map((n) => n.toFixed(1))
    .join(", ");
  const lines = [
    "<!-- router:start (written by bench/router.ts) -->",
    "",
    "## Router throughput and route updates",
    "",
    `Command: \`npm run bench:router -- --rounds ${String(ROUNDS)} --duration ${WRK.duration}${args.variants ? " --variants" : ""}\`. Machine: ${String(cpus().length)} × ${cpus()[0]?.model ?? "?"}, ${new Date().toISOString().slice(0, 16)} UTC, load average at the end ${load}.`,
    `wrk -t${String(WRK.threads)} -c${String(WRK.connections)} -d${WRK.duration} --latency, HTTP/1.1 keep-alive, \`GET ${PATH}\` of examples/hello-node deployed as a container on Slipway's own Podman service and app network. Every proxy fronts that same container with the same TLS settings (Mozilla intermediate, no tickets) and adds the same security headers. Targets alternate round by round (${String(ROUNDS)} rounds, order rotated each round); the table shows the median of the rounds. Load generator, proxies and the container share the same cores. Before the rounds, every target must answer wrk's own requests (same URL, Host and SNI) with the app's response (200, \`ok\`, and through a proxy the security headers). Proxy CPU is the user + system time of the proxy's processes (all workers) during a round, per request. The Slipway router also sends an access-log line per request to the daemon, whose CPU per request is the next column; nginx and Caddy log nothing.`,
    "",
    "| target | requests/s (median) | vs direct | proxy CPU µs/request (median) | daemon CPU µs/request (median) | p50 | p99 | rounds (req/s) | errors |",
    "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ...results.map(([name, runs]) => {
      const rps = median(runs.map((r) => r.rps));
      const errors = [...new Set(runs.map((r) => r.errors))].join("; ");
      const cpu = median(runs.map((r) => r.cpuUsPerRequest));
      const helper = median(runs.map((r) => r.helperCpuUsPerRequest));
      const us = (n: number): string => (Number.isNaN(n) ? "-" : n.toFixed(1));
      return `| ${name} | ${rps.toFixed(0)} | ${(rps / direct).toFixed(2)} | ${us(cpu)} | ${us(helper)} | ${median(runs.map((r) => r.p50Ms)).toFixed(2)} ms | ${median(runs.map((r) => r.p99Ms)).toFixed(2)} ms | ${runs.map((r) => r.rps.toFixed(0)).join(", ")} | ${errors} |`;
    }),
  ];
  if (updates !== null) {
    const ms = (n: number): string => n.toFixed(0);
    lines.push(
      "",
      "Route updates with 1,000 apps configured (time until `router.apply()` returned, i.e. the change is live):",
      "",
      "| change | ms (median) | runs |",
      "|---|---:|---:|",
      `| first apply of 1,000 apps (render, check, reload) | ${ms(updates.initial)} | 1 |`,
      `| endpoint change of one app (runtime API, no reload) | ${ms(median(updates.endpointTimes))} | ${String(updates.endpointTimes.length)} |`,
      `| host change of one app (runtime API: host map, no reload) | ${ms(median(updates.hostTimes))} | ${String(updates.hostTimes.length)} |`,
      `| configuration change (a new app; check + hitless reload) | ${ms(median(updates.reloadTimes))} | ${String(updates.reloadTimes.length)} |`,
      "",
      `Throughput with those 1,000 apps configured, one wrk round (same options) to the app whose host sorts last: ${updates.lastApp.rps.toFixed(0)} req/s, HAProxy ${updates.lastApp.cpuUsPerRequest.toFixed(1)} CPU µs/request, p99 ${updates.lastApp.p99Ms.toFixed(2)} ms (this router logs nothing; hosts are looked up in one map, so the cost does not grow with the number of apps).`,
    );
  }
  lines.push("", "<!-- router:end -->", "");
  return lines.join("\n");
}

function writeSection(path: string, text: string): void {
  const file = resolve(path);
  const existing = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n\n";
  const pattern = /<!-- router:start[\s\S]*?<!-- router:end -->\n?/;
  writeFileSync(
    file,
    pattern.test(existing) ? existing.replace(pattern, text) : `${existing.trimEnd()}\n\n${text}`,
  );
}

function progress(message: string): void {
  process.stderr.write(`[bench/router] ${message}\n`);
}

await main();
