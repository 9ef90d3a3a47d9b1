import { ValidationError } from "./errors.ts";
import { validateProcessType } from "./procfile.ts";
import { sizeByName } from "./sizes.ts";

/** One HTTP health check of a process type (app.json `healthchecks`, Scalingo style). */
export interface HealthCheck {
  readonly type: "startup" | "liveness" | "readiness";
  /** Path requested on PORT, e.g. "/health". */
  readonly path: string;
  readonly timeoutSeconds: number;
  readonly intervalSeconds: number;
  readonly attempts: number;
}

/**
 * What Slipway takes from an app's `app.json` (Heroku/Scalingo format): formation defaults
 * (applied to process types that have no formation yet), a postdeploy script (run once,
 * after the app's first successful deploy) and health checks per process type (stored with
 * the release; the app controller's health checking reads `healthchecks`).
 */
export interface AppManifest {
  readonly formation: Readonly<
    Record<string, { readonly quantity: number; readonly size: string }>
  >;
  readonly postdeploy: string | null;
  readonly healthchecks: Readonly<Record<string, readonly HealthCheck[]>>;
}

/** The manifest of an app without app.json. */
export const EMPTY_MANIFEST: AppManifest = { formation: {}, postdeploy: null, healthchecks: {} };

const MAX_APP_JSON = 64 * 1024;

/**
 * Parses app.json text. Unknown top-level keys (name, description, env, addons, ...) are
 * ignored as Heroku does; the keys Slipway uses are checked strictly and every problem is
 * reported, so a malformed app.json fails the build with a clear message.
 */
export function parseAppJson(text: string): AppManifest {
  if (text.length > MAX_APP_JSON) throw malformed([`larger than ${MAX_APP_JSON} bytes`]);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw malformed([error instanceof Error ? error.message : String(error)]);
  }
  if (!isObject(doc)) throw malformed(["the document must be a JSON object"]);
  const problems: string[] = [];
  const formation = parseFormation(doc.formation, problems);
  const postdeploy = parsePostdeploy(doc.scripts, problems);
  const healthchecks = parseHealthchecks(doc.healthchecks, problems);
  if (problems.length > 0) throw malformed(problems);
  return { formation, postdeploy, healthchecks };
}

/** Checks a manifest read back from storage (same rules as app.json). */
export function manifestFromJson(value: unknown): AppManifest {
  return parseAppJson(
    JSON.stringify(
      isObject(value)
        ? {
            formation: value.formation,
            scripts: value.postdeploy == null ? {} : { postdeploy: value.postdeploy },
            healthchecks: storedChecks(value.healthchecks),
          }
        : value,
    ),
  );
}

/** Stored checks (timeoutSeconds, ...) back in app.json's words (timeout, ...). */
function storedChecks(value: unknown): unknown {
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value).map(([type, list]) => [
      type,
      Array.isArray(list)
        ? (list as unknown[]).map((c) =>
            isObject(c)
              ? {
                  type: c.type,
                  path: c.path,
                  timeout: c.timeoutSeconds,
                  interval: c.intervalSeconds,
                  attempts: c.attempts,
                }
              : c,
          )
        : list,
    ]),
  );
}

function parseFormation(value: unknown, problems: string[]): AppManifest["formation"] {
  if (value === undefined) return {};
  if (!isObject(value)) {
    problems.push("formation: must be an object of process types");
    return {};
  }
  const out: Record<string, { quantity: number; size: string }> = {};
  for (const [type, entry] of Object.entries(value)) {
    const where = `formation.${type}`;
    if (!validType(type, where, problems)) continue;
    if (!isObject(entry)) {
      problems.push(`${where}: must be an object like {"quantity": 1, "size": "S"}`);
      continue;
    }
    const quantity = entry.quantity ?? 1;
    if (
      typeof quantity !== "number" ||
      !Number.isInteger(quantity) ||
      quantity < 0 ||
      quantity > 100
    ) {
      problems.push(`${where}.quantity: must be a whole number from 0 to 100`);
      continue;
    }
    let size = "S";
    if (entry.size !== undefined) {
      try {
        if (typeof entry.size !== "string") throw new ValidationError("must be a string");
        size = sizeByName(entry.size).name;
      } catch (error) {
        problems.push(`${where}.size: ${error instanceof Error ? error.message : String(error)}`);
        continue;
      }
    }
    out[type] = { quantity, size };
  }
  return out;
}

function parsePostdeploy(value: unknown, problems: string[]): string | null {
  if (value === undefined) return null;
  if (!isObject(value)) {
    problems.push("scripts: must be an object");
    return null;
  }
  const script = value.postdeploy;
  if (script === undefined) return null;
  if (typeof script === "string" && script.trim() !== "" && script.length <= 4096) return script;
  // Heroku also accepts {"command": "...", "size": "..."}.
  if (isObject(script) && typeof script.command === "string" && script.command.trim() !== "")
    return script.command;
  problems.push("scripts.postdeploy: must be a non-empty command (at most 4096 characters)");
  return null;
}

function parseHealthchecks(value: unknown, problems: string[]): AppManifest["healthchecks"] {
  if (value === undefined) return {};
  if (!isObject(value)) {
    problems.push("healthchecks: must be an object of process types");
    return {};
  }
  const out: Record<string, HealthCheck[]> = {};
  for (const [type, list] of Object.entries(value)) {
    const where = `healthchecks.${type}`;
    if (!validType(type, where, problems)) continue;
    const items = Array.isArray(list) ? (list as unknown[]) : [list];
    const checks: HealthCheck[] = [];
    items.forEach((item, index) => {
      const check = parseCheck(item, `${where}[${String(index)}]`, problems);
      if (check !== undefined) checks.push(check);
    });
    out[type] = checks;
  }
  return out;
}

const CHECK_TYPES = ["startup", "liveness", "readiness"] as const;

function parseCheck(item: unknown, where: string, problems: string[]): HealthCheck | undefined {
  if (!isObject(item)) {
    problems.push(`${where}: must be an object like {"type": "startup", "path": "/health"}`);
    return undefined;
  }
  const type = CHECK_TYPES.find((t) => t === (item.type ?? "startup"));
  const path = item.path;
  const number = (key: string, fallback: number, max: number): number | undefined => {
    const v = item[key] ?? fallback;
    if (typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= max) return v;
    problems.push(`${where}.${key}: must be a whole number from 1 to ${String(max)}`);
    return undefined;
  };
  const timeoutSeconds = number("timeout", 5, 300);
  const intervalSeconds = number("interval", 10, 3600);
  const attempts = number("attempts", 3, 100);
  if (type === undefined) {
    problems.push(`${where}.type: must be one of ${CHECK_TYPES.join(", ")}`);
    return undefined;
  }
  if (typeof path !== "string" || !/^\/[\x21-\x7e]{0,1023}$/.test(path)) {
    problems.push(`${where}.path: must be an absolute URL path like "/health"`);
    return undefined;
  }
  if (timeoutSeconds === undefined || intervalSeconds === undefined || attempts === undefined)
    return undefined;
  return { type, path, timeoutSeconds, intervalSeconds, attempts };
}

function validType(type: string, where: string, problems: string[]): boolean {
  try {
    validateProcessType(type);
    return true;
  } catch {
    problems.push(`${where}: invalid process type name`);
    return false;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function malformed(problems: readonly string[]): ValidationError {
  return new ValidationError(`malformed app.json: ${problems[0] ?? ""}`, problems);
}
