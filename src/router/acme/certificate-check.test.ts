import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { describe, it } from "node:test";
import { ValidationError } from "../../domain/errors.ts";
import { checkCertificate } from "./certificate-check.ts";
import { makeTestCertificates } from "./test-certs.ts";

const certs = makeTestCertificates();
const leaf = certs.leaf(["www.example.com", "example.com"]);
const wildcard = certs.leaf(["*.example.org"]);
const chain = leaf.cert + certs.intermediate.cert;

function refused(input: Parameters<typeof checkCertificate>[0], reason: RegExp): void {
  assert.throws(
    () => checkCertificate(input),
    (error: unknown) => error instanceof ValidationError && reason.test(error.message),
  );
}

describe("checkCertificate", () => {
  it("accepts a leaf with its chain and key, and combines them for HAProxy", () => {
    const checked = checkCertificate({ certPem: chain, keyPem: leaf.key, hostname: "example.com" });
    assert.deepEqual(checked.names, ["www.example.com", "example.com"]);
    assert.equal(checked.combinedPem.match(/BEGIN CERTIFICATE/g)?.length, 2);
    assert.match(checked.combinedPem, /BEGIN PRIVATE KEY/);
    assert.ok(checked.notAfter.getTime() > Date.now());
    assert.equal(new X509Certificate(checked.combinedPem).subject, "CN=www.example.com");
  });

  it("lets a wildcard cover one level of subdomains, not the apex nor two levels", () => {
    const input = { certPem: wildcard.cert, keyPem: wildcard.key };
    checkCertificate({ ...input, hostname: "shop.example.org" });
    refused({ ...input, hostname: "example.org" }, /does not cover example\.org/);
    refused({ ...input, hostname: "a.b.example.org" }, /does not cover/);
  });

  it("refuses a key that is not the certificate's", () => {
    refused({ certPem: chain, keyPem: wildcard.key, hostname: "example.com" }, /does not belong/);
  });

  it("refuses a broken chain", () => {
    const other = certs.selfSigned("ca.test");
    refused(
      { certPem: leaf.cert + other.cert, keyPem: leaf.key, hostname: "example.com" },
      /chain is broken/,
    );
  });

  it("refuses a host the certificate does not name", () => {
    refused({ certPem: chain, keyPem: leaf.key, hostname: "evil.com" }, /does not cover evil\.com/);
  });

  it("refuses an expired certificate and one not valid yet", () => {
    const later = new Date(Date.now() + 10 * 86_400_000);
    refused(
      { certPem: chain, keyPem: leaf.key, hostname: "example.com", now: later },
      /expired on/,
    );
    const earlier = new Date(Date.now() - 10 * 86_400_000);
    refused(
      { certPem: chain, keyPem: leaf.key, hostname: "example.com", now: earlier },
      /not valid before/,
    );
  });

  it("refuses malformed PEM with the reason", () => {
    refused({ certPem: "hello", keyPem: leaf.key, hostname: "example.com" }, /no PEM CERTIFICATE/);
    refused(
      {
        certPem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        keyPem: leaf.key,
        hostname: "example.com",
      },
      /malformed/,
    );
    refused({ certPem: chain, keyPem: "nope", hostname: "example.com" }, /no PEM PRIVATE KEY/);
    refused(
      {
        certPem: chain,
        keyPem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        hostname: "example.com",
      },
      /key is malformed/,
    );
    refused(
      {
        certPem: chain,
        keyPem:
          "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
        hostname: "example.com",
      },
      /encrypted/,
    );
  });
});
