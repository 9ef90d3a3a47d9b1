import { createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import { ValidationError } from "../../domain/errors.ts";

/** A certificate that passed {@link checkCertificate}, ready to install. */
export interface CheckedCertificate {
  /** Leaf, chain and private key (PKCS#8) in one PEM, as HAProxy's crt-list loads it. */
  readonly combinedPem: string;
  readonly notAfter: Date;
  /** The DNS names the leaf covers (subjectAltName), for messages. */
  readonly names: readonly string[];
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Validates an uploaded certificate for a domain and returns what to install. Refuses,
 * with the reason: malformed PEM, a key that is not the certificate's, a chain whose links
 * do not sign each other, a leaf that does not name the domain (wildcards count, one label
 * deep), and a certificate outside its validity period.
 */
export function checkCertificate(input: {
  readonly certPem: string;
  readonly keyPem: string;
  readonly hostname: string;
  readonly now?: Date;
}): CheckedCertificate {
  const blocks = input.certPem.match(CERT_BLOCK) ?? [];
  if (blocks.length === 0) throw refuse("the certificate file holds no PEM CERTIFICATE block");
  const chain = blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw refuse(`certificate #${String(index + 1)} in the file is malformed`, error);
    }
  });
  const leaf = chain[0];
  if (leaf === undefined) throw refuse("the certificate file holds no certificate");
  const key = parseKey(input.keyPem);
  if (!leaf.checkPrivateKey(key)) {
    throw refuse("the private key does not belong to the certificate");
  }
  for (let i = 0; i + 1 < chain.length; i++) {
    const child = chain[i];
    const parent = chain[i + 1];
    if (child === undefined || parent === undefined) continue;
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey)) {
      throw refuse(
        `the chain is broken: certificate #${String(i + 2)} (${parent.subject.replace(/\n/g, ", ")}) did not issue #${String(i + 1)}`,
      );
    }
  }
  const names = dnsNames(leaf);
  if (leaf.checkHost(input.hostname, { subject: "default" }) === undefined) {
    throw refuse(
      `the certificate does not cover ${input.hostname} (it names: ${names.join(", ") || "nothing"})`,
    );
  }
  const now = input.now ?? new Date();
  const notAfter = new Date(leaf.validTo);
  if (notAfter.getTime() <= now.getTime()) {
    throw refuse(`the certificate expired on ${notAfter.toISOString()}`);
  }
  const notBefore = new Date(leaf.validFrom);
  if (notBefore.getTime() > now.getTime()) {
    throw refuse(`the certificate is not valid before ${notBefore.toISOString()}`);
  }
  const keyText = key.export({ format: "pem", type: "pkcs8" }).toString();
  return {
    combinedPem: [...chain.map((c) => c.toString().trim()), keyText.trim()].join("\n") + "\n",
    notAfter,
    names,
  };
}

/** The subjectAltName DNS entries of a certificate. */
export function dnsNames(certificate: X509Certificate): string[] {
  return (certificate.subjectAltName ?? "")
    .split(", ")
    .filter((entry) => entry.startsWith("DNS:"))
    .map((entry) => entry.slice(4));
}

function parseKey(pem: string): KeyObject {
  if (!/-----BEGIN (RSA |EC )?PRIVATE KEY-----/.test(pem)) {
    throw refuse(
      /ENCRYPTED PRIVATE KEY/.test(pem)
        ? "the private key is encrypted; upload it without a passphrase"
        : "the key file holds no PEM PRIVATE KEY block",
    );
  }
  try {
    return createPrivateKey(pem);
  } catch (error) {
    throw refuse("the private key is malformed", error);
  }
}

function refuse(reason: string, cause?: unknown): ValidationError {
  return new ValidationError(`certificate refused: ${reason}`, [], { cause });
}
