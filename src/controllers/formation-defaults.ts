import type { AppManifest } from "../domain/app-manifest.ts";
import type { Formation } from "../domain/formation.ts";
import type { Store } from "../store/store.ts";
import { SETTING } from "../domain/app-settings.ts";

/**
 * The formation entries app.json's `formation` asks for. On the app's first release they
 * set the formation (app.json describes a new app); later they only add process types the
 * app has no formation for, so `slipway scale` is never overridden by a deploy. Pure.
 */
export function formationDefaults(
  appId: string,
  releaseVersion: number,
  manifest: AppManifest | null | undefined,
  current: readonly Formation[],
): Formation[] {
  if (manifest === null || manifest === undefined) return [];
  const out: Formation[] = [];
  for (const [type, entry] of Object.entries(manifest.formation)) {
    const existing = current.find((f) => f.type === type);
    if (existing !== undefined && releaseVersion > 1) continue;
    if (existing?.quantity === entry.quantity && existing.size === entry.size) continue;
    out.push({ appId, type, quantity: entry.quantity, size: entry.size });
  }
  return out;
}

/** Writes formationDefaults to the store. */
export async function applyFormationDefaults(
  store: Store,
  appId: string,
  releaseVersion: number,
  manifest: AppManifest | null | undefined,
): Promise<void> {
  const current = await store.getFormation(appId);
  for (const entry of formationDefaults(appId, releaseVersion, manifest, current)) {
    await store.setFormation(entry);
  }
  // app.json's web health check feeds the app controller's HTTP readiness check, unless
  // the app already has a path set (`slipway` settings win over the file).
  const check = manifest?.healthchecks.web?.find((c) => c.type !== "liveness");
  if (check !== undefined) {
    const settings = await store.getAppSettings(appId);
    if (settings[SETTING.healthcheckPath] === undefined)
      await store.setAppSetting(appId, SETTING.healthcheckPath, check.path);
  }
}
