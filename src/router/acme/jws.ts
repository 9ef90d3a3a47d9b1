import {
  createHash,
  generateKeyPairSync,
  sign,
  type JsonWebKey,
  type KeyObject,
} from "node:crypto";

/** base64url without padding (RFC 7515 §2). */
export function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString("base64url");
}

/** A new P-256 key for ES256 (ACME account keys and certificate keys). */
export function newEcKey(): KeyObject {
  return generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
}

/** The public JWK of an EC key, with only the members RFC 7638 hashes. */
export function publicJwk(key: KeyObject): Readonly<Record<"crv" | "kty" | "x" | "y", string>> {
  const jwk: JsonWebKey = key.export({ format: "jwk" });
  return { crv: jwk.crv ?? "", kty: jwk.kty ?? "", x: jwk.x ?? "", y: jwk.y ?? "" };
}

/** RFC 7638 thumbprint: sha256 over the required members in lexicographic order. */
export function jwkThumbprint(key: KeyObject): string {
  const jwk = publicJwk(key);
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return b64url(createHash("sha256").update(canonical).digest());
}

/**
 * A flattened JWS (RFC 7515 §7.2.2) signed with ES256, as ACME requires (RFC 8555 §6.2).
 * `payload` null means POST-as-GET (empty payload). The header carries either the public
 * key (new account) or the account URL (`kid`).
 */
export function signJws(input: {
  readonly key: KeyObject;
  readonly url: string;
  readonly nonce: string;
  readonly kid: string | null;
  readonly payload: unknown;
}): string {
  const header = {
    alg: "ES256",
    nonce: input.nonce,
    url: input.url,
    ...(input.kid === null ? { jwk: publicJwk(input.key) } : { kid: input.kid }),
  };
  const protectedB64 = b64url(JSON.stringify(header));
  const payloadB64 = input.payload === null ? "" : b64url(JSON.stringify(input.payload));
  const signature = sign("sha256", Buffer.from(`${protectedB64}.${payloadB64}`), {
    key: input.key,
    // JWS wants r||s, not DER.
    dsaEncoding: "ieee-p1363",
  });
  return JSON.stringify({
    protected: protectedB64,
    payload: payloadB64,
    signature: b64url(signature),
  });
}
