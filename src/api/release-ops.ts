import type { App } from "../domain/app.ts";
import { applyConfigChange } from "../domain/config-vars.ts";
import { NotFoundError, ValidationError } from "../domain/errors.ts";
import { releaseStatus, type Release } from "../domain/release.ts";
import type { SecretBox } from "../security/secrets.ts";
import { latestConfigVars, readConfigVars, writeConfigVars } from "../store/config-vars.ts";
import type { Store } from "../store/store.ts";

/** A change of config vars: names to set (with values) and names to remove. */
export interface ConfigChange {
  readonly set: Readonly<Record<string, string>>;
  readonly unset: readonly string[];
}

/** Config vars and rollbacks: desired-state writes that make a new release without a build. */
export interface ReleaseOps {
  /** The app's current config vars (for admins; never logged). */
  configVars(app: App): Promise<Record<string, string>>;
  /**
   * Stores the changed vars as a new config version and, when the app has a release, a new
   * release of the same image with them (which the app controller rolls out). Returns that
   * release, or null when there was none to make (no release yet, or nothing changed).
   */
  changeConfig(app: App, change: ConfigChange, by: string): Promise<Release | null>;
  /** A new release with vN's image, process types and config vars; no build. */
  rollback(app: App, version: number, by: string): Promise<Release>;
}

export interface ReleaseOpsDeps {
  readonly store: Store;
  readonly box: SecretBox;
  /** True while the engine still has the image (old ones are garbage-collected). */
  readonly imageExists: (ref: string) => Promise<boolean>;
}

/** The release operations over a store, sealing config vars with box. */
export function releaseOps(deps: ReleaseOpsDeps): ReleaseOps {
  const { store, box } = deps;
  return {
    async configVars(app) {
      return (await latestConfigVars(store, box, app.id)).vars;
    },

    async changeConfig(app, change, by) {
      const current = await latestConfigVars(store, box, app.id);
      const next = applyConfigChange(current.vars, change.set, change.unset);
      if (sameVars(current.vars, next)) return null;
      const stored = await writeConfigVars(store, box, app.id, next);
      const names = [...Object.keys(change.set), ...change.unset.map((n) => `-${n}`)];
      // Names only: values are secrets and never reach events or logs.
      await store.addEvent(
        app.id,
        "config.changed",
        `config v${String(stored.version)} by ${by}: ${names.join(", ")}`,
      );
      const base = await store.currentRelease(app.id);
      if (base === undefined) return null;
      const setNames = Object.keys(change.set);
      const description = [
        setNames.length > 0 ? `Set ${setNames.join(", ")}` : "",
        change.unset.length > 0 ? `Unset ${change.unset.join(", ")}` : "",
      ]
        .filter((part) => part !== "")
        .join("; ");
      return newRelease(store, base, stored.version, by, description);
    },

    async rollback(app, version, by) {
      const target = (await store.listReleases(app.id)).find((r) => r.version === version);
      if (target === undefined) throw new NotFoundError("release", `v${String(version)}`);
      if (releaseStatus(target) === "failed") {
        throw new ValidationError(
          `v${String(version)} failed its release phase and cannot be rolled back to`,
        );
      }
      if (!(await deps.imageExists(target.imageRef))) {
        throw new ValidationError(
          `the image of v${String(version)} was garbage-collected (only the newest releases keep theirs); deploy its source again`,
        );
      }
      // Its config becomes the current one again, so a later env:set builds on it.
      const vars = await readConfigVars(store, box, app.id, target.configVersion);
      const stored = await writeConfigVars(store, box, app.id, vars);
      return newRelease(store, target, stored.version, by, `Rollback to v${String(version)}`);
    },
  };
}

async function newRelease(
  store: Store,
  from: Release,
  configVersion: number,
  by: string,
  description: string,
): Promise<Release> {
  const release = await store.createRelease({
    appId: from.appId,
    imageDigest: from.imageDigest,
    imageRef: from.imageRef,
    buildId: from.buildId,
    processTypes: from.processTypes,
    stack: from.stack,
    buildpacks: from.buildpacks,
    description,
    // The release phase runs for every release, as on Heroku (migrations are idempotent).
    status: "release" in from.processTypes ? "pending" : "succeeded",
    configVersion,
    deployedBy: by,
    source: from.source ?? null,
    manifest: from.manifest ?? null,
  });
  await store.addEvent(
    from.appId,
    "release.created",
    `v${String(release.version)} by ${by}: ${description}`,
  );
  return release;
}

function sameVars(
  a: Readonly<Record<string, string>>,
  b: Readonly<Record<string, string>>,
): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => b[k] === a[k]);
}
