import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Hono } from "hono";
import { SqliteStore } from "../store/sqlite/sqlite-store.ts";
import { createApi } from "./api.ts";
import type { ApiEnv } from "./context.ts";
import { createTestToken, fakeDeps, type FakeBuilderScript, type FakeDeps } from "./fake-deps.ts";

/** An API over an in-memory store and fake deps, with an admin token, for in-process tests. */
export interface ApiHarness {
  readonly api: Hono<ApiEnv>;
  readonly store: SqliteStore;
  readonly deps: FakeDeps;
  readonly token: string;
  readonly uploadDir: string;
  /** app.request() with the admin token (unless init sets Authorization itself). */
  request(path: string, init?: RequestInit): Promise<Response>;
  /** Files left in the upload dir (should always be none after a request). */
  leftovers(): Promise<string[]>;
  close(): Promise<void>;
}

/** Builds a fresh harness; call close() when done. */
export async function apiHarness(
  options: { maxUploadBytes?: number; script?: Partial<FakeBuilderScript> } = {},
): Promise<ApiHarness> {
  const uploadDir = await mkdtemp(join(tmpdir(), "slipway-api-"));
  const store = new SqliteStore(":memory:");
  const deps = fakeDeps(store, { uploadDir, ...options });
  const api = createApi(deps);
  const { secret } = await createTestToken(store);
  return {
    api,
    store,
    deps,
    token: secret,
    uploadDir,
    async request(path, init = {}) {
      const headers = new Headers(init.headers);
      if (!headers.has("authorization")) headers.set("authorization", `Bearer ${secret}`);
      return api.request(path, { ...init, headers });
    },
    leftovers: () => readdir(uploadDir),
    async close() {
      await store.close();
      await rm(uploadDir, { recursive: true, force: true });
    },
  };
}

/** Asserts that res is an RFC 9457 problem with this status and code; returns it. */
export async function expectProblem(
  res: Response,
  status: number,
  code: string,
): Promise<{ detail: string; errors: string[]; title: string; type: string }> {
  const body = (await res.json()) as Record<string, unknown>;
  assert.equal(res.status, status, JSON.stringify(body));
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  assert.deepEqual(Object.keys(body).sort(), [
    "code",
    "detail",
    "errors",
    "status",
    "title",
    "type",
  ]);
  assert.equal(body.status, status);
  assert.equal(body.code, code);
  assert.equal(body.type, "about:blank");
  assert.equal(typeof body.title, "string");
  assert.equal(typeof body.detail, "string");
  assert.ok(Array.isArray(body.errors));
  return body as { detail: string; errors: string[]; title: string; type: string };
}
