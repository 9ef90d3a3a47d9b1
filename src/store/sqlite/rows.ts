import type { SQLOutputValue } from "node:sqlite";
import type { App } from "../../domain/app.ts";
import type { Build, BuildStatus } from "../../domain/build.ts";
import type { Formation } from "../../domain/formation.ts";
import type { Release } from "../../domain/release.ts";
import type { CertSource, CertStatus, Domain } from "../../domain/domain-name.ts";
import type { AppEvent, TokenRecord } from "../store.ts";
import { releaseExtras } from "./release-rows.ts";

/** A row as node:sqlite returns it. */
export type Row = Record<string, SQLOutputValue>;

/*
 * Row -> domain mappers. Columns are checked at runtime rather than cast, so a schema that
 * drifted from the code fails loudly at the first read instead of leaking wrong types.
 */

export function toApp(row: Row): App {
  return { id: text(row, "id"), name: text(row, "name"), createdAt: text(row, "created_at") };
}

export function toBuild(row: Row): Build {
  return {
    id: text(row, "id"),
    appId: text(row, "app_id"),
    status: buildStatus(text(row, "status")),
    sourceChecksum: text(row, "source_checksum"),
    createdAt: text(row, "created_at"),
    finishedAt: nullableText(row, "finished_at"),
    error: nullableText(row, "error"),
    releaseId: nullableText(row, "release_id"),
    createdBy: typeof row.created_by === "string" ? row.created_by : null,
    sourceCommit: typeof row.source_commit === "string" ? row.source_commit : null,
  };
}

export function toRelease(row: Row): Release {
  return {
    id: text(row, "id"),
    appId: text(row, "app_id"),
    version: integer(row, "version"),
    imageDigest: text(row, "image_digest"),
    imageRef: text(row, "image_ref"),
    buildId: nullableText(row, "build_id"),
    processTypes: stringRecord(json(row, "process_types"), "process_types"),
    stack: text(row, "stack"),
    buildpacks: stringArray(json(row, "buildpacks"), "buildpacks"),
    description: text(row, "description"),
    createdAt: text(row, "created_at"),
    ...releaseExtras(row),
  };
}

export function toFormation(row: Row): Formation {
  return {
    appId: text(row, "app_id"),
    type: text(row, "type"),
    quantity: integer(row, "quantity"),
    size: text(row, "size"),
  };
}

/** A tokens row; its apps live in token_apps (src/store/sqlite/token-rows.ts). */
export function toToken(row: Row): Omit<TokenRecord, "apps"> {
  return {
    id: text(row, "id"),
    name: text(row, "name"),
    hash: text(row, "hash"),
    scopes: stringArray(json(row, "scopes"), "scopes"),
    createdBy: nullableText(row, "created_by"),
    createdAt: text(row, "created_at"),
    revokedAt: nullableText(row, "revoked_at"),
  };
}

export function toEvent(row: Row): AppEvent {
  return {
    id: integer(row, "id"),
    appId: text(row, "app_id"),
    type: text(row, "type"),
    message: text(row, "message"),
    createdAt: text(row, "created_at"),
  };
}

export function toDomain(row: Row): Domain {
  return {
    hostname: text(row, "hostname"),
    appId: text(row, "app_id"),
    createdAt: text(row, "created_at"),
    certSource: oneOf<CertSource>(row, "cert_source", ["acme", "manual"]),
    certStatus: oneOf<CertStatus>(row, "cert_status", ["pending", "issued", "failed"]),
    certExpiresAt: nullableText(row, "cert_expires_at"),
    certError: nullableText(row, "cert_error"),
    certAttempts: integer(row, "cert_attempts"),
    certRetryAt: nullableText(row, "cert_retry_at"),
  };
}

function oneOf<T extends string>(row: Row, column: string, values: readonly T[]): T {
  const value = text(row, column);
  const found = values.find((v) => v === value);
  if (found === undefined) throw columnError(column, values.join("|"), value);
  return found;
}

function text(row: Row, column: string): string {
  const value = row[column];
  if (typeof value !== "string") throw columnError(column, "text", value);
  return value;
}

function nullableText(row: Row, column: string): string | null {
  return row[column] === null ? null : text(row, column);
}

function integer(row: Row, column: string): number {
  const value = row[column];
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw columnError(column, "integer", value);
  }
  return value;
}

function json(row: Row, column: string): unknown {
  return JSON.parse(text(row, column));
}

function stringArray(value: unknown, column: string): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
    throw columnError(column, "JSON array of strings", value);
  }
  return value;
}

function stringRecord(value: unknown, column: string): Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw columnError(column, "JSON object of strings", value);
  }
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== "string") throw columnError(column, "JSON object of strings", value);
    out[key] = item;
  }
  return out;
}

const STATUSES: readonly BuildStatus[] = ["pending", "running", "succeeded", "failed"];

function buildStatus(value: string): BuildStatus {
  const status = STATUSES.find((s) => s === value);
  if (status === undefined) throw columnError("status", "build status", value);
  return status;
}

function columnError(column: string, expected: string, value: unknown): TypeError {
  return new TypeError(`store: column ${column} should be ${expected}, got ${typeof value}`);
}
