/**
 * bench/router: HTTPS keep-alive throughput and p99 latency (wrk) through Slipway's router
 * (HAProxy with the rendered configuration) against the upstream directly, nginx and Caddy
 * (Debian packages) configured with the same TLS (Mozilla intermediate, no tickets,
 * X25519/P-256/P-384) and the same response headers in front of the same upstream, side by
 * side in one run; then route update latency with 1,000 apps configured: an endpoint
 * change (runtime API) and a configuration change (hitless reload).
 *
 * Run: npm run bench:router   (= node bench/router.ts; needs haproxy, nginx, caddy, wrk;
 * about 2 minutes). Prints a table and writes its section of docs/benchmarks.md.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { cpus } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { HaproxyRouter } from "../src/router/haproxy/haproxy-router.ts";
import { writeCrtList } from "../src/router/haproxy/crt-list.ts";
import type { RouterSettings } from "../src/router/render.ts";
import type { AppRoute, RouteTable } from "../src/router/router.ts";
import { ensureServerCertificate } from "../src/security/ca.ts";
import { freePort } from "../test/e2e/harness.ts";

const root = join(import.meta.dirname, "..");
const DOMAIN = "bench.localhost";
const HOST = `app.${DOMAIN}`;
const DURATION = process.env.BENCH_DURATION ?? "10s";
const CONNECTIONS = 64;
const THREADS = 2;
const CIPHERS =
  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
const HEADERS: readonly (readonly [string, string])[] = [
  ["Strict-Transport-Security", "max-age=63072000; includeSubDomains"],
  ["X-Content-Type-Options", "nosniff"],
  ["X-Frame-Options", "SAMEORIGIN"],
  ["Referrer-Policy", "strict-origin-when-cross-origin"],
  ["X-Permitted-Cross-Domain-Policies", "none"],
  ["X-XSS-Protection", "0"],
];

interface WrkResult {
  readonly rps: number;
  readonly p50: string;
  readonly p99: string;
  readonly errors: string;
}

async function main(): Promise<void> {
  const dir = mkdtempSync("/tmp/slipway-bench-router-");
  const children: ChildProcess[] = [];
  let router: HaproxyRouter | undefined;
  let upstream: Server | undefined;
  try {
    upstream = await startUpstream();
    const upstreamPort = (upstream.address() as { port: number }).port;
    const cert = await ensureServerCertificate({
      caDir: join(dir, "ca"),
      outDir: join(dir, "certs"),
      domain: DOMAIN,
    });
    const pem = readFileSync(cert.pemPath, "utf8");
    const certOnly = join(dir, "cert.pem");
    const keyOnly = join(dir, "key.pem");
    writeFileSync(
      certOnly,
      (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? []).join(
        "",
      ),
    );
    writeFileSync(
      keyOnly,
      /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----\n?/.exec(
        pem,
      )?.[0] ?? "",
      { mode: 0o600 },
    );

    // Slipway's router, through the driver and the real renderer.
    const httpPort = await freePort();
    const httpsPort = await freePort();
    const nginxPort = await freePort();
    const caddyPort = await freePort();
    const caddyHttp = await freePort();
    const caddyAdmin = await freePort();
    const crtList = join(dir, "crt-list");
    await writeCrtList(crtList, [cert.pemPath]);
    const apiSocket = join(dir, "api.sock");
    const settings: RouterSettings = {
      bindAddress: "127.0.0.1",
      httpPort,
      httpsPort,
      domain: DOMAIN,
      platformHost: `slipway.${DOMAIN}`,
      apiSocket,
      crtList,
      statsSocket: join(dir, "stats.sock"),
    };
    router = new HaproxyRouter({
      stateDir: join(dir, "state"),
      runDir: join(dir, "run"),
      settings,
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
      defaultCertificate: cert.pemPath,
    });
    await router.start();
    const appRoute = (name: string, port: number): AppRoute => ({
      app: name,
      hosts: [`${name}.${DOMAIN}`],
      endpoints: [{ name: `${name}-web-1`, address: "127.0.0.1", port }],
    });
    await router.apply({ apps: [appRoute("app", upstreamPort)] });

    children.push(startNginx(dir, nginxPort, upstreamPort, certOnly, keyOnly));
    children.push(
      startCaddy(dir, caddyPort, caddyHttp, caddyAdmin, upstreamPort, certOnly, keyOnly),
    );
    await sleep(1500);

    const rows: [string, WrkResult][] = [];
    rows.push([
      "upstream directly (plain HTTP)",
      await wrk(`http://127.0.0.1:${String(upstreamPort)}/`),
    ]);
    rows.push([
      "Slipway router (HAProxy 2.6)",
      await wrk(`https://127.0.0.1:${String(httpsPort)}/`),
    ]);
    rows.push(["nginx (Debian)", await wrk(`https://127.0.0.1:${String(nginxPort)}/`)]);
    rows.push(["Caddy (Debian)", await wrk(`https://127.0.0.1:${String(caddyPort)}/`)]);

    // Route update latency with 1,000 apps.
    const apps: AppRoute[] = [appRoute("app", upstreamPort)];
    for (let i = 0; i < 999; i++)
      apps.push(appRoute(`a${String(i).padStart(4, "0")}`, upstreamPort));
    const table = (list: AppRoute[]): RouteTable => ({ apps: list });
    let t = performance.now();
    await router.apply(table(apps));
    const initial = performance.now() - t;
    const endpointTimes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const changed = apps.map((a, j) =>
        j === 500
          ? {
              ...a,
              endpoints: [
                { name: `${a.app}-web-${String(i + 2)}`, address: "127.0.0.1", port: upstreamPort },
              ],
            }
          : a,
      );
      t = performance.now();
      await router.apply(table(changed));
      endpointTimes.push(performance.now() - t);
      apps.splice(0, apps.length, ...changed);
    }
    const reloadTimes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const changed = apps.map((a, j) =>
        j === 700 ? { ...a, hosts: [...a.hosts.slice(0, 1), `extra${String(i)}.${DOMAIN}`] } : a,
      );
      t = performance.now();
      await router.apply(table(changed));
      reloadTimes.push(performance.now() - t);
      apps.splice(0, apps.length, ...changed);
    }
    report(rows, { initial, endpointTimes, reloadTimes });
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
    await router?.stop();
    upstream?.close();
    await sleep(300);
    rmSync(dir, { recursive: true, force: true });
  }
}

function startUpstream(): Promise<Server> {
  const body = Buffer.from("Hello from Slipway\n");
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/plain", "content-length": body.length });
    res.end(body);
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      resolve(server);
    }),
  );
}

function startNginx(
  dir: string,
  port: number,
  upstream: number,
  cert: string,
  key: string,
): ChildProcess {
  const conf = join(dir, "nginx.conf");
  writeFileSync(
    conf,
    `daemon off;
worker_processes auto;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  server_tokens off;
  upstream app { server 127.0.0.1:${String(upstream)}; keepalive 64; }
  server {
    listen 127.0.0.1:${String(port)} ssl http2;
    ssl_certificate ${cert};
    ssl_certificate_key ${key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ${CIPHERS};
    ssl_ecdh_curve X25519:prime256v1:secp384r1;
    ssl_prefer_server_ciphers off;
    ssl_session_tickets off;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Request-Id $request_id;
${HEADERS.map(([n, v]) => `      add_header ${n} "${v}" always;`).join("\n")}
      add_header X-Request-Id $request_id always;
    }
  }
}
`,
  );
  return spawn("nginx", ["-c", conf, "-p", dir], { stdio: "ignore" });
}

function startCaddy(
  dir: string,
  port: number,
  httpPort: number,
  admin: number,
  upstream: number,
  cert: string,
  key: string,
): ChildProcess {
  const file = join(dir, "Caddyfile");
  writeFileSync(
    file,
    `{
  admin 127.0.0.1:${String(admin)}
  http_port ${String(httpPort)}
  auto_https off
}
https://127.0.0.1:${String(port)} {
  tls ${cert} ${key} {
    protocols tls1.2 tls1.3
    curves x25519 secp256r1 secp384r1
  }
  header {
${HEADERS.map(([n, v]) => `    ${n} "${v}"`).join("\n")}
    -Server
  }
  reverse_proxy 127.0.0.1:${String(upstream)}
}
`,
  );
  return spawn("caddy", ["run", "--config", file, "--adapter", "caddyfile"], {
    stdio: "ignore",
    env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
  });
}

function wrk(url: string): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("wrk", [
      `-t${String(THREADS)}`,
      `-c${String(CONNECTIONS)}`,
      `-d${DURATION}`,
      "--latency",
      "-H",
      `Host: ${HOST}`,
      url,
    ]);
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
    child.once("error", reject);
    child.once("close", () => {
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? "0");
      const p50 = /^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? "?";
      const p99 = /^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? "?";
      const errors = /Socket errors: (.+)|Non-2xx or 3xx responses: (\d+)/.exec(out)?.[0] ?? "none";
      resolve({ rps, p50, p99, errors });
    });
  });
}

function report(
  rows: readonly [string, WrkResult][],
  updates: { initial: number; endpointTimes: number[]; reloadTimes: number[] },
): void {
  const ms = (n: number): string => n.toFixed(0);
  const median = (xs: number[]): number =>
    [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const direct = rows[0]?.[1].rps ?? 1;
  const lines = [
    "<!-- router:start (written by bench/router.ts) -->",
    "## Router throughput and route updates",
    "",
    `Command: \`npm run bench:router\` (\`node bench/router.ts\`). Machine: ${String(cpus().length)} × ${cpus()[0]?.model ?? "?"}, ${new Date().toISOString().slice(0, 10)}.`,
    `wrk -t${String(THREADS)} -c${String(CONNECTIONS)} -d${DURATION} --latency, HTTPS keep-alive (HTTP/1.1), one Node.js upstream on loopback answering a 19-byte body; every proxy runs the same TLS settings (Mozilla intermediate, no tickets) and adds the same security headers. Load generator, proxies and upstream share the same cores, so absolute numbers are low and the ratio is what matters.`,
    "",
    "| target | requests/s | vs direct | p50 | p99 | errors |",
    "|---|---:|---:|---:|---:|---|",
    ...rows.map(
      ([name, r]) =>
        `| ${name} | ${r.rps.toFixed(0)} | ${(r.rps / direct).toFixed(2)} | ${r.p50} | ${r.p99} | ${r.errors} |`,
    ),
    "",
    "Route updates with 1,000 apps configured (time until `router.apply()` returned, i.e. the change is live):",
    "",
    "| change | ms (median) | runs |",
    "|---|---:|---:|",
    `| first apply of 1,000 apps (render, check, reload) | ${ms(updates.initial)} | 1 |`,
    `| endpoint change of one app (runtime API, no reload) | ${ms(median(updates.endpointTimes))} | ${String(updates.endpointTimes.length)} |`,
    `| configuration change (new host; check + hitless reload) | ${ms(median(updates.reloadTimes))} | ${String(updates.reloadTimes.length)} |`,
    "<!-- router:end -->",
    "",
  ];
  const text = lines.join("\n");
  process.stdout.write(`${text}\n`);
  const file = join(root, "docs", "benchmarks.md");
  const existing = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n\n";
  const pattern = /<!-- router:start[\s\S]*?<!-- router:end -->\n?/;
  writeFileSync(
    file,
    pattern.test(existing) ? existing.replace(pattern, text) : `${existing.trimEnd()}\n\n${text}`,
  );
}

await main();
