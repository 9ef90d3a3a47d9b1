import { ValidationError } from "./errors.ts";

/** An app's config vars: name to value, handed to its containers and builds. */
export type ConfigVars = Readonly<Record<string, string>>;

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;
/** Largest value of one var, and of all of them together (they travel in container env). */
export const MAX_VALUE_BYTES = 32 * 1024;
export const MAX_TOTAL_BYTES = 256 * 1024;

/**
 * Names the platform sets itself: PORT is where the router connects, SLIPWAY_* describe the
 * release. Letting an app override them would break routing or lie to the process.
 */
function isReserved(name: string): boolean {
  return name === "PORT" || name.toUpperCase().startsWith("SLIPWAY_");
}

/** Throws ValidationError unless name is a settable config var name. */
export function validateConfigVarName(name: string): string {
  if (!NAME.test(name)) {
    throw new ValidationError(
      `invalid config var name "${name}": use letters, digits and "_", not starting with a digit`,
    );
  }
  if (isReserved(name)) {
    throw new ValidationError(`config var ${name} is set by Slipway and cannot be changed`);
  }
  return name;
}

/**
 * Parses `K=V` arguments (the value may contain "="; an empty value is allowed). Every bad
 * argument is reported; values are never echoed in errors, only names.
 */
export function parseAssignments(args: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const problems: string[] = [];
  for (const arg of args) {
    const eq = arg.indexOf("=");
    if (eq <= 0) {
      problems.push(`expected NAME=VALUE, got an argument without "=" or without a name`);
      continue;
    }
    const name = arg.slice(0, eq);
    try {
      validateConfigVarName(name);
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
      continue;
    }
    out[name] = arg.slice(eq + 1);
  }
  if (problems.length > 0) throw new ValidationError(problems[0] ?? "invalid", problems);
  return out;
}

/**
 * Applies a change (set and unset) to vars and checks the result: names valid, values
 * without NUL (they become environment strings), sizes within limits.
 */
export function applyConfigChange(
  current: ConfigVars,
  set: Readonly<Record<string, string>>,
  unset: readonly string[],
): Record<string, string> {
  const removed = new Set(unset.map(validateConfigVarName));
  const next: Record<string, string> = Object.fromEntries(
    Object.entries(current).filter(([name]) => !removed.has(name)),
  );
  for (const [name, value] of Object.entries(set)) {
    validateConfigVarName(name);
    if (value.includes("\0")) throw new ValidationError(`config var ${name} contains a NUL byte`);
    if (Buffer.byteLength(value) > MAX_VALUE_BYTES) {
      throw new ValidationError(`config var ${name} is longer than ${MAX_VALUE_BYTES} bytes`);
    }
    next[name] = value;
  }
  const total = Object.entries(next).reduce(
    (sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(v),
    0,
  );
  if (total > MAX_TOTAL_BYTES) {
    throw new ValidationError(`config vars would exceed ${MAX_TOTAL_BYTES} bytes in total`);
  }
  return next;
}
