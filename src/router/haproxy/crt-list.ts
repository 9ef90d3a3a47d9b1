import { ValidationError } from "../../domain/errors.ts";
import { writeFileAtomic } from "./haproxy-config.ts";

const PEM_PATH = /^\/[A-Za-z0-9._/+@-]+$/;

/**
 * Writes the crt-list HAProxy's TLS frontend loads: one combined PEM (certificate, chain,
 * key) per line; the first is served to clients that send no (or an unknown) SNI name.
 * HAProxy reads it on start and reload only.
 */
export async function writeCrtList(path: string, pemPaths: readonly string[]): Promise<void> {
  const bad = pemPaths.filter((pem) => !PEM_PATH.test(pem));
  if (pemPaths.length === 0 || bad.length > 0) {
    throw new ValidationError(
      "a crt-list needs at least one plain absolute PEM path",
      bad.map((pem) => JSON.stringify(pem)),
    );
  }
  await writeFileAtomic(path, pemPaths.map((pem) => `${pem}\n`).join(""));
}
