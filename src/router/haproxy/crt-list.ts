import { ValidationError } from "../../domain/errors.ts";
import { writeFileAtomic } from "./haproxy-config.ts";

const PEM_PATH = /^\/[A-Za-z0-9._/+@-]+$/;

/**
 * Writes the crt-list HAProxy's TLS frontend loads: one combined PEM (certificate, chain,
 * key) per line; the first is served to clients that send no (or an unknown) SNI name.
 * HAProxy reads it on start and reload only.
 */
export async function writeCrtList(path: string, pemPaths: readonly string[]): Promise<void> {
  await writeFileAtomic(path, crtListText(pemPaths));
}

/**
 * The crt-list text for these combined PEM files, the first being the default; duplicates
 * are dropped. Throws ValidationError unless every path is a plain absolute path.
 */
export function crtListText(pemPaths: readonly string[]): string {
  const bad = pemPaths.filter((pem) => !PEM_PATH.test(pem));
  if (pemPaths.length === 0 || bad.length > 0) {
    throw new ValidationError(
      "a crt-list needs at least one plain absolute PEM path",
      bad.map((pem) => JSON.stringify(pem)),
    );
  }
  return [...new Set(pemPaths)].map((pem) => `${pem}\n`).join("");
}
