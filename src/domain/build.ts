/** Where a build is in its life. */
export type BuildStatus = "pending" | "running" | "succeeded" | "failed";

/** One build of an app's source into an image. Its log lives in SLIPWAY_HOME/logs/builds. */
export interface Build {
  readonly id: string;
  readonly appId: string;
  readonly status: BuildStatus;
  /** sha256 of the uploaded source archive (or the git commit, later). */
  readonly sourceChecksum: string;
  readonly createdAt: string;
  readonly finishedAt: string | null;
  /** Why it failed, in one line; the log has the rest. */
  readonly error: string | null;
  /** The release this build produced, once it succeeded. */
  readonly releaseId: string | null;
  /** Name of the API token that started it (shown as "deployed by"); absent: unknown. */
  readonly createdBy?: string | null;
  /** The git commit a push built (40 hex digits); null for a tarball deploy. */
  readonly sourceCommit?: string | null;
}
