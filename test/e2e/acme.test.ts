/**
 * Custom domains and certificates on a real platform: ACME http-01 issuance against Pebble
 * (Debian's package) through the router's plain-HTTP port, certificates served by SNI
 * from the crt-list without a restart, uploaded and wildcard certificates, and refusals
 * (domain claimed by another app, invalid names, a key that does not match).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { connect, type PeerCertificate } from "node:tls";
import { after, before, describe, it } from "node:test";
import { MasterCli } from "../../src/router/haproxy/master-cli.ts";
import { freePort, must, startPlatform, type TestPlatform } from "./harness.ts";
import { startPebble, type Pebble } from "./pebble.ts";

interface CertInfo {
  readonly domain: string;
  readonly source: string;
  readonly status: string;
  readonly lastError: string | null;
}

describe("custom domains and certificates", { timeout: 600_000 }, () => {
  let p: TestPlatform;
  let pebble: Pebble;
  const work = mkdtempSync(join(tmpdir(), "sw-acme-"));

  before(async () => {
    const httpPort = await freePort();
    pebble = await startPebble(work, httpPort);
    p = await startPlatform({
      httpPort,
      env: {
        SLIPWAY_ACME_DIRECTORY: pebble.directory,
        SLIPWAY_ACME_CA_FILE: pebble.caFile,
        SLIPWAY_ACME_RETRY_SECONDS: "2",
        SLIPWAY_ACME_CHECK_SECONDS: "5",
      },
    });
    await must(p.cli(["apps:create", "shop"]), "apps:create shop");
    await must(p.cli(["apps:create", "other"]), "apps:create other");
  });
  after(async () => {
    // before() may have failed half-way: stop what exists.
    await (p as TestPlatform | undefined)?.stop();
    await (pebble as Pebble | undefined)?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("issues a certificate with ACME http-01 and serves it by SNI", async () => {
    await must(p.cli(["domains:add", "www.shop.example", "--app", "shop"]), "domains:add");
    const cert = await waitForCert(p, "shop", "www.shop.example");
    assert.equal(cert.source, "acme");
    const served = await peerCertificate(p.httpsPort, "www.shop.example");
    assert.match(served.subjectaltname ?? "", /DNS:www\.shop\.example/);
    assert.match(JSON.stringify(served.issuer), /Pebble/i);
    // The served chain verifies against Pebble's root; the request is routed by Host to the
    // app's backend (no container yet: the app's 503, not the router's "no route").
    const res = await verifiedGet(p.httpsPort, "www.shop.example", await pebble.root());
    assert.equal(res.status, 503);
    assert.match(res.body, /no running instance/);
    const listed = await must(p.cli(["domains", "--app", "shop"]), "domains");
    assert.match(listed.stdout, /www\.shop\.example/);
  });

  it("counts the app's traffic and logs each request with its id", async () => {
    const entry = await waitFor(async () => {
      const log = JSON.parse(
        (await must(p.cli(["logs:access", "--app", "shop", "--json"]), "logs:access")).stdout,
      ) as { status: number; path: string; requestId: string; method: string }[];
      return log.find((e) => e.status === 503) ?? null;
    });
    assert.equal(entry.method, "GET");
    assert.equal(entry.path, "/");
    assert.match(entry.requestId, /^[0-9a-f-]{36}$/);
    const metrics = JSON.parse(
      (await must(p.cli(["metrics", "--app", "shop", "--json"]), "metrics")).stdout,
    ) as { processType: string; requestsTotal: number; statusCounts: Record<string, number> }[];
    const [web] = metrics;
    assert.ok(web);
    assert.equal(web.processType, "web");
    assert.ok((web.statusCounts["5xx"] ?? 0) >= 1, JSON.stringify(metrics));
  });

  it("refuses a domain another app has (409) and invalid names", async () => {
    const taken = await p.cli(["domains:add", "www.shop.example", "--app", "other"]);
    assert.notEqual(taken.code, 0);
    assert.match(taken.stderr, /already attached/);
    for (const bad of [
      "bad name.example",
      "x\r\nuse_backend y",
      "*.shop.example",
      "1.2.3.4",
      "a",
    ]) {
      const r = await p.cli(["domains:add", bad, "--app", "other"]);
      assert.notEqual(r.code, 0, bad);
      assert.match(r.stderr, /invalid domain name/, bad);
    }
    const platform = await p.cli(["domains:add", "x.slipway.localhost", "--app", "other"]);
    assert.match(platform.stderr, /platform domain/);
  });

  it("installs an uploaded wildcard certificate for every domain it covers", async () => {
    const { cert, key } = selfSigned(work, "wild", "*.custom.example");
    await must(p.cli(["domains:add", "a.custom.example", "--app", "other"]), "domains:add a");
    await must(p.cli(["domains:add", "b.custom.example", "--app", "other"]), "domains:add b");
    const other = selfSigned(work, "other", "a.custom.example");
    const mismatch = await p.cli([
      "certs:add",
      "--domain",
      "a.custom.example",
      cert,
      other.key,
      "--app",
      "other",
    ]);
    assert.notEqual(mismatch.code, 0);
    assert.match(mismatch.stderr, /private key does not belong/);
    const wrongHost = await p.cli([
      "certs:add",
      "--domain",
      "a.custom.example",
      join(work, "ignored.pem"),
      key,
      "--app",
      "other",
    ]);
    assert.notEqual(wrongHost.code, 0);
    await must(
      p.cli(["certs:add", "--domain", "a.custom.example", cert, key, "--app", "other"]),
      "certs:add",
    );
    for (const host of ["a.custom.example", "b.custom.example"]) {
      const served = await waitFor(async () => {
        const c = await peerCertificate(p.httpsPort, host);
        return /\*\.custom\.example/.test(c.subjectaltname ?? "") ? c : null;
      });
      assert.match(served.subjectaltname ?? "", /DNS:\*\.custom\.example/);
    }
    const certs = JSON.parse(
      (await must(p.cli(["certs", "--app", "other", "--json"]), "certs")).stdout,
    ) as CertInfo[];
    assert.deepEqual(
      certs.map((c) => [c.domain, c.source, c.status]),
      [
        ["a.custom.example", "manual", "issued"],
        ["b.custom.example", "manual", "issued"],
      ],
    );
  });

  it("replaces a certificate and serves a modern app's domains TLS 1.3 only, without a reload", async () => {
    const master = new MasterCli(join(p.home, "run", "haproxy-master.sock"));
    const reloads = async () => (await master.showProc()).master.reloads;
    const before = await reloads();
    const own = selfSigned(work, "own", "a.custom.example");
    await must(
      p.cli(["certs:add", "--domain", "a.custom.example", own.cert, own.key, "--app", "other"]),
      "certs:add (replacing the wildcard)",
    );
    await waitFor(async () => {
      const c = await peerCertificate(p.httpsPort, "a.custom.example");
      return c.subjectaltname === "DNS:a.custom.example" ? c : null;
    });
    assert.equal(await reloads(), before, "a replaced certificate is applied at runtime");
    await must(p.cli(["tls:set", "modern", "--app", "other"]), "tls:set modern");
    await waitFor(async () =>
      (await accepts(p.httpsPort, "a.custom.example", "TLSv1.2")) ? null : true,
    );
    assert.equal(await accepts(p.httpsPort, "b.custom.example", "TLSv1.2"), false);
    assert.equal(await accepts(p.httpsPort, "a.custom.example", "TLSv1.3"), true);
    assert.equal(await accepts(p.httpsPort, "www.shop.example", "TLSv1.2"), true, "intermediate");
    assert.equal(await reloads(), before, "a TLS profile change is applied at runtime");
    await must(p.cli(["tls:set", "intermediate", "--app", "other"]), "tls:set intermediate");
    await waitFor(async () =>
      (await accepts(p.httpsPort, "a.custom.example", "TLSv1.2")) ? true : null,
    );
  });

  it("shows the reason of a failed order, retries it, and removes domains", async () => {
    // The mock DNS sends Pebble's validation of this name to an address nothing serves.
    await pebble.setAddress("down.shop.example", "127.0.0.9");
    const master = new MasterCli(join(p.home, "run", "haproxy-master.sock"));
    const reloads = async () => (await master.showProc()).master.reloads;
    const before = await reloads();
    await must(p.cli(["domains:add", "down.shop.example", "--app", "shop"]), "domains:add");
    const failed = await waitFor(async () => {
      const certs = JSON.parse(
        (await must(p.cli(["certs", "--app", "shop", "--json"]), "certs")).stdout,
      ) as (CertInfo & { attempts: number })[];
      const c = certs.find((x) => x.domain === "down.shop.example");
      return c !== undefined && c.attempts >= 2 ? c : null;
    }, 120_000);
    assert.equal(failed.status, "failed");
    assert.match(failed.lastError ?? "", /authorization of down\.shop\.example is invalid/);
    const table = await must(p.cli(["certs", "--app", "shop"]), "certs");
    assert.match(table.stdout, /down\.shop\.example .*failed/);
    await must(p.cli(["domains:remove", "down.shop.example", "--app", "shop"]), "remove");
    await must(p.cli(["domains:remove", "b.custom.example", "--app", "other"]), "remove");
    const listed = await must(p.cli(["domains", "--app", "other", "--json"]), "domains");
    assert.doesNotMatch(listed.stdout, /b\.custom\.example/);
    const gone = await p.cli(["domains:remove", "b.custom.example", "--app", "other"]);
    assert.notEqual(gone.code, 0);
    // Hosts live in the router's host map, changed through the runtime API.
    assert.equal(await reloads(), before, "adding and removing domains needs no reload");
  });
});

async function waitForCert(p: TestPlatform, app: string, domain: string): Promise<CertInfo> {
  let last: CertInfo | undefined;
  for (let i = 0; i < 120; i++) {
    const certs = JSON.parse(
      (await must(p.cli(["certs", "--app", app, "--json"]), "certs")).stdout,
    ) as CertInfo[];
    last = certs.find((c) => c.domain === domain);
    if (last?.status === "issued") return last;
    await sleep(500);
  }
  throw new Error(`no certificate for ${domain}: ${JSON.stringify(last)}`);
}

/**
 * Polls check until it returns a value. The router applies a change at once, but with the
 * other suites and testssl.sh sharing two cores its reload has taken over 10 s: the limit
 * is generous (it only bounds a failure).
 */
