import type { DatabaseSync } from "node:sqlite";

/**
 * Runs fn inside BEGIN IMMEDIATE ... COMMIT, rolling back if it throws. IMMEDIATE takes the
 * write lock up front, so a read-then-write (the next release version) cannot interleave
 * with another connection's write to the same file; the busy timeout makes it wait.
 */
export function inTransaction<T>(db: DatabaseSync, fn: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  let result: T;
  try {
    result = fn();
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
  db.exec("COMMIT");
  return result;
}
