import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { chmod, link, mkdir, stat, unlink, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { newId } from "../store/ids.ts";
import type { Store, TokenRecord } from "../store/store.ts";

/** Every Slipway token starts with this, so leaked tokens are easy to recognise and scan for. */
export const TOKEN_PREFIX = "swt_";

const SECRET_BYTES = 32;
const TOKEN_PATTERN = /^swt_[A-Za-z0-9_-]{43}$/;

/** Where and how to reach the API; written next to the token so the CLI needs nothing else. */
export interface ApiInfo {
  /** https URL of the API for remote clients, when it is exposed. */
  readonly url: string | null;
  /** Unix socket of the API on this machine. */
  readonly socket: string | null;
  /** CA certificate (PEM file path) that signs the API's TLS certificate, for `url`. */
  readonly ca: string | null;
}

/** The credentials file: SLIPWAY_HOME/credentials.json or the CLI's login file. */
export interface Credentials extends ApiInfo {
  readonly token: string;
}

/** A new API token secret: the prefix and 256 random bits in base64url. */
export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(SECRET_BYTES).toString("base64url");
}

/** True when value has the shape of a token secret (checked before any store lookup). */
export function isTokenShaped(value: string): boolean {
  return TOKEN_PATTERN.test(value);
}

/**
 * The stored form of a token: sha256 in hex. A fast hash is enough because the secret has
 * 256 bits of entropy (a slow hash protects low-entropy passwords, not random tokens).
 */
export function hashToken(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** Compares two token hashes in time independent of where they differ. */
export function hashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, "utf8");
  const right = Buffer.from(b, "utf8");
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Looks a token secret up: hashed, found by hash, compared again in constant time. Unknown,
 * malformed and revoked tokens are all undefined, so callers answer every failure alike
 * (and the store never sees a secret).
 */
export async function findLiveToken(
  store: Pick<Store, "findTokenByHash">,
  secret: string,
): Promise<TokenRecord | undefined> {
  if (!isTokenShaped(secret)) return undefined;
  const hash = hashToken(secret);
  const token = await store.findTokenByHash(hash);
  if (token === undefined || !hashesEqual(token.hash, hash) || token.revokedAt !== null) {
    return undefined;
  }
  return token;
}

/**
 * Creates the admin token at install time. If credentialsPath does not exist yet, generates
 * a token, stores only its hash (scopes ["admin"]) and writes the credentials file with
 * mode 0600; otherwise leaves everything as it is (tightening the file's mode if it was
 * readable by others). The secret is never logged. Safe against a concurrent second call:
 * the file is linked into place atomically and the loser revokes its token.
 */
export async function ensureAdminToken(
  store: Store,
  credentialsPath: string,
  apiInfo: ApiInfo,
): Promise<{ created: boolean }> {
  if (await tightenIfPresent(credentialsPath)) return { created: false };

  await mkdir(dirname(credentialsPath), { recursive: true, mode: 0o700 });
  const token = generateToken();
  const credentials: Credentials = { token, ...apiInfo };
  const id = newId("tok");
  const staging = `${credentialsPath}.${id}.tmp`;
  await writeFile(staging, `${JSON.stringify(credentials, null, 2)}\n`, {
    mode: 0o600,
    flag: "wx",
  });
  try {
    // A distinct name per install, so a lost credentials file can be replaced by a new one.
    await store.createToken({
      id,
      name: `admin-${id.slice(-8)}`,
      hash: hashToken(token),
      scopes: ["admin"],
    });
    try {
      await link(staging, credentialsPath);
    } catch (error) {
      await store.revokeToken(id);
      if (isErrno(error, "EEXIST")) return { created: false };
      throw error;
    }
  } finally {
    await unlink(staging);
  }
  return { created: true };
}

/** True if the file exists; makes sure only its owner can read it. */
async function tightenIfPresent(path: string): Promise<boolean> {
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (error) {
    if (isErrno(error, "ENOENT")) return false;
    throw error;
  }
  if ((mode & 0o077) !== 0) await chmod(path, 0o600);
  return true;
}

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && "code" in error && error.code === code;
}
