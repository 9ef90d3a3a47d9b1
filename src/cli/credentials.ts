import { chmod, mkdir, readFile, rename, rm, unlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Credentials } from "../security/tokens.ts";
import { CredentialsError } from "./errors.ts";
import type { CliOptions } from "./options.ts";

/** File name of credentials, in SLIPWAY_HOME and in the login directory alike. */
export const CREDENTIALS_FILE = "credentials.json";

/**
 * Where the credentials come from: the installation's own file when a home is chosen
 * (--home or SLIPWAY_HOME), else the file `slipway login` wrote.
 */
export function credentialsPath(options: CliOptions): string {
  return join(options.home ?? options.configDir, CREDENTIALS_FILE);
}

/**
 * Name of the copy of the token in git's credential-store format, next to a credentials
 * file (see writeGitCredentials).
 */
export const GIT_CREDENTIALS_FILE = "git-credentials";
/** The empty directory git's sslCAPath names (emptyCaPath). */
export const GIT_CA_PATH_DIR = "git-capath";

/** Credentials and the file they were read from. */
export interface LocatedCredentials {
  readonly credentials: Credentials;
  /** The file read: credentialsPath(options), or the local installation's when not logged in. */
  readonly path: string;
  /** True when path is the local installation's, read because the login file is missing. */
  readonly fallback: boolean;
}

/** Reads and checks the credentials file; tells the user how to get one if it is missing. */
export async function readCredentials(options: CliOptions): Promise<Credentials> {
  return (await locateCredentials(options)).credentials;
}

/** readCredentials, also saying which file the credentials came from. */
export async function locateCredentials(options: CliOptions): Promise<LocatedCredentials> {
  const path = credentialsPath(options);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (isErrno(error, "ENOENT") && options.home === undefined) {
      // Not logged in anywhere: a local installation at the default home needs no login.
      const localPath = join(options.localHome, CREDENTIALS_FILE);
      const local = await readFile(localPath, "utf8").catch(() => undefined);
      if (local !== undefined) {
        return {
          credentials: parseCredentials(local, localPath),
          path: localPath,
          fallback: true,
        };
      }
    }
    if (isErrno(error, "ENOENT")) {
      throw new CredentialsError(
        options.home === undefined
          ? "not logged in: run `slipway login URL --token TOKEN`, or pass --home / set SLIPWAY_HOME"
          : `no credentials at ${path}: is Slipway installed in ${options.home}?`,
      );
    }
    throw new CredentialsError(`cannot read ${path}: ${messageOf(error)}`, { cause: error });
  }
  return { credentials: parseCredentials(text, path), path, fallback: false };
}

/** Checks that text is a credentials document: a token and a socket or a URL. */
export function parseCredentials(text: string, path: string): Credentials {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CredentialsError(`${path} is not valid JSON: ${messageOf(error)}`, { cause: error });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new CredentialsError(`${path} must hold a JSON object`);
  }
  const field = (name: string): string | null => {
    const item: unknown = (value as Record<string, unknown>)[name];
    if (item === undefined || item === null) return null;
    if (typeof item !== "string") throw new CredentialsError(`${path}: ${name} must be a string`);
    return item;
  };
  const token = field("token");
  if (token === null || token === "") throw new CredentialsError(`${path} has no token`);
  const credentials: Credentials = {
    token,
    url: field("url"),
    socket: field("socket"),
    ca: field("ca"),
  };
  if (credentials.socket === null && credentials.url === null) {
    throw new CredentialsError(`${path} names neither a socket nor a url of the API`);
  }
  return credentials;
}

/**
 * Saves login credentials, readable by the user only (directory 0700, file 0600), replacing
 * any previous login atomically. Returns the path written.
 */
export async function writeLoginCredentials(
  configDir: string,
  credentials: Credentials,
): Promise<string> {
  await mkdir(configDir, { recursive: true, mode: 0o700 });
  const path = join(configDir, CREDENTIALS_FILE);
  const staging = `${path}.${process.pid}.tmp`;
  await writeFile(staging, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  // writeFile's mode only applies to new files; a stale staging file keeps its own.
  await chmod(staging, 0o600);
  await rename(staging, path);
  return path;
}

/**
 * Writes the token, for the API's https URL only, in git's credential-store format
 * (`https://slipway:TOKEN@HOST:PORT`) to GIT_CREDENTIALS_FILE next to the credentials file
 * it came from, readable by the user only. `git credential-store` answers from it without
 * starting Node.js; the helper `slipway git:remote` configures uses it only while it is
 * newer than the credentials file, so a new login or token is never shadowed by it.
 * Returns the path, or null when there is no URL or the directory cannot be written (the
 * helper then asks the CLI every time, as it would anyway).
 */
export async function writeGitCredentials(
  credentialsFile: string,
  credentials: Credentials,
): Promise<string | null> {
  if (credentials.url === null) return null;
  const url = new URL(credentials.url);
  if (url.protocol !== "https:") return null;
  const path = join(dirname(credentialsFile), GIT_CREDENTIALS_FILE);
  const line = `https://slipway:${encodeURIComponent(credentials.token)}@${url.host}\n`;
  const staging = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(staging, line, { mode: 0o600 });
    await chmod(staging, 0o600);
    await rename(staging, path);
    return path;
  } catch {
    await unlink(staging).catch(() => undefined);
    return null;
  }
}

/**
 * An empty directory next to the credentials file (GIT_CA_PATH_DIR), for git's
 * `http.<url>.sslCAPath`: with the installation's CA as `sslCAInfo`, git then trusts that
 * CA alone. Without it, git built on GnuTLS (Debian's) also reads every certificate of
 * /etc/ssl/certs at each connection: about 400, 0.02 s. Null when it cannot be made.
 */
export async function emptyCaPath(credentialsFile: string): Promise<string | null> {
  const path = join(dirname(credentialsFile), GIT_CA_PATH_DIR);
  try {
    await mkdir(path, { recursive: true, mode: 0o700 });
    return path;
  } catch {
    return null;
  }
}

/**
 * Forgets a login: removes the credentials file `slipway login` wrote in configDir and the
 * copies `slipway git:remote` made next to it (GIT_CREDENTIALS_FILE, GIT_CA_PATH_DIR).
 * Returns the paths that existed and are gone; none when there was no login.
 */
export async function removeLoginCredentials(configDir: string): Promise<string[]> {
  const removed: string[] = [];
  // The credentials last: a copy left by a failure is then still next to a login.
  for (const name of [GIT_CREDENTIALS_FILE, GIT_CA_PATH_DIR, CREDENTIALS_FILE]) {
    const path = join(configDir, name);
    try {
      await rm(path, { recursive: name === GIT_CA_PATH_DIR });
      removed.push(path);
    } catch (error) {
      if (!isErrno(error, "ENOENT")) {
        throw new CredentialsError(`cannot remove ${path}: ${messageOf(error)}`, { cause: error });
      }
    }
  }
  return removed;
}

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && "code" in error && error.code === code;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
