import type { DatabaseSync } from "node:sqlite";
import type { Domain } from "../../domain/domain-name.ts";
import type { Formation } from "../../domain/formation.ts";
import type { Release } from "../../domain/release.ts";
import { newId } from "../ids.ts";
import type { Build } from "../../domain/build.ts";
import type { ConfigVersion, NewRelease, SshKeyRecord } from "../store.ts";

/**
 * The wider INSERT and UPDATE statements of the SQLite store, kept apart from its
 * transaction and announcement logic (sqlite-store.ts), which calls them inside its
 * write transactions.
 */

/** The release row for `release` as version `version`, created now. */
export function newReleaseRow(release: NewRelease, version: number, createdAt: string): Release {
  return {
    id: release.id ?? newId("rel"),
    appId: release.appId,
    version,
    imageDigest: release.imageDigest,
    imageRef: release.imageRef,
    buildId: release.buildId,
    processTypes: { ...release.processTypes },
    stack: release.stack,
    buildpacks: [...release.buildpacks],
    description: release.description,
    createdAt,
    status: release.status ?? "succeeded",
    statusDetail: null,
    configVersion: release.configVersion ?? null,
    deployedBy: release.deployedBy ?? null,
    source: release.source ?? null,
    manifest: release.manifest ?? null,
  };
}

export function insertRelease(db: DatabaseSync, created: Release): void {
  db.prepare(
    `INSERT INTO releases (id, app_id, version, image_digest, image_ref, build_id,
       process_types, stack, buildpacks, description, created_at,
       status, config_version, deployed_by, source, manifest)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    created.id,
    created.appId,
    created.version,
    created.imageDigest,
    created.imageRef,
    created.buildId,
    JSON.stringify(created.processTypes),
    created.stack,
    JSON.stringify(created.buildpacks),
    created.description,
    created.createdAt,
    created.status ?? "succeeded",
    created.configVersion ?? null,
    created.deployedBy ?? null,
    created.source ?? null,
    created.manifest ? JSON.stringify(created.manifest) : null,
  );
}

/** Writes a domain's certificate columns. */
export function updateCertColumns(db: DatabaseSync, next: Domain): void {
  db.prepare(
    `UPDATE domains SET cert_source = ?, cert_status = ?, cert_expires_at = ?, cert_error = ?,
     cert_attempts = ?, cert_retry_at = ? WHERE hostname = ?`,
  ).run(
    next.certSource,
    next.certStatus,
    next.certExpiresAt,
    next.certError,
    next.certAttempts,
    next.certRetryAt,
    next.hostname,
  );
}

export function insertSshKey(db: DatabaseSync, record: SshKeyRecord): void {
  db.prepare(
    "INSERT INTO ssh_keys (id, name, fingerprint, public_key, created_by, token_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
  ).run(
    record.id,
    record.name,
    record.fingerprint,
    record.publicKey,
    record.createdBy,
    record.tokenId,
    record.createdAt,
  );
}

/** A new build, pending. */
export function insertBuild(
  db: DatabaseSync,
  build: Pick<Build, "id" | "appId" | "sourceChecksum"> & {
    readonly createdBy: string | null;
    readonly sourceCommit: string | null;
  },
  createdAt: string,
): void {
  db.prepare(
    "INSERT INTO builds (id, app_id, status, source_checksum, created_at, created_by, source_commit) VALUES (?, ?, 'pending', ?, ?, ?, ?)",
  ).run(
    build.id,
    build.appId,
    build.sourceChecksum,
    createdAt,
    build.createdBy,
    build.sourceCommit,
  );
}

/** A build's status, error, release and end. */
export function updateBuildRow(db: DatabaseSync, next: Build): void {
  db.prepare(
    "UPDATE builds SET status = ?, error = ?, release_id = ?, finished_at = ? WHERE id = ?",
  ).run(next.status, next.error, next.releaseId, next.finishedAt, next.id);
}

export function insertConfigVersion(db: DatabaseSync, created: ConfigVersion): void {
  db.prepare(
    "INSERT INTO config_versions (app_id, version, sealed, created_at) VALUES (?, ?, ?, ?)",
  ).run(created.appId, created.version, created.sealed, created.createdAt);
}

export function upsertFormation(db: DatabaseSync, formation: Formation): void {
  db.prepare(
    `INSERT INTO formations (app_id, type, quantity, size) VALUES (?, ?, ?, ?)
     ON CONFLICT (app_id, type) DO UPDATE SET quantity = excluded.quantity, size = excluded.size`,
  ).run(formation.appId, formation.type, formation.quantity, formation.size);
}

/** The fields of an update that are set (undefined means "keep"). */
export function stripUndefined<T extends object>(update: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(update).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}
