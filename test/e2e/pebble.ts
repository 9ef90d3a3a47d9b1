/**
 * Pebble (Let's Encrypt's ACME test server, Debian package `pebble`) on loopback for the
 * ACME end-to-end test. Its VA resolves every name through pebble-challtestsrv's mock DNS,
 * which answers 127.0.0.1 for any A query (and nothing for AAAA), and validates http-01 on
 * the router's plain-HTTP port: so the challenge goes through HAProxy to Slipway's API,
 * exactly as it would from Let's Encrypt.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "./harness.ts";

export interface Pebble {
  /** The ACME directory URL. */
  readonly directory: string;
  /** The CA file that signs Pebble's own HTTPS certificate (SLIPWAY_ACME_CA_FILE). */
  readonly caFile: string;
  /** Makes the mock DNS answer `address` for `host` (so its validation fails, say). */
  setAddress(host: string, address: string): Promise<void>;
  /** The root certificate Pebble issues under (PEM; a new one every run). */
  root(): Promise<string>;
  stop(): Promise<void>;
}

/** Starts pebble-challtestsrv and pebble; `httpPort` is where the VA sends http-01. */
export async function startPebble(dir: string, httpPort: number): Promise<Pebble> {
  const caFile = join(dir, "pebble-ca.pem");
  makeServerCertificate(dir);
  const [listen, management, dns, dnsManagement] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const config = join(dir, "pebble-config.json");
  writeFileSync(
    config,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${String(listen)}`,
        managementListenAddress: `127.0.0.1:${String(management)}`,
        certificate: join(dir, "pebble-server.pem"),
        privateKey: join(dir, "pebble-server.key"),
        httpPort,
        tlsPort: 5001,
        ocspResponderURL: "",
        externalAccountBindingRequired: false,
      },
    }),
  );
  const children: ChildProcess[] = [];
  const start = (bin: string, args: string[], env: Record<string, string> = {}): void => {
    const child = spawn(bin, args, {
      env: { ...process.env, ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let log = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      log = (log + chunk).slice(-4000);
    });
    child.once("exit", (code) => {
      if (code !== null && code !== 0)
        process.stderr.write(`${bin} exited ${String(code)}:\n${log}`);
    });
    children.push(child);
  };
  start("pebble-challtestsrv", [
    "-defaultIPv4",
    "127.0.0.1",
    "-defaultIPv6",
    "",
    "-dns01",
    `127.0.0.1:${String(dns)}`,
    "-management",
    `127.0.0.1:${String(dnsManagement)}`,
    "-http01",
    "",
    "-https01",
    "",
    "-tlsalpn01",
    "",
  ]);
  start("pebble", ["-config", config, "-dnsserver", `127.0.0.1:${String(dns)}`], {
    PEBBLE_VA_NOSLEEP: "1",
    PEBBLE_VA_ALWAYS_VALID: "0",
    // Pebble rejects 5% of nonces by default to exercise clients; ours retries, but the
    // test should fail on real problems only.
    PEBBLE_WFE_NONCEREJECT: "0",
  });
  const directory = `https://127.0.0.1:${String(listen)}/dir`;
  await waitForPort(listen);
  return {
    directory,
    caFile,
    async setAddress(host, address) {
      const res = await fetch(`http://127.0.0.1:${String(dnsManagement)}/add-a`, {
        method: "POST",
        body: JSON.stringify({ host, addresses: [address] }),
      });
      if (!res.ok) throw new Error(`challtestsrv add-a: ${String(res.status)}`);
    },
    root() {
      return new Promise((resolve, reject) => {
        const req = httpsRequest(
          `https://127.0.0.1:${String(management)}/roots/0`,
          { ca: readFileSync(caFile) },
          (res) => {
            let body = "";
            res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
            res.on("end", () => {
              resolve(body);
            });
          },
        );
        req.on("error", reject);
        req.end();
      });
    },
    async stop() {
      for (const child of children) {
        if (child.exitCode === null && child.pid !== undefined) child.kill("SIGTERM");
      }
      await sleep(100);
    },
  };
}

/** A throwaway CA and a server certificate for 127.0.0.1 (Pebble's own HTTPS). */
function makeServerCertificate(dir: string): void {
  const run = (args: string[]): void => {
    execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  };
  run([
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    "pebble-ca.key",
    "-out",
    "pebble-ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=pebble test CA",
  ]);
  run([
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    "pebble-server.key",
    "-out",
    "pebble-server.csr",
    "-subj",
    "/CN=127.0.0.1",
  ]);
  writeFileSync(join(dir, "ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  run([
    "x509",
    "-req",
    "-in",
    "pebble-server.csr",
    "-CA",
    "pebble-ca.pem",
    "-CAkey",
    "pebble-ca.key",
    "-CAcreateserial",
    "-out",
    "pebble-server.pem",
    "-days",
    "2",
    "-extfile",
    "ext.cnf",
  ]);
}

async function waitForPort(port: number): Promise<void> {
  const { connect } = await import("node:net");
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => {
        resolve(false);
      });
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`pebble did not listen on ${String(port)}`);
}
