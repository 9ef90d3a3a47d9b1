import type { AppManifest } from "./app-manifest.ts";

/**
 * An immutable release: an image (by digest) plus the process types to run from it.
 * A new deploy, rollback or config change is always a new release with a higher version.
 */
export interface Release {
  readonly id: string;
  readonly appId: string;
  /** 1, 2, 3 ... per app; shown as v1, v2, v3. */
  readonly version: number;
  /** Image content digest (sha256:...) the containers run; never a mutable tag. */
  readonly imageDigest: string;
  /** Image reference in the engine (name@digest or id) that resolves to imageDigest. */
  readonly imageRef: string;
  readonly buildId: string | null;
  /** Process type name to command, from Procfile or the buildpack's defaults. */
  readonly processTypes: Readonly<Record<string, string>>;
  readonly stack: string;
  readonly buildpacks: readonly string[];
  readonly description: string;
  readonly createdAt: string;
  /**
   * pending: its `release` process has not run yet (not rolled out); succeeded: may run;
   * failed: its release phase failed and it is never rolled out. Absent means succeeded.
   */
  readonly status?: ReleaseStatus;
  /** Why it failed (the release phase's exit and last output), else null. */
  readonly statusDetail?: string | null;
  /** The app's config version (encrypted vars) the release runs with; null: none. */
  readonly configVersion?: number | null;
  /** Name of the API token that deployed it (builds, config changes, rollbacks). */
  readonly deployedBy?: string | null;
  /** Where the code came from: the source archive checksum or the git commit. */
  readonly source?: string | null;
  /** What app.json said (formation defaults, postdeploy, health checks), if present. */
  readonly manifest?: AppManifest | null;
}

/** Where a release stands; see Release.status. */
export type ReleaseStatus = "pending" | "succeeded" | "failed";

/** The release's status, for releases stored before statuses existed too. */
export function releaseStatus(release: Release): ReleaseStatus {
  return release.status ?? "succeeded";
}

/** What the router and formation controller see of a release's state. */
export type DeployStatus = "deploying" | "active" | "superseded" | "failed";
