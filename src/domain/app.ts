import { ValidationError } from "./errors.ts";

/** An application: the unit users deploy, scale and route. */
export interface App {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
}

const APP_NAME = /^[a-z][a-z0-9-]{1,28}[a-z0-9]$/;
const RESERVED = new Set(["slipway", "api", "www", "admin", "git"]);

/**
 * App names become DNS labels (NAME.DOMAIN), container and network names, so they are
 * held to the strictest of those: 3-30 lowercase letters, digits and dashes, starting
 * with a letter, not ending with a dash.
 */
export function validateAppName(name: unknown): string {
  if (typeof name !== "string" || !APP_NAME.test(name) || name.includes("--")) {
    throw new ValidationError(
      "invalid app name: use 3-30 lowercase letters, digits and single dashes, starting with a letter",
      [`name: ${JSON.stringify(name)}`],
    );
  }
  if (RESERVED.has(name)) throw new ValidationError(`app name "${name}" is reserved`);
  return name;
}
