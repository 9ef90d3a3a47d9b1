import type { DatabaseSync } from "node:sqlite";
import { ConflictError, NotFoundError } from "../../domain/errors.ts";
import type { NewToken, TokenRecord } from "../store.ts";
import { toToken } from "./rows.ts";
import { isConstraintError } from "./sqlite-errors.ts";
import { inTransaction } from "./transaction.ts";

/**
 * Token rows of the SQLite store: the token itself (tokens) and the apps a scoped token is
 * limited to (token_apps, removed with the app). Kept apart from sqlite-store.ts so the
 * token model (later: users owning tokens, role bindings) grows in one place.
 */

/** Inserts a token and its apps in one transaction. */
export function insertToken(db: DatabaseSync, token: NewToken, createdAt: string): TokenRecord {
  const record: TokenRecord = {
    id: token.id,
    name: token.name,
    hash: token.hash,
    scopes: [...token.scopes],
    apps: [...new Set(token.apps ?? [])].sort(),
    createdBy: token.createdBy ?? null,
    createdAt,
    revokedAt: null,
  };
  try {
    inTransaction(db, () => {
      db.prepare(
        "INSERT INTO tokens (id, name, hash, scopes, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)",
      ).run(
        record.id,
        record.name,
        record.hash,
        JSON.stringify(record.scopes),
        record.createdBy,
        record.createdAt,
      );
      const link = db.prepare("INSERT INTO token_apps (token_id, app_id) VALUES (?, ?)");
      for (const appId of record.apps) link.run(record.id, appId);
    });
  } catch (error) {
    if (isConstraintError(error, "unique") || isConstraintError(error, "primary key")) {
      throw new ConflictError(`token "${token.name}" (or its id or hash) already exists`, {
        cause: error,
      });
    }
    if (isConstraintError(error, "foreign key")) {
      throw new NotFoundError("app", record.apps.join(", "), { cause: error });
    }
    throw error;
  }
  return record;
}

/** One token by a unique column, with its apps. */
export function selectToken(
  db: DatabaseSync,
  column: "id" | "hash",
  value: string,
): TokenRecord | undefined {
  const row = db.prepare(`SELECT * FROM tokens WHERE ${column} = ?`).get(value);
  return row === undefined ? undefined : withApps(db, toToken(row));
}

/** Every token, oldest first. */
export function selectTokens(db: DatabaseSync): TokenRecord[] {
  return db
    .prepare("SELECT * FROM tokens ORDER BY created_at, id")
    .all()
    .map((row) => withApps(db, toToken(row)));
}

function withApps(db: DatabaseSync, token: Omit<TokenRecord, "apps">): TokenRecord {
  const apps = db
    .prepare("SELECT app_id FROM token_apps WHERE token_id = ? ORDER BY app_id")
    .all(token.id)
    .map((row) => String(row.app_id));
  return { ...token, apps };
}
