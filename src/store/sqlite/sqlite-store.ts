import { DatabaseSync } from "node:sqlite";
import type { App } from "../../domain/app.ts";
import type { ProcessCrashRecord } from "../../domain/crash-record.ts";
import type { Build } from "../../domain/build.ts";
import { ConflictError, NotFoundError } from "../../domain/errors.ts";
import { defaultFormation, type Formation } from "../../domain/formation.ts";
import type { Release, ReleaseStatus } from "../../domain/release.ts";
import type { CertSource, Domain } from "../../domain/domain-name.ts";
import { newId } from "../ids.ts";
import type { DomainCertUpdate } from "../store.ts";
import { toDomain } from "./rows.ts";
import type {
  AppEvent,
  BuildUpdate,
  ConfigVersion,
  NewRelease,
  Store,
  StoreChange,
  NewToken,
  TokenRecord,
  SshKeyRecord,
} from "../store.ts";
import { applyMigrations } from "./migrate.ts";
import { migrations } from "./migrations.ts";
import { toConfigVersion } from "./release-rows.ts";
import {
  insertBuild,
  insertConfigVersion,
  insertRelease,
  insertSshKey,
  newReleaseRow,
  stripUndefined,
  updateBuildRow,
  updateCertColumns,
  upsertFormation,
} from "./writes.ts";
import { toApp, toBuild, toEvent, toFormation, toRelease, type Row } from "./rows.ts";
import { insertToken, selectToken, selectTokens } from "./token-rows.ts";
import { isConstraintError } from "./sqlite-errors.ts";
import { toSshKey } from "./ssh-key-rows.ts";
import { SAVE_CRASH_RECORD, toCrashRecord } from "./crash-rows.ts";
import { inTransaction } from "./transaction.ts";

/** How many event inserts pass between two retention checks. */
const PRUNE_EVERY = 50;

/** Options of {@link SqliteStore}; every field has a production default. */
export interface SqliteStoreOptions {
  /** Clock for createdAt and friends; tests pin it. */
  readonly now?: () => Date;
  /** How long a write waits for another connection's lock before failing (SQLITE_BUSY). */
  readonly busyTimeoutMs?: number;
  /** Events kept per app (older ones are deleted as new ones come); default 10,000. */
  readonly maxEventsPerApp?: number;
  /**
   * Where an exception thrown by an onChange listener goes. The change has committed by
   * then, so it must not fail the write; by default it becomes a process warning.
   */
  readonly onListenerError?: (error: unknown, change: StoreChange) => void;
}

type Listener = (change: StoreChange) => void;

/**
 * The embedded store: one SQLite file (SLIPWAY_HOME/slipway.db) through node:sqlite, in WAL
 * mode so readers never block the writer, with foreign keys enforced so deleting an app
 * cascades to everything it owns. Pass ":memory:" for a private in-memory database.
 *
 * node:sqlite is synchronous; the async methods exist because the port must also fit a
 * networked store. Each method runs to completion before it yields, so listeners fire
 * after COMMIT and before the caller resumes.
 */
export class SqliteStore implements Store {
  readonly #db: DatabaseSync;
  readonly #listeners = new Set<Listener>();
  readonly #now: () => Date;
  readonly #maxEvents: number;
  readonly #onListenerError: (error: unknown, change: StoreChange) => void;

