/**
 * The pieces of bench/router.ts that run the contestants: wrk, nginx and Caddy (Debian
 * packages) with the same TLS settings and response headers as Slipway's router, and
 * stand-alone HAProxy processes on variants of the rendered configuration (for A/B tuning).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export const CIPHERS =
  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

/** The platform defaults (docs/SECURITY.md) the router adds; nginx and Caddy add the same. */
export const HEADERS: readonly (readonly [string, string])[] = [
  ["Strict-Transport-Security", "max-age=63072000; includeSubDomains"],
  ["X-Content-Type-Options", "nosniff"],
  ["X-Frame-Options", "SAMEORIGIN"],
  ["Referrer-Policy", "strict-origin-when-cross-origin"],
  ["X-Permitted-Cross-Domain-Policies", "none"],
  ["X-XSS-Protection", "0"],
];

/** One wrk run. */
export interface WrkResult {
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: string;
}

/** wrk's latency ("850.12us", "2.10ms", "1.02s") in ms. */
export function latencyMs(text: string | undefined): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text ?? "");
  if (match === null) return Number.NaN;
  const scale = { us: 0.001, ms: 1, s: 1000, m: 60_000 }[match[2] as "us" | "ms" | "s" | "m"];
  return Number(match[1]) * scale;
}

/** Runs wrk (HTTP/1.1 keep-alive) against `url` with this Host header. */
export function wrk(
  url: string,
  host: string,
  options: { threads: number; connections: number; duration: string },
): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("wrk", [
      `-t${String(options.threads)}`,
      `-c${String(options.connections)}`,
      `-d${options.duration}`,
      "--latency",
      "-H",
      `Host: ${host}`,
      url,
    ]);
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
    child.once("error", reject);
    child.once("close", () => {
      const errors = [
        /Socket errors: (.+)/.exec(out)?.[1],
        /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1]?.concat(" non-2xx"),
      ].filter((e): e is string => e !== undefined);
      resolve({
        rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? "0"),
        p50Ms: latencyMs(/^\s+50%\s+(\S+)/m.exec(out)?.[1]),
        p99Ms: latencyMs(/^\s+99%\s+(\S+)/m.exec(out)?.[1]),
        errors: errors.length === 0 ? "none" : errors.join(", "),
      });
    });
  });
}

/** nginx with Mozilla intermediate, no tickets, keep-alive to the upstream, same headers. */
export function startNginx(
  dir: string,
  port: number,
  upstream: string,
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
  upstream app { server ${upstream}; keepalive 64; }
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

/** Caddy with the same protocols, curves and headers (tickets are Caddy's own rotation). */
export function startCaddy(
  dir: string,
  ports: { https: number; http: number; admin: number },
  upstream: string,
  cert: string,
  key: string,
): ChildProcess {
  const file = join(dir, "Caddyfile");
  writeFileSync(
    file,
    `{
  admin 127.0.0.1:${String(ports.admin)}
  http_port ${String(ports.http)}
  auto_https off
}
https://127.0.0.1:${String(ports.https)} {
  tls ${cert} ${key} {
    protocols tls1.2 tls1.3
    curves x25519 secp256r1 secp384r1
  }
  header {
${HEADERS.map(([n, v]) => `    ${n} "${v}"`).join("\n")}
    -Server
  }
  reverse_proxy ${upstream}
}
`,
  );
  return spawn("caddy", ["run", "--config", file, "--adapter", "caddyfile"], {
    stdio: "ignore",
    env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
  });
}

/** A named change of the rendered haproxy.cfg, for A/B runs (bench/router.ts --variants). */
export interface ConfigVariant {
  readonly name: string;
  readonly edit: (config: string) => string;
}

const addGlobal = (line: string) => (config: string) =>
  config.replace(/^global\n/m, `global\n    ${line}\n`);
const dropLines = (pattern: RegExp) => (config: string) =>
  config
    .split("\n")
    .filter((line) => !pattern.test(line))
    .join("\n");

/**
 * Candidate tunings. Each is measured against the unchanged rendering in the same run;
 * only the ones that win are worth rendering for real (src/router/render.ts).
 */
export const VARIANTS: readonly ConfigVariant[] = [
  { name: "as rendered", edit: (c) => c },
  { name: "nbthread 1", edit: addGlobal("nbthread 1") },
  { name: "nbthread 2 + cpu-map", edit: addGlobal("nbthread 2\n    cpu-map auto:1/1-2 0-1") },
  { name: "no access log", edit: dropLines(/^ {4}log(-format)? /) },
  {
    name: "http-reuse always",
    edit: (c) => c.replace(/^defaults\n/m, "defaults\n    http-reuse always\n"),
  },
  { name: "no health checks", edit: (c) => c.replace(" check inter 2s fall 3 rise 2", "") },
  {
    name: "no header rules (diagnostic)",
    edit: dropLines(/^ {4}http-(after-response|request) set-header|unique-id-format/),
  },
];

/** Starts HAProxy in the foreground on one configuration file. */
export function startHaproxy(dir: string, name: string, config: string): ChildProcess {
  const file = join(dir, `${name}.cfg`);
  writeFileSync(file, config);
  return spawn("haproxy", ["-db", "-f", file], {
    stdio: ["ignore", "ignore", "inherit"],
  });
}
