import { PayloadTooLargeError, ValidationError } from "../domain/errors.ts";
import { MalformedRequestError, UnsupportedMediaTypeError } from "./http-errors.ts";

/*
 * A deliberately tiny validator: enough to reject malformed JSON (400), the wrong media
 * type (415), unknown fields and wrong types (422, naming every offending field), with the
 * parsed value typed from the schema. Domain rules (app names, ...) are checked afterwards
 * by the domain's own validators.
 */

/** The outcome of checking one value. */
export type Checked<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

/** A field of a request body or query string. */
export interface Field<T> {
  readonly optional: boolean;
  check(value: unknown): Checked<T>;
}

/** The value type a field produces. */
export type FieldValue<F> = F extends Field<infer T> ? T : never;

/** Fields by name. */
export type Shape = Readonly<Record<string, Field<unknown>>>;

/** The parsed object of a shape; optional fields may be undefined. */
export type ShapeValue<S extends Shape> = { readonly [K in keyof S]: FieldValue<S[K]> };

/** Largest JSON body any endpoint accepts; bodies are small objects. */
export const MAX_JSON_BYTES = 64 * 1024;

/** A string, optionally with a maximum length. */
export function string(options: { maxLength?: number } = {}): Field<string> {
  const maxLength = options.maxLength ?? 1024;
  return required((value) => {
    if (typeof value !== "string") return fail(`expected a string, got ${kindOf(value)}`);
    if (value.length > maxLength) return fail(`must be at most ${maxLength} characters`);
    return pass(value);
  });
}

/** A whole number within [min, max]. */
export function integer(options: { min?: number; max?: number } = {}): Field<number> {
  const min = options.min ?? Number.MIN_SAFE_INTEGER;
  const max = options.max ?? Number.MAX_SAFE_INTEGER;
  return required((value) => {
    if (typeof value !== "number" || !Number.isInteger(value)) {
      return fail(`expected an integer, got ${kindOf(value)}`);
    }
    if (value < min || value > max) return fail(`must be between ${min} and ${max}`);
    return pass(value);
  });
}

/** A JSON boolean. */
export function boolean(): Field<boolean> {
  return required((value) =>
    typeof value === "boolean" ? pass(value) : fail(`expected a boolean, got ${kindOf(value)}`),
  );
}

/** A query-string switch: "1"/"true" or "0"/"false". */
export function flag(): Field<boolean> {
  return required((value) => {
    if (value === "1" || value === "true") return pass(true);
    if (value === "0" || value === "false") return pass(false);
    return fail(`expected 1, true, 0 or false, got ${JSON.stringify(value)}`);
  });
}

/** Makes a field optional: absent (or undefined) is accepted as undefined. */
export function optional<T>(field: Field<T>): Field<T | undefined> {
  return { optional: true, check: (value) => field.check(value) };
}

/**
 * Validates a parsed JSON body against a shape: it must be an object, carry every required
 * field with the right type and nothing else. Throws one ValidationError listing every
 * problem.
 */
export function parseObject<S extends Shape>(
  shape: S,
  input: unknown,
  what = "request body",
): ShapeValue<S> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new ValidationError(`${what} must be a JSON object, got ${kindOf(input)}`);
  }
  return parseEntries(shape, new Map(Object.entries(input)), what);
}

/**
 * Validates query parameters against a shape of string-checking fields. Unknown and
 * repeated parameters are errors.
 */
export function parseQuery<S extends Shape>(shape: S, url: string): ShapeValue<S> {
  const params = new URL(url).searchParams;
  const values = new Map<string, unknown>();
  const repeated: string[] = [];
  for (const key of new Set(params.keys())) {
    const all = params.getAll(key);
    if (all.length > 1) repeated.push(`${key}: given more than once`);
    values.set(key, all[0]);
  }
  if (repeated.length > 0) throw invalid("query", repeated);
  return parseEntries(shape, values, "query");
}

/**
 * Reads a JSON request body: the media type must be application/json (415 otherwise),
 * the body at most MAX_JSON_BYTES (413) and well-formed JSON (400).
 */
export async function readJsonBody(request: Request): Promise<unknown> {
  requireMediaType(request, ["application/json"]);
  const text = await readText(request, MAX_JSON_BYTES);
  if (text.trim() === "")
    throw new MalformedRequestError("request body is empty; send a JSON object");
  try {
    return JSON.parse(text);
  } catch (error) {
    const reason = error instanceof SyntaxError ? `: ${error.message}` : "";
    throw new MalformedRequestError(`request body is not valid JSON${reason}`, { cause: error });
  }
}

/** Throws UnsupportedMediaTypeError unless the request's Content-Type is one of accepted. */
export function requireMediaType(request: Request, accepted: readonly string[]): string {
  const header = request.headers.get("content-type") ?? undefined;
  const mediaType = header?.split(";")[0]?.trim().toLowerCase();
  if (mediaType === undefined || !accepted.includes(mediaType)) {
    throw new UnsupportedMediaTypeError(header, accepted);
  }
  return mediaType;
}

function parseEntries<S extends Shape>(
  shape: S,
  input: Map<string, unknown>,
  what: string,
): ShapeValue<S> {
  const errors: string[] = [];
  for (const key of input.keys()) {
    if (!Object.hasOwn(shape, key)) errors.push(`${key}: unknown field`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(shape)) {
    const value = input.get(key);
    if (value === undefined) {
      if (!field.optional) errors.push(`${key}: required`);
      continue;
    }
    const checked = field.check(value);
    if (checked.ok) out[key] = checked.value;
    else errors.push(`${key}: ${checked.message}`);
  }
  if (errors.length > 0) throw invalid(what, errors);
  // Every key of the shape was checked above, so the object has the shape's types.
  return out as ShapeValue<S>;
}

async function readText(request: Request, limit: number): Promise<string> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw new PayloadTooLargeError(limit);
  const body: ReadableStream<Uint8Array> | null = request.body;
  if (body === null) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > limit) throw new PayloadTooLargeError(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function invalid(what: string, errors: readonly string[]): ValidationError {
  return new ValidationError(`invalid ${what}: ${errors.join("; ")}`, errors);
}

function required<T>(check: (value: unknown) => Checked<T>): Field<T> {
  return { optional: false, check };
}

function pass<T>(value: T): Checked<T> {
  return { ok: true, value };
}

function fail(message: string): Checked<never> {
  return { ok: false, message };
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}
