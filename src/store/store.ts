import type { App } from "../domain/app.ts";
import type { Build, BuildStatus } from "../domain/build.ts";
import type { Formation } from "../domain/formation.ts";
import type { Release } from "../domain/release.ts";

/** A change to desired state, announced after it committed (controllers enqueue on it). */
export interface StoreChange {
  readonly kind: "app" | "build" | "release" | "formation";
  readonly appId: string;
}

/** An API token row; only the hash of the secret is stored. */
export interface TokenRecord {
  readonly id: string;
  readonly name: string;
  readonly hash: string;
  readonly scopes: readonly string[];
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

/** Something that happened to an app, for `slipway events` and the audit trail. */
export interface AppEvent {
  readonly id: number;
  readonly appId: string;
  readonly type: string;
  readonly message: string;
  readonly createdAt: string;
}

export interface NewRelease {
  readonly appId: string;
  readonly imageDigest: string;
  readonly imageRef: string;
  readonly buildId: string | null;
  readonly processTypes: Readonly<Record<string, string>>;
  readonly stack: string;
  readonly buildpacks: readonly string[];
  readonly description: string;
}

export interface BuildUpdate {
  readonly status: BuildStatus;
  readonly error?: string | null;
  readonly releaseId?: string | null;
  readonly finishedAt?: string | null;
}

/**
 * The store port: desired state and the record of what happened. The embedded
 * implementation is node:sqlite (src/store/sqlite/); a PostgreSQL one satisfies the same
 * contract (src/store/store.contract.ts). Every method is async so a networked store fits.
 * Names are unique per kind; lookups by name return undefined when absent.
 */
export interface Store {
  createApp(name: string): Promise<App>;
  getApp(name: string): Promise<App | undefined>;
  getAppById(id: string): Promise<App | undefined>;
  listApps(): Promise<App[]>;
  /** Deletes the app and every row that belongs to it. */
  deleteApp(id: string): Promise<void>;

  createBuild(appId: string, sourceChecksum: string): Promise<Build>;
  updateBuild(id: string, update: BuildUpdate): Promise<Build>;
  getBuild(id: string): Promise<Build | undefined>;
  listBuilds(appId: string): Promise<Build[]>;

  /** Creates the next version atomically (v1, v2, ...). */
  createRelease(release: NewRelease): Promise<Release>;
  getRelease(id: string): Promise<Release | undefined>;
  /** Newest first. */
  listReleases(appId: string): Promise<Release[]>;
  /** The release the app should be running: the newest one. */
  currentRelease(appId: string): Promise<Release | undefined>;

  getFormation(appId: string): Promise<Formation[]>;
  setFormation(formation: Formation): Promise<void>;

  createToken(token: Omit<TokenRecord, "createdAt" | "revokedAt">): Promise<TokenRecord>;
  findTokenByHash(hash: string): Promise<TokenRecord | undefined>;
  revokeToken(id: string): Promise<void>;

  addEvent(appId: string, type: string, message: string): Promise<void>;
  listEvents(appId: string, limit: number): Promise<AppEvent[]>;

  /** Called after each committed change; returns an unsubscribe function. */
  onChange(listener: (change: StoreChange) => void): () => void;
  close(): Promise<void>;
}
