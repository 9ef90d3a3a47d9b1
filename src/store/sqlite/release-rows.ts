import type { SQLOutputValue } from "node:sqlite";
import { manifestFromJson } from "../../domain/app-manifest.ts";
import type { Release, ReleaseStatus } from "../../domain/release.ts";
import type { ConfigVersion } from "../store.ts";

type Row = Record<string, SQLOutputValue>;

const STATUSES: readonly ReleaseStatus[] = ["pending", "succeeded", "failed"];

/** The release columns added by migration 4 (status, config version, provenance). */
export function releaseExtras(
  row: Row,
): Pick<
  Release,
  "status" | "statusDetail" | "configVersion" | "deployedBy" | "source" | "manifest"
> {
  const status = STATUSES.find((s) => s === row.status);
  if (status === undefined) throw new TypeError(`store: column status is not a release status`);
  const manifest = row.manifest;
  return {
    status,
    statusDetail: optionalText(row, "status_detail"),
    configVersion: typeof row.config_version === "number" ? row.config_version : null,
    deployedBy: optionalText(row, "deployed_by"),
    source: optionalText(row, "source"),
    manifest: typeof manifest === "string" ? manifestFromJson(JSON.parse(manifest)) : null,
  };
}

export function toConfigVersion(row: Row): ConfigVersion {
  const { app_id: appId, version, sealed, created_at: createdAt } = row;
  if (
    typeof appId !== "string" ||
    typeof version !== "number" ||
    typeof sealed !== "string" ||
    typeof createdAt !== "string"
  ) {
    throw new TypeError("store: config_versions row has unexpected column types");
  }
  return { appId, version, sealed, createdAt };
}

function optionalText(row: Row, column: string): string | null {
  const value = row[column];
  if (value === null || value === undefined) return null;
  if (typeof value !== "string") throw new TypeError(`store: column ${column} should be text`);
  return value;
}