  constructor(path: string, options: SqliteStoreOptions = {}) {
    this.#now = options.now ?? (() => new Date());
    this.#maxEvents = options.maxEventsPerApp ?? 10_000;
    this.#onListenerError = options.onListenerError ?? warnListenerError;
    this.#db = new DatabaseSync(path, {
      enableForeignKeyConstraints: true,
      timeout: options.busyTimeoutMs ?? 5000,
    });
    try {
      // WAL needs a file; an in-memory database silently stays in "memory" mode.
      this.#db.exec("PRAGMA journal_mode = WAL");
      this.#db.exec("PRAGMA synchronous = NORMAL");
      applyMigrations(this.#db, migrations);
    } catch (error) {
      this.#db.close();
      throw error;
    }
  }

  createApp(name: string): Promise<App> {
    return this.#write("app", () => {
      const app: App = { id: newId("app"), name, createdAt: this.#timestamp() };
      try {
        this.#db
          .prepare("INSERT INTO apps (id, name, created_at) VALUES (?, ?, ?)")
          .run(app.id, app.name, app.createdAt);
      } catch (error) {
        if (isConstraintError(error, "unique")) {
          throw new ConflictError(`app "${name}" already exists`, { cause: error });
        }
        throw error;
      }
      // Every app starts with the default formation, in the same transaction, so no
      // reader ever sees an app without one.
      for (const formation of defaultFormation(app.id)) upsertFormation(this.#db, formation);
      return { value: app, appId: app.id };
    });
  }

  getApp(name: string): Promise<App | undefined> {
    return this.#run(() => this.#one("SELECT * FROM apps WHERE name = ?", [name], toApp));
  }

  getAppById(id: string): Promise<App | undefined> {
    return this.#run(() => this.#one("SELECT * FROM apps WHERE id = ?", [id], toApp));
  }

  listApps(): Promise<App[]> {
    return this.#run(() => this.#all("SELECT * FROM apps ORDER BY name", [], toApp));
  }

  deleteApp(id: string): Promise<void> {
    return this.#run(() => {
      // Idempotent: deleting an app that is already gone is not an error, so a teardown
      // that is retried after a crash converges.
      const { changes } = this.#db.prepare("DELETE FROM apps WHERE id = ?").run(id);
      if (changes > 0) this.#emit({ kind: "app", appId: id });
    });
  }

  createBuild(
    appId: string,
    sourceChecksum: string,
    createdBy: string | null = null,
    sourceCommit: string | null = null,
  ): Promise<Build> {
    return this.#write("build", () => {
      this.#requireApp(appId);
      const id = newId("bld");
      insertBuild(
        this.#db,
        { id, appId, sourceChecksum, createdBy, sourceCommit },
        this.#timestamp(),
      );
      return { value: this.#buildById(id), appId };
    });
  }

  updateBuild(id: string, update: BuildUpdate): Promise<Build> {
    return this.#write("build", () => {
      const current = this.#buildById(id);
      const next: Build = {
        ...current,
        status: update.status,
        error: update.error === undefined ? current.error : update.error,
        releaseId: update.releaseId === undefined ? current.releaseId : update.releaseId,
        finishedAt: update.finishedAt === undefined ? current.finishedAt : update.finishedAt,
      };
      try {
        updateBuildRow(this.#db, next);
      } catch (error) {
        if (isConstraintError(error, "foreign key")) {
          throw new NotFoundError("release", String(next.releaseId), { cause: error });
        }
        throw error;
      }
      return { value: next, appId: current.appId };
    });
  }

  getBuild(id: string): Promise<Build | undefined> {
    return this.#run(() => this.#one("SELECT * FROM builds WHERE id = ?", [id], toBuild));
  }

  listBuilds(appId: string): Promise<Build[]> {
    return this.#run(() =>
      this.#all(
        "SELECT * FROM builds WHERE app_id = ? ORDER BY created_at DESC, rowid DESC",
        [appId],
        toBuild,
      ),
    );
  }

  unfinishedBuildsOfSource(sourceChecksum: string): Promise<Build[]> {
    return this.#run(() =>
      this.#all(
        "SELECT * FROM builds WHERE source_checksum = ? AND status IN ('pending', 'running') ORDER BY created_at, rowid",
        [sourceChecksum],
        toBuild,
      ),
    );
  }

  createRelease(release: NewRelease): Promise<Release> {
    return this.#write("release", () => {
      this.#requireApp(release.appId);
      if (release.buildId !== null && this.#optionalBuild(release.buildId) === undefined) {
        throw new NotFoundError("build", release.buildId);
      }
      // Reading MAX(version) and inserting happen under one write lock (BEGIN IMMEDIATE),
      // and UNIQUE (app_id, version) backs it up.
      const row = this.#db
        .prepare("SELECT COALESCE(MAX(version), 0) + 1 AS next FROM releases WHERE app_id = ?")
        .get(release.appId);
      const created = newReleaseRow(release, Number(row?.next), this.#timestamp());
      insertRelease(this.#db, created);
      return { value: created, appId: created.appId };
    });
  }

  getRelease(id: string): Promise<Release | undefined> {
    return this.#run(() => this.#one("SELECT * FROM releases WHERE id = ?", [id], toRelease));
  }

  listReleases(appId: string): Promise<Release[]> {
    return this.#run(() =>
      this.#all(
        "SELECT * FROM releases WHERE app_id = ? ORDER BY version DESC",
        [appId],
        toRelease,
      ),
    );
  }

  currentRelease(appId: string): Promise<Release | undefined> {
    return this.#run(() =>
      this.#one(
        "SELECT * FROM releases WHERE app_id = ? AND status = 'succeeded' ORDER BY version DESC LIMIT 1",
        [appId],
        toRelease,
      ),
    );
  }

  setReleaseStatus(
    id: string,
    status: ReleaseStatus,
    detail: string | null = null,
  ): Promise<Release> {
    return this.#write("release", () => {
      const { changes } = this.#db
        .prepare("UPDATE releases SET status = ?, status_detail = ? WHERE id = ?")
        .run(status, detail, id);
      const release =
        changes === 0
          ? undefined
          : this.#one("SELECT * FROM releases WHERE id = ?", [id], toRelease);
      if (release === undefined) throw new NotFoundError("release", id);
      return { value: release, appId: release.appId };
    });
  }

  createConfigVersion(appId: string, sealed: string): Promise<ConfigVersion> {
    return this.#run(() =>
      inTransaction(this.#db, () => {
        this.#requireApp(appId);
        const row = this.#db
          .prepare(
            "SELECT COALESCE(MAX(version), 0) + 1 AS next FROM config_versions WHERE app_id = ?",
          )
          .get(appId);
        const created: ConfigVersion = {
          appId,
          version: Number(row?.next),
          sealed,
          createdAt: this.#timestamp(),
        };
        insertConfigVersion(this.#db, created);
        return created;
      }),
    );
  }

  getConfigVersion(appId: string, version: number): Promise<ConfigVersion | undefined> {
    return this.#run(() =>
      this.#one(
        "SELECT * FROM config_versions WHERE app_id = ? AND version = ?",
        [appId, version],
        toConfigVersion,
      ),
    );
  }

  latestConfigVersion(appId: string): Promise<ConfigVersion | undefined> {
    return this.#run(() =>
      this.#one(
        "SELECT * FROM config_versions WHERE app_id = ? ORDER BY version DESC LIMIT 1",
        [appId],
        toConfigVersion,
      ),
    );
  }

  getFormation(appId: string): Promise<Formation[]> {
    return this.#run(() =>
      this.#all("SELECT * FROM formations WHERE app_id = ? ORDER BY type", [appId], toFormation),
    );
  }

  setFormation(formation: Formation): Promise<void> {
    return this.#write("formation", () => {
      this.#requireApp(formation.appId);
      upsertFormation(this.#db, formation);
      return { value: undefined, appId: formation.appId };
    });
  }

  createToken(token: NewToken): Promise<TokenRecord> {
    return this.#run(() => insertToken(this.#db, token, this.#timestamp()));
  }

  findTokenByHash(hash: string): Promise<TokenRecord | undefined> {
    return this.#run(() => selectToken(this.#db, "hash", hash));
  }

  getToken(id: string): Promise<TokenRecord | undefined> {
    return this.#run(() => selectToken(this.#db, "id", id));
  }

  listTokens(): Promise<TokenRecord[]> {
    return this.#run(() => selectTokens(this.#db));
  }

  addSshKey(
    key: Omit<SshKeyRecord, "createdAt" | "tokenId"> & { readonly tokenId?: string | null },
  ): Promise<SshKeyRecord> {
    return this.#run(() => {
      const record: SshKeyRecord = {
        ...key,
        tokenId: key.tokenId ?? null,
        createdAt: this.#timestamp(),
      };
      try {
        insertSshKey(this.#db, record);
      } catch (error) {
        if (isConstraintError(error, "unique") || isConstraintError(error, "primary key")) {
          throw new ConflictError(`key ${key.fingerprint} is already registered`, {
            cause: error,
          });
        }
        throw error;
      }
      return record;
    });
  }

  listSshKeys(): Promise<SshKeyRecord[]> {
    return this.#run(() =>
      this.#all("SELECT * FROM ssh_keys ORDER BY created_at, id", [], toSshKey),
    );
  }

  getSshKey(id: string): Promise<SshKeyRecord | undefined> {
    return this.#run(() => this.#one("SELECT * FROM ssh_keys WHERE id = ?", [id], toSshKey));
  }

  findSshKeyByFingerprint(fingerprint: string): Promise<SshKeyRecord | undefined> {
    return this.#run(() =>
      this.#one("SELECT * FROM ssh_keys WHERE fingerprint = ?", [fingerprint], toSshKey),
    );
  }

  removeSshKey(id: string): Promise<void> {
    return this.#run(() => {
      const { changes } = this.#db.prepare("DELETE FROM ssh_keys WHERE id = ?").run(id);
      if (changes === 0) throw new NotFoundError("key", id);
    });
  }

  revokeToken(id: string): Promise<void> {
    return this.#run(() => {
      // COALESCE keeps the first revocation time when a token is revoked twice.
      const { changes } = this.#db
        .prepare("UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?")
        .run(this.#timestamp(), id);
      if (changes === 0) throw new NotFoundError("token", id);
    });
  }

  getAppSettings(appId: string): Promise<Record<string, string>> {
    return this.#run(() =>
      Object.fromEntries(
        this.#all(
          "SELECT key, value FROM app_settings WHERE app_id = ? ORDER BY key",
          [appId],
          (row) => [String(row.key), String(row.value)] as const,
        ),
      ),
    );
  }

  setAppSetting(appId: string, key: string, value: string | null): Promise<void> {
    return this.#write("settings", () => {
      this.#requireApp(appId);
      if (value === null) {
        this.#db.prepare("DELETE FROM app_settings WHERE app_id = ? AND key = ?").run(appId, key);
      } else {
        this.#db
          .prepare(
            `INSERT INTO app_settings (app_id, key, value) VALUES (?, ?, ?)
             ON CONFLICT (app_id, key) DO UPDATE SET value = excluded.value`,
          )
          .run(appId, key, value);
      }
      return { value: undefined, appId };
    });
  }

  addDomain(appId: string, hostname: string, certSource: CertSource): Promise<Domain> {
    return this.#write("domain", () => {
      this.#requireApp(appId);
      try {
        this.#db
          .prepare(
            "INSERT INTO domains (hostname, app_id, created_at, cert_source, cert_status) VALUES (?, ?, ?, ?, 'pending')",
          )
          .run(hostname, appId, this.#timestamp(), certSource);
      } catch (error) {
        if (isConstraintError(error, "primary key") || isConstraintError(error, "unique")) {
          throw new ConflictError(`domain "${hostname}" is already attached to an app`, {
            cause: error,
          });
        }
        throw error;
      }
      return { value: this.#domain(hostname), appId };
    });
  }

  getDomain(hostname: string): Promise<Domain | undefined> {
    return this.#run(() =>
      this.#one("SELECT * FROM domains WHERE hostname = ?", [hostname], toDomain),
    );
  }

  listDomains(appId?: string): Promise<Domain[]> {
    return this.#run(() =>
      appId === undefined
        ? this.#all("SELECT * FROM domains ORDER BY hostname", [], toDomain)
        : this.#all("SELECT * FROM domains WHERE app_id = ? ORDER BY hostname", [appId], toDomain),
    );
  }

  removeDomain(appId: string, hostname: string): Promise<void> {
    return this.#write("domain", () => {
      const { changes } = this.#db
        .prepare("DELETE FROM domains WHERE app_id = ? AND hostname = ?")
        .run(appId, hostname);
      if (changes === 0) throw new NotFoundError("domain", hostname);
      return { value: undefined, appId };
    });
  }

  updateDomainCert(hostname: string, update: DomainCertUpdate): Promise<Domain> {
    return this.#write("domain", () => {
      const current = this.#domain(hostname);
      const next: Domain = { ...current, ...stripUndefined(update) };
      updateCertColumns(this.#db, next);
      return { value: next, appId: current.appId };
    });
  }

  #domain(hostname: string): Domain {
    const domain = this.#one("SELECT * FROM domains WHERE hostname = ?", [hostname], toDomain);
    if (domain === undefined) throw new NotFoundError("domain", hostname);
    return domain;
  }

  addEvent(appId: string, type: string, message: string): Promise<void> {
    return this.#run(() => {
      this.#requireApp(appId);
      const { lastInsertRowid } = this.#db
        .prepare("INSERT INTO events (app_id, type, message, created_at) VALUES (?, ?, ?, ?)")
        .run(appId, type, message, this.#timestamp());
      // Retention by count: an app keeps about its newest maxEventsPerApp events (checked
      // every PRUNE_EVERY inserts: the check walks that many index entries).
      if (Number(lastInsertRowid) % PRUNE_EVERY === 0) {
        this.#db
          .prepare(
            "DELETE FROM events WHERE app_id = ? AND id < (SELECT id FROM events WHERE app_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
          )
          .run(appId, appId, this.#maxEvents - 1);
      }
    });
  }

  listEvents(appId: string, limit: number): Promise<AppEvent[]> {
    return this.#run(() =>
      this.#all(
        "SELECT * FROM events WHERE app_id = ? ORDER BY id DESC LIMIT ?",
        [appId, limit],
        toEvent,
      ),
    );
  }

  saveCrashRecord(record: ProcessCrashRecord): Promise<void> {
    return this.#run(() => {
      const { appId, processType, count, restarts, lastCrashAt, backoffUntil } = record;
      this.#db
        .prepare(SAVE_CRASH_RECORD)
        .run(appId, processType, count, restarts, lastCrashAt, backoffUntil, appId);
    });
  }

  listCrashRecords(): Promise<ProcessCrashRecord[]> {
    return this.#run(() =>
      this.#all("SELECT * FROM process_crashes ORDER BY app_id, process_type", [], toCrashRecord),
    );
  }

  onChange(listener: (change: StoreChange) => void): () => void {
    // Wrapped so the same function can subscribe twice and unsubscribe each independently.
    const entry: Listener = (change) => {
      listener(change);
    };
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  close(): Promise<void> {
    return this.#run(() => {
      this.#listeners.clear();
      if (this.#db.isOpen) this.#db.close();
    });
  }

  /** Runs synchronous store code as a promise, so a throw becomes a rejection. */
  #run<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve) => {
      resolve(fn());
    });
  }

  /** Runs fn in a write transaction and announces the change once it committed. */
  #write<T>(kind: StoreChange["kind"], fn: () => { value: T; appId: string }): Promise<T> {
    return this.#run(() => {
      const { value, appId } = inTransaction(this.#db, fn);
      this.#emit({ kind, appId });
      return value;
    });
  }

  #emit(change: StoreChange): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(change);
      } catch (error) {
        this.#onListenerError(error, change);
      }
    }
  }

  #one<T>(sql: string, params: readonly Param[], map: (row: Row) => T): T | undefined {
    const row = this.#db.prepare(sql).get(...params);
    return row === undefined ? undefined : map(row);
  }

  #all<T>(sql: string, params: readonly Param[], map: (row: Row) => T): T[] {
    return this.#db
      .prepare(sql)
      .all(...params)
      .map(map);
  }

  #requireApp(appId: string): void {
    if (this.#one("SELECT id FROM apps WHERE id = ?", [appId], () => true) === undefined) {
      throw new NotFoundError("app", appId);
    }
  }

  #optionalBuild(id: string): Build | undefined {
    return this.#one("SELECT * FROM builds WHERE id = ?", [id], toBuild);
  }

  #buildById(id: string): Build {
    const build = this.#optionalBuild(id);
    if (build === undefined) throw new NotFoundError("build", id);
    return build;
  }

  #timestamp(): string {
    return this.#now().toISOString();
  }
}

type Param = string | number | null;

function warnListenerError(error: unknown, change: StoreChange): void {
  process.emitWarning(
    `store change listener failed on ${change.kind} ${change.appId}: ${String(error)}`,
    "SlipwayStoreWarning",
  );
}
