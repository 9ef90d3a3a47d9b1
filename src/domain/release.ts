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
}

/** What the router and formation controller see of a release's state. */
export type DeployStatus = "deploying" | "active" | "superseded" | "failed";
