import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { ValidationError } from "../domain/errors.ts";
import { ensureCa, ensureServerCertificate } from "./ca.ts";

const run = promisify(execFile);
const DAY_MS = 24 * 60 * 60 * 1000;

async function certText(path: string): Promise<string> {
  return (await run("openssl", ["x509", "-in", path, "-noout", "-text"])).stdout;
}

async function mode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

describe("ensureCa", () => {
  let dir = "";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "slipway-ca-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("creates a P-256 CA with a private key and CA extensions", async () => {
    const ca = await ensureCa(join(dir, "ca"));
    assert.equal(ca.created, true);
    assert.equal(await mode(ca.keyPath), 0o600);
    const text = await certText(ca.certPath);
    assert.match(text, /NIST CURVE: P-256/);
    assert.match(text, /Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    assert.match(text, /Key Usage: critical\s+Certificate Sign, CRL Sign/);
    const cert = new X509Certificate(await readFile(ca.certPath));
    const years = (cert.validToDate.getTime() - cert.validFromDate.getTime()) / (365 * DAY_MS);
    assert.ok(years > 9.9 && years < 10.1, `validity ${years} years`);
  });

  it("is idempotent", async () => {
    const before = await readFile(join(dir, "ca", "ca.pem"), "utf8");
    const again = await ensureCa(join(dir, "ca"));
    assert.equal(again.created, false);
    assert.equal(await readFile(again.certPath, "utf8"), before);
  });

  it("refuses a key that does not belong to the certificate", async () => {
    const other = await ensureCa(join(dir, "other"));
    await writeFile(join(dir, "ca", "ca-key.pem"), await readFile(other.keyPath));
    await assert.rejects(ensureCa(join(dir, "ca")), { code: "ca_error" });
  });
});

describe("ensureServerCertificate", () => {
  let dir = "";
  let caDir = "";
  let outDir = "";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "slipway-leaf-"));
    caDir = join(dir, "ca");
    outDir = join(dir, "certs");
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("issues a server certificate for the domain and its wildcard", async () => {
    const cert = await ensureServerCertificate({ caDir, outDir, domain: "example.test" });
    assert.equal(cert.issued, true);
    assert.equal(cert.pemPath, join(outDir, "example.test.pem"));
    assert.equal(await mode(cert.pemPath), 0o600);
    const verify = await run("openssl", [
      "verify",
      "-CAfile",
      join(caDir, "ca.pem"),
      "-purpose",
      "sslserver",
      cert.pemPath,
    ]);
    assert.match(verify.stdout, /: OK/);
    const text = await certText(cert.pemPath);
    assert.match(text, /DNS:example\.test, DNS:\*\.example\.test/);
    assert.match(text, /Extended Key Usage:\s+TLS Web Server Authentication/);
    assert.match(text, /CA:FALSE/);
    assert.match(text, /NIST CURVE: P-256/);
    const days = (cert.notAfter.getTime() - Date.now()) / DAY_MS;
    assert.ok(days > 396 && days <= 397, `valid for ${days} days`);
  });

  it("writes certificate, chain and a matching key into one PEM", async () => {
    const pem = await readFile(join(outDir, "example.test.pem"), "utf8");
    assert.equal(pem.match(/-----BEGIN CERTIFICATE-----/g)?.length, 2);
    assert.match(pem, /-----BEGIN PRIVATE KEY-----/);
    const leafKey = await run("openssl", [
      "pkey",
      "-in",
      join(outDir, "example.test.pem"),
      "-pubout",
    ]);
    const leafPub = await run("openssl", [
      "x509",
      "-in",
      join(outDir, "example.test.pem"),
      "-noout",
      "-pubkey",
    ]);
    assert.equal(leafKey.stdout, leafPub.stdout);
  });

  it("keeps a valid certificate", async () => {
    const before = await readFile(join(outDir, "example.test.pem"), "utf8");
    const cert = await ensureServerCertificate({ caDir, outDir, domain: "example.test" });
    assert.equal(cert.issued, false);
    assert.equal(await readFile(cert.pemPath, "utf8"), before);
  });

  it("reissues a certificate only once it expires within 30 days", async () => {
    const at = (days: number) => new Date(Date.now() + days * DAY_MS);
    const request = { caDir, outDir, domain: "example.test" };
    assert.equal((await ensureServerCertificate({ ...request, now: at(360) })).issued, false);
    assert.equal((await ensureServerCertificate({ ...request, now: at(370) })).issued, true);
  });

  it("reissues a damaged file", async () => {
    await writeFile(join(outDir, "example.test.pem"), "garbage", { mode: 0o600 });
    const cert = await ensureServerCertificate({ caDir, outDir, domain: "example.test" });
    assert.equal(cert.issued, true);
  });

  it("reissues when signed by another CA", async () => {
    const other = await ensureServerCertificate({
      caDir: join(dir, "other-ca"),
      outDir,
      domain: "example.test",
    });
    assert.equal(other.issued, true);
    const cert = await ensureServerCertificate({ caDir, outDir, domain: "example.test" });
    assert.equal(cert.issued, true);
  });

  it("issues per domain", async () => {
    const cert = await ensureServerCertificate({ caDir, outDir, domain: "other.test" });
    assert.equal(cert.issued, true);
    assert.match(await certText(cert.pemPath), /DNS:other\.test, DNS:\*\.other\.test/);
  });

  it("rejects names that are not domains", async () => {
    for (const domain of ["", "a b", "x\nDNS:evil.com", "*.wild.test", "UPPER.test", "-a.test"]) {
      await assert.rejects(ensureServerCertificate({ caDir, outDir, domain }), ValidationError);
    }
  });
});
