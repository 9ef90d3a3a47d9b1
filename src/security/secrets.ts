import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { open, readFile, stat } from "node:fs/promises";
import { DriverError } from "../domain/errors.ts";

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const FORMAT = "v1";

/**
 * Seals and opens small secrets (an app's config vars) with AES-256-GCM. Each sealed value
 * has its own random 96-bit IV; the context (the app id) is authenticated as additional
 * data, so a value sealed for one app cannot be replayed into another's row. Opening a
 * tampered value, a value sealed with another key or for another context throws.
 */
export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== KEY_BYTES) throw new TypeError(`a secret key has ${KEY_BYTES} bytes`);
    this.#key = Buffer.from(key);
  }

  /** "v1:" + base64(iv | tag | ciphertext). */
  seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.#key, iv);
    cipher.setAAD(Buffer.from(context, "utf8"));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return `${FORMAT}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64")}`;
  }

  open(sealed: string, context: string): string {
    const [format, data] = sealed.split(":", 2);
    const raw = Buffer.from(data ?? "", "base64");
    if (format !== FORMAT || raw.length < IV_BYTES + TAG_BYTES) {
      throw new DriverError("secrets", "a sealed secret is malformed");
    }
    const decipher = createDecipheriv("aes-256-gcm", this.#key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(context, "utf8"));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    try {
      return Buffer.concat([
        decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)),
        decipher.final(),
      ]).toString("utf8");
    } catch (error) {
      // Never include the data: it is a secret, and the cause says enough.
      throw new DriverError(
        "secrets",
        "a sealed secret failed authentication (tampered, or sealed with another key)",
        { cause: error },
      );
    }
  }

  /** Seals a JSON value (config vars). */
  sealJson(value: unknown, context: string): string {
    return this.seal(JSON.stringify(value), context);
  }

  /** Opens a sealed string record (config vars); throws unless it is one. */
  openRecord(sealed: string, context: string): Record<string, string> {
    const value: unknown = JSON.parse(this.open(sealed, context));
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new DriverError("secrets", "a sealed record is not an object");
    }
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(value)) {
      if (typeof v !== "string") throw new DriverError("secrets", "a sealed record is not strings");
      out[k] = v;
    }
    return out;
  }
}

/**
 * The installation's secret key at path: created (32 random bytes, mode 0600, exclusively,
 * so two daemons starting at once cannot write different keys) when missing. A key file
 * other users can read is refused: whoever reads it reads every app's config.
 */
export async function loadSecretKey(path: string): Promise<SecretBox> {
  try {
    const handle = await open(path, "wx", 0o600);
    try {
      await handle.writeFile(randomBytes(KEY_BYTES));
    } finally {
      await handle.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  const info = await stat(path);
  if ((info.mode & 0o077) !== 0) {
    throw new DriverError(
      "secrets",
      `${path} is readable by other users (mode ${(info.mode & 0o777).toString(8)}); chmod 600 it`,
    );
  }
  const key = await readFile(path);
  if (key.length !== KEY_BYTES) {
    throw new DriverError("secrets", `${path} must hold ${KEY_BYTES} bytes, not ${key.length}`);
  }
  return new SecretBox(key);
}
