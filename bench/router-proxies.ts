/**
 * The pieces of bench/router.ts that run the contestants: wrk, nginx and Caddy (Debian
 * packages) with the same TLS settings and response headers as Slipway's router, and
 * stand-alone HAProxy processes on variants of the rendered configuration (for A/B tuning).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
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
  /** Completed requests. */
  readonly requests: number;
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
        requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? "0"),
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

/**
 * Caddy with the same protocols, curves and headers (tickets are Caddy's own rotation).
 *
 * The site address has no host (`https://:PORT`), so it serves every Host. It used to be
 * `https://127.0.0.1:PORT`, which adds a host matcher for "127.0.0.1": wrk's requests carry
 * the app's Host header, matched no route, and Caddy answered each with its empty
 * `200 OK` (no proxying, no headers), which wrk counts as success. That was the "Caddy
 * twice as fast as HAProxy" of earlier runs; checkTarget() now refuses such a target.
 * Idle upstream connections as nginx's `keepalive 64` (Caddy's default keeps 32).
 */
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
https://:${String(ports.https)} {
  tls ${cert} ${key} {
    protocols tls1.2 tls1.3
    curves x25519 secp256r1 secp384r1
  }
  header {
${HEADERS.map(([n, v]) => `    ${n} "${v}"`).join("\n")}
    -Server
  }
  reverse_proxy ${upstream} {
    transport http {
      keepalive_idle_conns_per_host 64
    }
  }
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
  /** False when the edit removes the security headers (checkTarget then skips them). */
  readonly headers?: boolean;
}

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
  // Measured earlier and indistinguishable from "as rendered" (docs/benchmarks.md): nbthread 1,
  // nbthread 2 + cpu-map, http-reuse always, no health checks.
  { name: "no access log (diagnostic)", edit: dropLines(/^ {4}log(-format)? /) },
  {
    name: "no header rules (diagnostic)",
    edit: dropLines(/^ {4}http-(after-response|request) set-header|unique-id-format/),
    headers: false,
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

/** wrk Lua: counts responses that are not the app's `200 ok` (with the headers, if asked). */
const CHECK_LUA = `local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) good = 0; bad = 0; sample = ""; want = args[1] == "headers" end
function response(status, headers, body)
  local nosniff = false
  for name, value in pairs(headers) do
    if string.lower(name) == "x-content-type-options" and value == "nosniff" then nosniff = true end
  end
  if status == 200 and body == "ok\\n" and (nosniff or not want) then
    good = good + 1
  else
    bad = bad + 1
    sample = status .. " body " .. (string.format("%q", body):gsub("\\n", "n")) .. (nosniff and "" or " without X-Content-Type-Options")
  end
end
function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    io.write(string.format("check good=%d bad=%d sample=%s\\n", t:get("good"), t:get("bad"), t:get("sample")))
  end
end
`;

/**
 * Sends the benchmark's own requests (wrk, same URL, Host and SNI) for a moment and returns
 * why the target does not answer like the app (`200`, body "ok", and with `headers` the
 * security headers), or null. A proxy that answers without proxying must not be measured.
 */
export function checkTarget(
  dir: string,
  url: string,
  host: string,
  headers: boolean,
): Promise<string | null> {
  const script = join(dir, "check.lua");
  writeFileSync(script, CHECK_LUA);
  return new Promise((resolve, reject) => {
    const args = ["-t1", "-c1", "-d1s", "-s", script, "-H", `Host: ${host}`, url];
    const child = spawn("wrk", headers ? [...args, "--", "headers"] : args);
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
    child.once("error", reject);
    child.once("close", () => {
      const match = /check good=(\d+) bad=(\d+) sample=(.*)/.exec(out);
      if (match === null) resolve(`no check output from wrk: ${out.slice(0, 200)}`);
      else if (match[2] !== "0" || match[1] === "0") {
        resolve(
          `${match[2] ?? "?"} of ${String(Number(match[1]) + Number(match[2]))} responses wrong, e.g. ${match[3] ?? ""}`,
        );
      } else resolve(null);
    });
  });
}

/**
 * CPU time (user + system, in clock ticks) used so far by these processes and all their
 * descendants (nginx's and HAProxy's workers), from /proc. Only for the proxies we measure.
 */
export function cpuTicks(roots: readonly number[]): number {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after the command name (which may hold spaces): state ppid ... utime stime.
      const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
      stats.set(Number(entry), {
        ppid: Number(fields[1]),
        ticks: Number(fields[11]) + Number(fields[12]),
      });
    } catch {
      // The process ended between readdir and read.
    }
  }
  const wanted = new Set(roots);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, { ppid }] of stats) {
      if (!wanted.has(pid) && wanted.has(ppid)) {
        wanted.add(pid);
        grew = true;
      }
    }
  }
  let ticks = 0;
  for (const pid of wanted) ticks += stats.get(pid)?.ticks ?? 0;
  return ticks;
}

/** CPU ticks (user + system) of these processes alone, without their children. */
export function ownCpuTicks(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const text = readFileSync(`/proc/${String(pid)}/stat`, "utf8");
      const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // Gone.
    }
  }
  return ticks;
}

/** Pids of the processes whose command line contains `text` (the router's config path). */
export function pidsWithCommandLine(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(text)) pids.push(Number(entry));
    } catch {
      // Gone already.
    }
  }
  return pids;
}
