import type { SshKeyRecord } from "../store.ts";
import type { Row } from "./rows.ts";

function text(row: Row, column: string): string {
  const value = row[column];
  if (typeof value !== "string") {
    throw new TypeError(`column ${column}: expected text, got ${typeof value}`);
  }
  return value;
}

/** An ssh_keys row as a record. */
export function toSshKey(row: Row): SshKeyRecord {
  return {
    id: text(row, "id"),
    name: text(row, "name"),
    fingerprint: text(row, "fingerprint"),
    publicKey: text(row, "public_key"),
    createdBy: typeof row.created_by === "string" ? row.created_by : null,
    tokenId: typeof row.token_id === "string" ? row.token_id : null,
    createdAt: text(row, "created_at"),
  };
}
