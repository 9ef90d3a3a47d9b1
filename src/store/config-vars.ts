import type { ConfigVars } from "../domain/config-vars.ts";
import type { SecretBox } from "../security/secrets.ts";
import type { ConfigVersion, Store } from "./store.ts";

/**
 * Config vars live in the store only sealed (AES-256-GCM, bound to the app id); these
 * helpers are the one place that seals and opens them.
 */

/** The vars of one config version of an app ({} for null: the app never set any). */
export async function readConfigVars(
  store: Store,
  box: SecretBox,
  appId: string,
  version: number | null | undefined,
): Promise<Record<string, string>> {
  if (version === null || version === undefined) return {};
  const stored = await store.getConfigVersion(appId, version);
  if (stored === undefined) return {};
  return box.openRecord(stored.sealed, appId);
}

/** The app's current config vars (its newest config version) and that version. */
export async function latestConfigVars(
  store: Store,
  box: SecretBox,
  appId: string,
): Promise<{ version: number | null; vars: Record<string, string> }> {
  const stored = await store.latestConfigVersion(appId);
  if (stored === undefined) return { version: null, vars: {} };
  return { version: stored.version, vars: box.openRecord(stored.sealed, appId) };
}

/** Seals vars as the app's next config version. */
export function writeConfigVars(
  store: Store,
  box: SecretBox,
  appId: string,
  vars: ConfigVars,
): Promise<ConfigVersion> {
  return store.createConfigVersion(appId, box.sealJson(vars, appId));
}
