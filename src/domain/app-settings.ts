import { ValidationError } from "./errors.ts";

/** Keys of the per-app runtime settings kept by the store (Store.getAppSettings). */
export const SETTING = {
  /** HTTP path checked for readiness instead of a TCP connect ("/health"). */
  healthcheckPath: "healthcheck.path",
  /** Seconds a new release may take to pass its checks before it fails. */
  bootTimeout: "boot-timeout",
  /** Seconds between SIGTERM and SIGKILL when a container is stopped. */
  stopGrace: "stop-grace",
  /** Largest quantity `slipway scale` accepts for one process type. */
  maxQuantity: "max-quantity",
  /** Prefix of the restart marks: "restart.web", "restart.*" (ISO time of the request). */
  restartPrefix: "restart.",
} as const;

/** Runtime defaults, overridable per app. */
export interface RuntimeDefaults {
  readonly bootTimeoutSeconds: number;
  readonly stopGraceSeconds: number;
  readonly maxQuantity: number;
}

/** The typed view of an app's settings. */
export interface RuntimeSettings {
  readonly healthcheckPath: string | null;
  readonly bootTimeoutSeconds: number;
  readonly stopGraceSeconds: number;
  readonly maxQuantity: number;
  /** Process type (or "*") to the restart time in ms since the epoch. */
  readonly restartMarks: Readonly<Record<string, number>>;
}

/** Reads the settings map the store keeps, falling back to the defaults for bad values. */
export function runtimeSettings(
  raw: Readonly<Record<string, string>>,
  defaults: RuntimeDefaults,
): RuntimeSettings {
  const num = (key: string, fallback: number): number => {
    const value = Number(raw[key]);
    return Number.isFinite(value) && value > 0 ? value : fallback;
  };
  const restartMarks: Record<string, number> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!key.startsWith(SETTING.restartPrefix)) continue;
    const time = Date.parse(value);
    if (Number.isFinite(time)) restartMarks[key.slice(SETTING.restartPrefix.length)] = time;
  }
  return {
    healthcheckPath: raw[SETTING.healthcheckPath] ?? null,
    bootTimeoutSeconds: num(SETTING.bootTimeout, defaults.bootTimeoutSeconds),
    stopGraceSeconds: num(SETTING.stopGrace, defaults.stopGraceSeconds),
    maxQuantity: num(SETTING.maxQuantity, defaults.maxQuantity),
    restartMarks,
  };
}

/** Checks a health check path: absolute, printable, no spaces, at most 200 characters. */
export function validateHealthcheckPath(path: string): string {
  if (!/^\/[\x21-\x7e]{0,199}$/.test(path)) {
    throw new ValidationError(
      `health check path must start with "/" and hold no spaces or control characters (got "${path}")`,
    );
  }
  return path;
}
