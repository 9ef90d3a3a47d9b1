import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
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

/** Reads and checks the credentials file; tells the user how to get one if it is missing. */
export async function readCredentials(options: CliOptions): Promise<Credentials> {
  const path = credentialsPath(options);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (isErrno(error, "ENOENT") && options.home === undefined) {
      // Not logged in anywhere: a local installation at the default home needs no login.
      const localPath = join(options.localHome, CREDENTIALS_FILE);
      const local = await readFile(localPath, "utf8").catch(() => undefined);
      if (local !== undefined) return parseCredentials(local, localPath);
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
  return parseCredentials(text, path);
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

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && "code" in error && error.code === code;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
