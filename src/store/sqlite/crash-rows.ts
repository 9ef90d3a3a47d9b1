import type { ProcessCrashRecord } from "../../domain/crash-record.ts";
import type { Row } from "./rows.ts";

function integer(row: Row, column: string): number {
  const value = row[column];
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  throw new TypeError(`column ${column}: expected an integer, got ${typeof value}`);
}

function text(row: Row, column: string): string {
  const value = row[column];
  if (typeof value !== "string") {
    throw new TypeError(`column ${column}: expected text, got ${typeof value}`);
  }
  return value;
}

/** A process_crashes row as a record. */
export function toCrashRecord(row: Row): ProcessCrashRecord {
  return {
    appId: text(row, "app_id"),
    processType: text(row, "process_type"),
    count: integer(row, "count"),
    restarts: integer(row, "restarts"),
    lastCrashAt: integer(row, "last_crash_at"),
    backoffUntil: integer(row, "backoff_until"),
  };
}

/** Upsert of one record; inserts nothing when the app is gone (the foreign key holds). */
export const SAVE_CRASH_RECORD = `
  INSERT INTO process_crashes (app_id, process_type, count, restarts, last_crash_at, backoff_until)
  SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM apps WHERE id = ?)
  ON CONFLICT (app_id, process_type) DO UPDATE SET
    count = excluded.count,
    restarts = excluded.restarts,
    last_crash_at = excluded.last_crash_at,
    backoff_until = excluded.backoff_until`;
