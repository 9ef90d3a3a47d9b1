import { ValidationError } from "../../domain/errors.ts";

/** Names the driver gives networks and volumes (the engines' own rule). */
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** A path inside a container for the archive calls: absolute, no NUL. */
export function absolute(path: string): string {
  if (!path.startsWith("/") || path.includes("\0")) {
    throw new ValidationError(`archive path "${path}" must be absolute`);
  }
  return path;
}

/** A network or volume name the engines accept. */
export function checkName(kind: string, name: string): string {
  if (!NAME.test(name)) {
    throw new ValidationError(`${kind} name "${name}" must match ${NAME.source}`);
  }
  return name;
}
