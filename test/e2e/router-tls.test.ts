/**
 * Promises 5 and 6 against the live router of one platform, with one deploy of the example:
 * TLS as testssl.sh and openssl s_client see it (Mozilla intermediate; "modern" per app),
 * the security headers on the app's answers, the router's own errors and redirects, per-app
 * header policies (kept, forced, unset, hostile values), the rate limit and the score.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { must, startPlatform, type HttpsResult, type TestPlatform } from "./harness.ts";

const example = join(import.meta.dirname, "..", "..", "examples", "hello-node");
const HOST = "hello.slipway.localhost";

/** The example, plus a 404 and a page that sends its own headers (some to be stripped). */
function patchedExample(dir: string): string {
  const src = join(dir, "hello");
  cpSync(example, src, { recursive: true, filter: (path) => !path.includes("node_modules") });
  const server = join(src, "server.js");
  const code = readFileSync(server, "utf8").replace(
    "  const body = [",
    `  if (req.url === "/missing") {
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not here\\n");
    return;
  }
  if (req.url === "/own-headers") {
    res.writeHead(200, {
      "content-type": "text/plain",
      "x-frame-options": "DENY",
      "referrer-policy": "no-referrer",
      server: "hello/1.0",
      "x-powered-by": "Express",
    });
    res.end("own\\n");
    return;
  }
  const body = [`,
  );
  assert.notEqual(code, readFileSync(server, "utf8"), "the example's server.js changed shape");
  writeFileSync(server, code);
  return src;
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[], timeoutMs = 15_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], timeout: timeoutMs });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.once("error", reject);
    child.once("close", (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

const DEFAULTS: readonly (readonly [string, string])[] = [
  ["x-content-type-options", "nosniff"],
  ["x-frame-options", "SAMEORIGIN"],
  ["referrer-policy", "strict-origin-when-cross-origin"],
  ["x-permitted-cross-domain-policies", "none"],
  ["x-xss-protection", "0"],
];

function assertBaseline(res: HttpsResult, what: string, hsts = true): void {
  for (const [name, value] of DEFAULTS) {
    if (name === "x-frame-options" || name === "referrer-policy") {
      assert.ok(res.headers[name] !== undefined, `${what}: ${name} present`);
    } else assert.equal(res.headers[name], value, `${what}: ${name}`);
  }
  if (hsts) {
    assert.equal(
      res.headers["strict-transport-security"],
      "max-age=63072000; includeSubDomains",
      `${what}: HSTS`,
    );
  }
  assert.equal(res.headers.server, undefined, `${what}: Server removed`);
  assert.equal(res.headers["x-powered-by"], undefined, `${what}: X-Powered-By removed`);
}

describe("router TLS, security headers and abuse limits", { timeout: 1_200_000 }, () => {
  let p: TestPlatform;
  let ca = "";
  const work = mkdtempSync(join(tmpdir(), "sw-tls-"));

  /** Polls until the router serves what `check` wants (policy changes apply asynchronously). */
  const eventually = async (path: string, check: (res: HttpsResult) => boolean) => {
    let last: HttpsResult | undefined;
    for (let i = 0; i < 60; i += 1) {
      last = await p.get(HOST, path);
      if (check(last)) return last;
      await sleep(250);
    }
    assert.fail(`the router did not apply the change: ${JSON.stringify(last?.headers)}`);
  };

  before(async () => {
    p = await startPlatform();
    ca = join(p.home, "ca", "ca.pem");
    await must(p.cli(["apps:create", "hello"]), "apps:create");
    await must(p.cli(["deploy", patchedExample(work), "--app", "hello"]), "deploy");
  });
  after(async () => {
    await p.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("testssl.sh finds only TLS 1.2/1.3, no weak ciphers and nothing MEDIUM or worse", async () => {
    const out = join(work, "testssl.json");
    const result = await run(
      "testssl",
      [
        ...["--quiet", "--color", "0", "--warnings", "batch"],
        ...["-p", "-s", "-f", "-P", "-h", "-U"],
        ...["--ip", "127.0.0.1", "--add-ca", ca, "-oj", out],
        `https://${HOST}:${String(p.httpsPort)}`,
      ],
      240_000,
    );
    const findings = JSON.parse(readFileSync(out, "utf8")) as {
      id: string;
      severity: string;
      finding: string;
    }[];
    const byId = new Map(findings.map((f) => [f.id, f]));
    const finding = (id: string) => {
      const f = byId.get(id);
      assert.ok(f, `testssl reported ${id} (exit ${String(result.code)}): ${result.stderr}`);
      return f.finding;
    };
    for (const id of ["SSLv2", "SSLv3", "TLS1", "TLS1_1"]) assert.match(finding(id), /not offered/);
    for (const id of ["TLS1_2", "TLS1_3"]) assert.match(finding(id), /^offered/);
    // testssl 3.0.8 (Debian 12) calls the obsoleted-CBC list AVERAGE; 3.1+ OBSOLETED.
    const obsoleted = byId.has("cipherlist_OBSOLETED") ? "OBSOLETED" : "AVERAGE";
    for (const list of ["NULL", "aNULL", "EXPORT", "LOW", "3DES_IDEA", obsoleted]) {
      assert.match(finding(`cipherlist_${list}`), /not offered/, list);
    }
    const bad = findings.filter((f) => ["MEDIUM", "HIGH", "CRITICAL"].includes(f.severity));
    assert.deepEqual(bad, [], "no finding of severity MEDIUM or above");
  });

  it("handshakes as SECURITY.md says (openssl s_client)", async () => {
    const sClient = (...args: string[]) =>
      run("openssl", [
        "s_client",
        "-connect",
        `127.0.0.1:${String(p.httpsPort)}`,
        "-servername",
        HOST,
        "-CAfile",
        ca,
        ...args,
      ]);
    const tls11 = await sClient("-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0");
    assert.notEqual(tls11.code, 0, "TLS 1.1 is refused");
    assert.match(tls11.stdout + tls11.stderr, /alert (number )?70|protocol version|no protocols/i);
    const cbc = await sClient("-tls1_2", "-cipher", "AES128-SHA");
    assert.notEqual(cbc.code, 0, "a non-AEAD, non-FS suite is refused");
    const tls13 = await sClient("-tls1_3", "-alpn", "h2,http/1.1");
    assert.equal(tls13.code, 0, tls13.stderr);
    assert.match(tls13.stdout, /ALPN protocol: h2/);
    assert.match(tls13.stdout, /Verify return code: 0 \(ok\)/);
    const tls12 = await sClient("-tls1_2");
    assert.equal(tls12.code, 0, "intermediate: TLS 1.2 is offered");
    assert.match(tls12.stdout, /ECDHE-(ECDSA|RSA)-(AES\d+-GCM|CHACHA20-POLY1305)/);
  });

  it("puts the headers on the app's 200 and 404, the router's 503 and the 308", async () => {
    assertBaseline(await p.get(HOST, "/"), "app 200");
    const missing = await p.get(HOST, "/missing");
    assert.equal(missing.status, 404);
    assertBaseline(missing, "app 404");
    const noRoute = await p.get("nobody.slipway.localhost", "/");
    assert.equal(noRoute.status, 503);
    assertBaseline(noRoute, "router 503");
    const redirect = await new Promise<HttpsResult>((resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port: p.httpPort, path: "/x", headers: { host: HOST } },
        (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: "" });
        },
      );
      req.on("error", reject);
      req.end();
    });
    assert.equal(redirect.status, 308);
    // RFC 6797 §7.2: no HSTS over plain HTTP.
    assertBaseline(redirect, "308 redirect", false);
    assert.equal(redirect.headers["strict-transport-security"], undefined);
  });

  it("keeps the app's own headers, strips Server and X-Powered-By, forces on request", async () => {
    const own = await p.get(HOST, "/own-headers");
    assert.equal(own.headers["x-frame-options"], "DENY", "the app's own header is kept");
    assert.equal(own.headers["referrer-policy"], "no-referrer");
    assertBaseline(own, "app-sent headers");
    await must(
      p.cli(["headers:set", "Referrer-Policy", "same-origin", "--force", "--app", "hello"]),
      "headers:set --force",
    );
    await must(
      p.cli(["headers:set", "X-Frame-Options", "SAMEORIGIN", "--app", "hello"]),
      "headers:set",
    );
    const forced = await eventually(
      "/own-headers",
      (r) => r.headers["referrer-policy"] === "same-origin",
    );
    assert.equal(forced.headers["x-frame-options"], "DENY", "not forced: the app's is kept");
    await must(p.cli(["headers:unset", "X-Content-Type-Options", "--app", "hello"]), "unset");
    await eventually("/", (r) => r.headers["x-content-type-options"] === undefined);
    const shown = JSON.parse(
      (await must(p.cli(["headers", "--app", "hello", "--json"]), "headers")).stdout,
    ) as { headers: { name: string; value: string; force: boolean }[] };
    assert.ok(shown.headers.some((h) => h.name === "Referrer-Policy" && h.force));
    assert.ok(!shown.headers.some((h) => h.name === "X-Content-Type-Options"));
  });

  it("sends tricky values literally and refuses values that could inject", async () => {
    const tricky = `a %[src] "q" \${HOME} $PATH \\ 'x' # y`;
    await must(p.cli(["headers:set", "X-Tricky", tricky, "--app", "hello"]), "tricky value");
    const res = await eventually("/", (r) => r.headers["x-tricky"] !== undefined);
    assert.equal(res.headers["x-tricky"], tricky, "HAProxy syntax is sent as text");
    for (const [name, value] of [
      ["X-A\r\nX-B", "v"],
      ["X-A", "v\r\nX-Injected: 1"],
      ["X-A", "v\nhttp-request deny"],
      ["X A", "v"],
      ["X-%[src]", "v"],
      ["Content-Security-Policy", "default-src 'self'\r\nX: y"],
      ["Server", "evil"],
    ] as const) {
      const r = await p.cli(["headers:set", name, value, "--app", "hello"]);
      assert.notEqual(r.code, 0, `refused: ${JSON.stringify([name, value])}`);
    }
    assert.notEqual((await p.cli(["ratelimit:set", "10/10s\nglobal", "--app", "hello"])).code, 0);
    const after = await p.get(HOST, "/");
    assert.equal(after.headers["x-injected"], undefined);
    assert.equal(after.status, 200);
  });

  it("scores B with the defaults and A+ with a CSP; report-only does not count", async () => {
    await must(p.cli(["headers:unset", "X-Tricky", "--app", "hello"]), "unset");
    await must(p.cli(["headers:set", "X-Content-Type-Options", "nosniff", "--app", "hello"]), "");
    await eventually("/", (r) => r.headers["x-content-type-options"] === "nosniff");
    const score = async () =>
      JSON.parse(
        (await must(p.cli(["headers:score", "--app", "hello", "--json"]), "headers:score")).stdout,
      ) as { score: number; grade: string };
    assert.deepEqual(await score().then((s) => [s.grade, s.score]), ["B", 75]);
    const csp = "default-src 'self'; frame-ancestors 'self'; object-src 'none'; base-uri 'self'";
    await must(
      p.cli(["headers:set", "Content-Security-Policy", csp, "--report-only", "--app", "hello"]),
      "report-only",
    );
    await eventually("/", (r) => r.headers["content-security-policy-report-only"] === csp);
    assert.equal((await score()).grade, "B");
    await must(p.cli(["headers:set", "Content-Security-Policy", csp, "--app", "hello"]), "csp");
    await eventually("/", (r) => r.headers["content-security-policy"] === csp);
    const best = await score();
    assert.equal(best.grade, "A+");
    assert.ok(best.score >= 100);
  });

  it("refuses TLS 1.2 for an app on the modern profile", async () => {
    await must(p.cli(["tls:set", "modern", "--app", "hello"]), "tls:set modern");
    const handshake = (version: string) =>
      run("openssl", [
        "s_client",
        "-connect",
        `127.0.0.1:${String(p.httpsPort)}`,
        "-servername",
        HOST,
        "-CAfile",
        ca,
        version,
      ]);
    let tls12 = await handshake("-tls1_2");
    for (let i = 0; i < 60 && tls12.code === 0; i += 1) {
      await sleep(250);
      tls12 = await handshake("-tls1_2");
    }
    assert.notEqual(tls12.code, 0, "modern: TLS 1.2 refused");
    assert.match(tls12.stdout + tls12.stderr, /alert (number )?70|protocol version/i);
    assert.equal((await handshake("-tls1_3")).code, 0, "modern: TLS 1.3 accepted");
    const other = await run("openssl", [
      "s_client",
      "-connect",
      `127.0.0.1:${String(p.httpsPort)}`,
      "-servername",
      "slipway.slipway.localhost",
      "-tls1_2",
    ]);
    assert.equal(other.code, 0, "other hosts keep intermediate");
    await must(p.cli(["tls:set", "intermediate", "--app", "hello"]), "tls:set intermediate");
  });

  it("cuts off slow-loris clients and oversized request heads", async () => {
    const caPem = readFileSync(ca);
    // Half a request head, then silence: HAProxy answers 408 after timeout http-request.
    const started = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(
        {
          host: "127.0.0.1",
          port: p.httpsPort,
          servername: HOST,
          ca: caPem,
          ALPNProtocols: ["http/1.1"],
        },
        () => socket.write(`GET / HTTP/1.1\r\nHost: ${HOST}\r\nX-Slow: 1\r\n`),
      );
      let text = "";
      socket.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
      socket.on("close", () => {
        resolve(text);
      });
      socket.on("error", reject);
      socket.setTimeout(30_000, () => socket.destroy(new Error("never cut off")));
    });
    const seconds = (Date.now() - started) / 1000;
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.ok(seconds >= 9 && seconds < 20, `cut off after ${String(seconds)} s`);
    // A request head beyond one 16 kB buffer is refused before any app sees it.
    const big = await run("curl", [
      ...["-s", "--http1.1", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", ca],
      ...["--resolve", `${HOST}:${String(p.httpsPort)}:127.0.0.1`],
      ...["-H", `X-Big: ${"a".repeat(20_000)}`],
      `https://${HOST}:${String(p.httpsPort)}/`,
    ]);
    assert.match(big.stdout, /^(400|431)$/, `oversized head: ${big.stdout}`);
  });

  it("answers 429 with the security headers over the rate limit", async () => {
    await must(p.cli(["ratelimit:set", "5/10s", "--app", "hello"]), "ratelimit:set");
    // The first requests after the change may still reach the old config: wait for a 429.
    const limited = await eventually("/", (r) => r.status === 429);
    assert.match(limited.body, /Too many requests/);
    assert.equal(limited.headers["retry-after"], "10");
    assertBaseline(limited, "429");
    assert.equal(limited.headers["content-security-policy"] !== undefined, true);
    await must(p.cli(["ratelimit:unset", "--app", "hello"]), "ratelimit:unset");
    await eventually("/", (r) => r.status === 200);
  });
});
