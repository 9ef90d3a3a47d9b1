import { ValidationError } from "../../domain/errors.ts";

/**
 * Image configuration as Dockerfile-style `changes` (the `changes` query parameter of
 * POST /images/create?fromSrc and POST /commit). Podman's compat commit ignores a JSON
 * config body, so these strings are the one way that works on both engines. Pure.
 *
 * One LABEL/ENV per change, value in double quotes: both engines split on the first "="
 * and strip one pair of surrounding quotes, so any value (spaces, "=", inner quotes)
 * arrives unchanged. Newlines cannot be expressed and are refused.
 */
export interface ImageConfigChanges {
  readonly labels: Readonly<Record<string, string>>;
  readonly env?: readonly string[];
  readonly cmd?: readonly string[];
  readonly entrypoint?: readonly string[];
  readonly workingDir?: string;
  readonly user?: string;
}

const KEY = /^[^\s="]+$/;

/** Renders the changes; throws ValidationError for keys or values that cannot be encoded. */
export function imageChanges(config: ImageConfigChanges): string[] {
  const problems: string[] = [];
  const changes: string[] = [];
  const value = (what: string, text: string): string => {
    if (/[\r\n\0]/.test(text)) problems.push(`${what} must not contain line breaks`);
    return text;
  };
  for (const [key, text] of Object.entries(config.labels)) {
    if (!KEY.test(key)) problems.push(`label key "${key}" is not valid`);
    changes.push(`LABEL ${key}="${value(`label ${key}`, text)}"`);
  }
  for (const entry of config.env ?? []) {
    const eq = entry.indexOf("=");
    const key = eq < 0 ? entry : entry.slice(0, eq);
    if (eq < 1 || !KEY.test(key)) problems.push(`environment entry "${key}" must be NAME=value`);
    changes.push(`ENV ${key}="${value(`environment variable ${key}`, entry.slice(eq + 1))}"`);
  }
  if (config.entrypoint !== undefined)
    changes.push(`ENTRYPOINT ${JSON.stringify(config.entrypoint)}`);
  if (config.cmd !== undefined) changes.push(`CMD ${JSON.stringify(config.cmd)}`);
  if (config.workingDir !== undefined) {
    if (!config.workingDir.startsWith("/")) problems.push("workingDir must be an absolute path");
    changes.push(`WORKDIR ${value("workingDir", config.workingDir)}`);
  }
  if (config.user !== undefined) {
    if (!/^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$/.test(config.user)) {
      problems.push(`user "${config.user}" must be NAME, UID or UID:GID`);
    }
    changes.push(`USER ${config.user}`);
  }
  if (problems.length > 0)
    throw new ValidationError("image configuration cannot be applied", problems);
  return changes;
}