async function waitFor<T>(check: () => Promise<T | null>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value !== null) return value;
    await sleep(200);
  }
  throw new Error(`timed out after ${String(timeoutMs)} ms`);
}

function verifiedGet(
  port: number,
  host: string,
  ca: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: "127.0.0.1", port, servername: host, headers: { host }, ca, agent: false },
      (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

function peerCertificate(port: number, servername: string): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: "127.0.0.1", port, servername, rejectUnauthorized: false },
      () => {
        const cert = socket.getPeerCertificate();
        socket.destroy();
        resolve(cert);
      },
    );
    socket.once("error", reject);
  });
}

/** Whether the router completes a handshake for `servername` at exactly this TLS version. */
function accepts(
  port: number,
  servername: string,
  version: "TLSv1.2" | "TLSv1.3",
): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(
      {
        host: "127.0.0.1",
        port,
        servername,
        rejectUnauthorized: false,
        minVersion: version,
        maxVersion: version,
      },
      () => {
        socket.destroy();
        resolve(true);
      },
    );
    socket.once("error", () => {
      resolve(false);
    });
  });
}

function selfSigned(dir: string, name: string, host: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "30",
      "-subj",
      `/CN=${host}`,
      "-addext",
      `subjectAltName=DNS:${host}`,
    ],
    { stdio: "ignore" },
  );
  writeFileSync(join(dir, "ignored.pem"), "not a certificate\n");
  return { cert, key };
}
