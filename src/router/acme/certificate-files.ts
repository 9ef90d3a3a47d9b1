import { mkdir, open, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { validateHostname } from "../../domain/domain-name.ts";

/**
 * Where installed domain certificates live: one combined PEM per domain under
 * SLIPWAY_HOME/certs/domains, mode 0600 in a 0700 directory (they hold private keys).
 * File names are validated host names, so they are plain paths HAProxy can load.
 */
export class CertificateFiles {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** The combined PEM path of a domain (whether or not it exists yet). */
  path(hostname: string): string {
    return join(this.#dir, `${validateHostname(hostname)}.pem`);
  }

  /** The ACME account key file. */
  get accountKeyPath(): string {
    return join(this.#dir, "acme-account.key");
  }

  /** Writes a domain's combined PEM atomically with mode 0600. */
  async write(hostname: string, combinedPem: string): Promise<void> {
    await writePrivate(this.#dir, this.path(hostname), combinedPem);
  }

  async remove(hostname: string): Promise<void> {
    await rm(this.path(hostname), { force: true });
  }

  async ensureDir(): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
  }
}

/** Writes a secret file atomically: created 0600 under a temporary name, then renamed. */
export async function writePrivate(dir: string, path: string, text: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temporary = `${path}.${String(process.pid)}.${String(Date.now())}.tmp`;
  const handle = await open(temporary, "wx", 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
}
