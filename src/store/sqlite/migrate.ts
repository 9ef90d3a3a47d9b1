import type { DatabaseSync } from "node:sqlite";
import { DriverError } from "../../domain/errors.ts";
import type { Migration } from "./migrations.ts";
import { inTransaction } from "./transaction.ts";

/**
 * Brings the schema up to the newest migration. Idempotent: versions already recorded in
 * schema_version are skipped. Transactional: the pending migrations are applied in one
 * transaction that also reads the current version, so two processes opening the same file
 * cannot both apply a step, and a failing step leaves the schema as it was.
 * Returns the schema version afterwards.
 */
export function applyMigrations(db: DatabaseSync, list: readonly Migration[]): number {
  checkOrder(list);
  db.exec(`CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`);
  const latest = list.at(-1)?.version ?? 0;
  return inTransaction(db, () => {
    const current = currentVersion(db);
    if (current > latest) {
      throw new DriverError(
        "store",
        `database schema is at version ${current}, newer than this Slipway knows (${latest}); upgrade Slipway`,
      );
    }
    const record = db.prepare(
      "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
    );
    for (const migration of list) {
      if (migration.version <= current) continue;
      try {
        db.exec(migration.sql);
      } catch (error) {
        throw new DriverError(
          "store",
          `migration ${migration.version} (${migration.name}) failed`,
          { cause: error },
        );
      }
      record.run(migration.version, migration.name, new Date().toISOString());
    }
    return Math.max(current, latest);
  });
}

/** The highest applied migration, 0 for a new database. */
export function currentVersion(db: DatabaseSync): number {
  const row = db.prepare("SELECT MAX(version) AS version FROM schema_version").get();
  const version = row?.version;
  return typeof version === "number" ? version : 0;
}

function checkOrder(list: readonly Migration[]): void {
  list.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new DriverError(
        "store",
        `migration list is out of order: entry ${index} has version ${migration.version}`,
      );
    }
  });
}
