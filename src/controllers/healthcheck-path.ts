import type { RuntimeSettings } from "../domain/app-settings.ts";
import type { Release } from "../domain/release.ts";

/**
 * The HTTP path a process type's containers must answer before they get traffic: the
 * app's setting (`slipway healthcheck:set`) wins, then app.json's startup or readiness
 * check for the type; null means the TCP check.
 */
export function healthcheckPath(
  release: Release,
  processType: string,
  settings: RuntimeSettings,
): string | null {
  if (settings.healthcheckPath !== null) return settings.healthcheckPath;
  const checks = release.manifest?.healthchecks[processType] ?? [];
  return (
    checks.find((c) => c.type === "startup")?.path ??
    checks.find((c) => c.type === "readiness")?.path ??
    null
  );
}
