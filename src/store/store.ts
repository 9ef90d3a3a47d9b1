import type { ProcessCrashRecord } from "../domain/crash-record.ts";
import type { App } from "../domain/app.ts";
import type { Build, BuildStatus } from "../domain/build.ts";
import type { Formation } from "../domain/formation.ts";
import type { Release, ReleaseStatus } from "../domain/release.ts";
import type { AppManifest } from "../domain/app-manifest.ts";
import type { CertSource, CertStatus, Domain } from "../domain/domain-name.ts";

/** A change to desired state, announced after it committed (controllers enqueue on it). */
export interface StoreChange {
  readonly kind: "app" | "build" | "release" | "formation" | "settings" | "domain";
  readonly appId: string;
}

/** An API token row; only the hash of the secret is stored. */
export interface TokenRecord {
  readonly id: string;
  readonly name: string;
  readonly hash: string;
  /** The token's role: ["admin"] (everything) or ["deploy"] (its apps only; src/security/permissions.ts). */
  readonly scopes: readonly string[];
  /** Ids of the apps a deploy token is limited to (an app's deletion removes it here). */
  readonly apps: readonly string[];
  /** Name of the token that created it; null for the install token. */
  readonly createdBy: string | null;
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

/** What createToken takes: apps and createdBy may be left out (none, null). */
export type NewToken = Omit<TokenRecord, "createdAt" | "revokedAt" | "apps" | "createdBy"> & {
  readonly apps?: readonly string[];
  readonly createdBy?: string | null;
};

/** A registered SSH public key (git over SSH). */
export interface SshKeyRecord {
  readonly id: string;
  /** The key's comment or a name given when it was added. */
  readonly name: string;
  /** "SHA256:..." as ssh-keygen -lf prints it; unique. */
  readonly fingerprint: string;
  /** "TYPE BASE64", without the comment. */
  readonly publicKey: string;
  /** Name of the token that added it. */
  readonly createdBy: string | null;
  /**
   * Id of the token that added it: the key may do what that token may (and nothing once it
   * is revoked). Null for keys from before scoped tokens: admin keys.
   */
  readonly tokenId: string | null;
  readonly createdAt: string;
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
  /**
   * The id to give it (newId("rel")), when the caller chose it ahead (a build that
   * prepares its release's container); default a new one.
   */
  readonly id?: string;
  readonly appId: string;
  readonly imageDigest: string;
  readonly imageRef: string;
  readonly buildId: string | null;
  readonly processTypes: Readonly<Record<string, string>>;
  readonly stack: string;
  readonly buildpacks: readonly string[];
  readonly description: string;
  /** Default "succeeded"; "pending" when a release phase must run before it may serve. */
  readonly status?: ReleaseStatus;
  readonly configVersion?: number | null;
  readonly deployedBy?: string | null;
  readonly source?: string | null;
  readonly manifest?: AppManifest | null;
}

/** One stored version of an app's config vars, sealed (encrypted) by src/security/secrets.ts. */
export interface ConfigVersion {
  readonly appId: string;
  /** 1, 2, 3 ... per app. */
  readonly version: number;
  /** The encrypted vars; the store never sees them in the clear. */
  readonly sealed: string;
  readonly createdAt: string;
}

/** Fields of a domain's certificate state to change; omitted ones stay. */
export interface DomainCertUpdate {
  readonly certSource?: CertSource;
  readonly certStatus?: CertStatus;
  readonly certExpiresAt?: string | null;
  readonly certError?: string | null;
  readonly certAttempts?: number;
  readonly certRetryAt?: string | null;
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

  /** createdBy: the API token name that started it (shown as "deployed by"). */
  /** sourceCommit: the pushed git commit, for a git deploy. */
  createBuild(
    appId: string,
    sourceChecksum: string,
    createdBy?: string | null,
    sourceCommit?: string | null,
  ): Promise<Build>;
  updateBuild(id: string, update: BuildUpdate): Promise<Build>;
  getBuild(id: string): Promise<Build | undefined>;
  listBuilds(appId: string): Promise<Build[]>;
  /**
   * Builds of any app that have not finished (pending or running) and build the source
   * with this checksum: sources are stored by checksum, so apps share one file.
   */
  unfinishedBuildsOfSource(sourceChecksum: string): Promise<Build[]>;

