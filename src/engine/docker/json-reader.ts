import { DriverError } from "../../domain/errors.ts";

/**
 * Narrowing readers for the engine's JSON answers. The engine is another program, so its
 * documents arrive as `unknown` and are checked field by field: a missing required field
 * is a DriverError naming the field, never a TypeError three calls later.
 */
export type JsonObject = Readonly<Record<string, unknown>>;

/** The value as an object; throws DriverError when it is not one. */
export function asObject(value: unknown, what: string): JsonObject {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new DriverError("engine", `unexpected answer: ${what} is not an object`);
  }
  return value as JsonObject;
}

/** The value as an array; throws DriverError when it is not one. */
export function asArray(value: unknown, what: string): readonly unknown[] {
  if (!Array.isArray(value)) {
    throw new DriverError("engine", `unexpected answer: ${what} is not a list`);
  }
  return value;
}

/** A nested object, or an empty one when the field is absent or null. */
export function objectField(obj: JsonObject, key: string): JsonObject {
  const value = obj[key];
  return value === undefined || value === null ? {} : asObject(value, key);
}

/** A required string field. */
export function stringField(obj: JsonObject, key: string): string {
  const value = obj[key];
  if (typeof value !== "string") {
    throw new DriverError("engine", `unexpected answer: field ${key} is not a string`);
  }
  return value;
}

/** An optional string field; absent, null and "" read as undefined. */
export function optionalString(obj: JsonObject, key: string): string | undefined {
  const value = obj[key];
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** A numeric field, or the fallback when absent. */
export function numberField(obj: JsonObject, key: string, fallback: number): number {
  const value = obj[key];
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}

/** A boolean field, false when absent. */
export function booleanField(obj: JsonObject, key: string): boolean {
  return obj[key] === true;
}

/** A list of strings; absent or null reads as empty, non-string items are dropped. */
export function stringList(obj: JsonObject, key: string): string[] {
  const value = obj[key];
  if (!Array.isArray(value)) return [];
  return value.filter((item): item is string => typeof item === "string");
}

/** A string-to-string map (labels, options); absent or null reads as empty. */
export function stringMap(obj: JsonObject, key: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(objectField(obj, key))) {
    if (typeof v === "string") out[k] = v;
  }
  return out;
}
