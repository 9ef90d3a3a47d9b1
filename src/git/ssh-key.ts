import { createHash } from "node:crypto";
import { ValidationError } from "../domain/errors.ts";

/** Key types accepted for git over SSH (DSA and short RSA keys are refused). */
const KEY_TYPES = new Set([
  "ssh-ed25519",
  "ssh-rsa",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
]);

/** RSA keys shorter than this are refused. */
export const MIN_RSA_BITS = 2048;

/** A checked OpenSSH public key. */
export interface ParsedSshKey {
  readonly type: string;
  /** "TYPE BASE64": what goes into an authorized_keys line. */
  readonly publicKey: string;
  /** The comment after the key, or "" when there is none. */
  readonly comment: string;
  /** "SHA256:..." exactly as `ssh-keygen -lf` prints it. */
  readonly fingerprint: string;
}

/**
 * Parses one public key in OpenSSH format ("TYPE BASE64 [COMMENT]", as in id_ed25519.pub).
 * Checks that the base64 is the key blob of the named type and that an RSA modulus has at
 * least 2048 bits; refuses options, private keys and anything else with ValidationError.
 */
export function parseSshPublicKey(text: string): ParsedSshKey {
  const lines = text.split("\n").filter((line) => line.trim() !== "" && !line.startsWith("#"));
  if (lines.length !== 1 || lines[0] === undefined) {
    throw new ValidationError(
      text.includes("PRIVATE KEY")
        ? "that is a private key: give the public key (the .pub file)"
        : "expected exactly one public key line (TYPE BASE64 [COMMENT])",
    );
  }
  const [type = "", data = "", ...rest] = lines[0].trim().split(/\s+/);
  if (!KEY_TYPES.has(type)) {
    throw new ValidationError(
      `unsupported key type "${type}": use ${[...KEY_TYPES].slice(0, 3).join(", ")}, ...`,
    );
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data)) throw new ValidationError("the key is not base64");
  const blob = Buffer.from(data, "base64");
  const fields = readSshStrings(blob);
  if (fields?.[0]?.toString("latin1") !== type) {
    throw new ValidationError(`the key data is not a ${type} key`);
  }
  if (type === "ssh-rsa") {
    const modulus = fields[2];
    if (modulus === undefined) throw new ValidationError("the RSA key has no modulus");
    const bits = bitLength(modulus);
    if (bits < MIN_RSA_BITS) {
      throw new ValidationError(
        `RSA keys need at least ${String(MIN_RSA_BITS)} bits (this one has ${String(bits)})`,
      );
    }
  }
  const comment = rest.join(" ").replaceAll(/[^\x20-\x7e]/g, "");
  return {
    type,
    publicKey: `${type} ${blob.toString("base64")}`,
    comment,
    fingerprint: `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`,
  };
}

/** Splits an SSH wire blob into its length-prefixed strings; undefined if malformed. */
function readSshStrings(blob: Buffer): Buffer[] | undefined {
  const out: Buffer[] = [];
  let at = 0;
  while (at < blob.length) {
    if (at + 4 > blob.length) return undefined;
    const length = blob.readUInt32BE(at);
    at += 4;
    if (at + length > blob.length) return undefined;
    out.push(blob.subarray(at, at + length));
    at += length;
  }
  return out.length === 0 ? undefined : out;
}

function bitLength(mpint: Buffer): number {
  let at = 0;
  while (at < mpint.length && mpint[at] === 0) at++;
  const first = mpint[at];
  if (first === undefined) return 0;
  return (mpint.length - at - 1) * 8 + first.toString(2).length;
}