  /** Creates the next version atomically (v1, v2, ...). */
  createRelease(release: NewRelease): Promise<Release>;
  getRelease(id: string): Promise<Release | undefined>;
  /** Newest first. */
  listReleases(appId: string): Promise<Release[]>;
  /**
   * The release the app should be running: the newest one whose status is "succeeded"
   * (pending ones wait for their release phase; failed ones never run).
   */
  currentRelease(appId: string): Promise<Release | undefined>;
  /** Records the outcome of a release's release phase; announced as a "release" change. */
  setReleaseStatus(id: string, status: ReleaseStatus, detail?: string | null): Promise<Release>;

  /** Stores the next config version of an app (v1, v2, ...) atomically. */
  createConfigVersion(appId: string, sealed: string): Promise<ConfigVersion>;
  getConfigVersion(appId: string, version: number): Promise<ConfigVersion | undefined>;
  /** The newest config version: the app's current config vars. */
  latestConfigVersion(appId: string): Promise<ConfigVersion | undefined>;

  getFormation(appId: string): Promise<Formation[]>;
  setFormation(formation: Formation): Promise<void>;

  /** ConflictError for a taken name, id or hash; NotFoundError for an unknown app id. */
  createToken(token: NewToken): Promise<TokenRecord>;
  findTokenByHash(hash: string): Promise<TokenRecord | undefined>;
  getToken(id: string): Promise<TokenRecord | undefined>;
  /** Every token, revoked ones included, oldest first. */
  listTokens(): Promise<TokenRecord[]>;
  revokeToken(id: string): Promise<void>;

  /** Per-app runtime settings (health check path, timeouts, restart marks), key to value. */
  getAppSettings(appId: string): Promise<Record<string, string>>;
  /** Sets (or, with null, removes) one setting; announced as a "settings" change. */
  setAppSetting(appId: string, key: string, value: string | null): Promise<void>;

  /**
   * Attaches a custom domain to an app; ConflictError when any app (this one included)
   * already has it. Announced as a "domain" change of the app.
   */
  addDomain(appId: string, hostname: string, certSource: CertSource): Promise<Domain>;
  getDomain(hostname: string): Promise<Domain | undefined>;
  /** One app's domains, or every domain when appId is omitted; by hostname. */
  listDomains(appId?: string): Promise<Domain[]>;
  /** Detaches a domain of this app; NotFoundError when the app does not have it. */
  removeDomain(appId: string, hostname: string): Promise<void>;
  /** Records the certificate state of a domain (the certificates controller's bookkeeping). */
  updateDomainCert(hostname: string, update: DomainCertUpdate): Promise<Domain>;

  addEvent(appId: string, type: string, message: string): Promise<void>;
  listEvents(appId: string, limit: number): Promise<AppEvent[]>;

  /** Adds a key; ConflictError when its fingerprint is already registered. */
  addSshKey(
    key: Omit<SshKeyRecord, "createdAt" | "tokenId"> & { readonly tokenId?: string | null },
  ): Promise<SshKeyRecord>;
  /** Oldest first. */
  listSshKeys(): Promise<SshKeyRecord[]>;
  getSshKey(id: string): Promise<SshKeyRecord | undefined>;
  findSshKeyByFingerprint(fingerprint: string): Promise<SshKeyRecord | undefined>;
  /** NotFoundError when there is no such key. */
  removeSshKey(id: string): Promise<void>;

  /**
   * Keeps the crash history of one process type, so the back-off and `ps`'s restart
   * counts survive a daemon restart. Not announced as a change: it is bookkeeping of the
   * controllers. Ignored when the app no longer exists.
   */
  saveCrashRecord(record: ProcessCrashRecord): Promise<void>;
  /** Every kept crash history, by app and process type. */
  listCrashRecords(): Promise<ProcessCrashRecord[]>;

  /** Called after each committed change; returns an unsubscribe function. */
  onChange(listener: (change: StoreChange) => void): () => void;
  close(): Promise<void>;
}
