import type { FlagSpec } from "../args.ts";

/** The --app flag of every command that acts on one app. */
export const APP_FLAG = {
  type: "string",
  short: "a",
  placeholder: "NAME",
  required: true,
  description: "the app to act on",
} as const satisfies FlagSpec;

/** The API path of an app (names are validated lowercase DNS labels, but escape anyway). */
export function appPath(name: string, rest = ""): string {
  return `/v1/apps/${encodeURIComponent(name)}${rest}`;
}

/** A list answer of the API. */
export interface Items<T> {
  readonly items: T[];
}
