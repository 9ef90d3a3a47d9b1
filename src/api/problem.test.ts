import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HTTPException } from "hono/http-exception";
import {
  BuildFailedError,
  ConflictError,
  DriverError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  SlipwayError,
  UnauthorizedError,
  ValidationError,
} from "../domain/errors.ts";
import { createApi } from "./api.ts";
import { fakeDeps } from "./fake-deps.ts";
import { MalformedRequestError, UnsupportedMediaTypeError } from "./http-errors.ts";
import { problemResponse, toProblem } from "./problem.ts";
import { SqliteStore } from "../store/sqlite/sqlite-store.ts";

describe("toProblem", () => {
  const cases: [Error, number, string][] = [
    [new MalformedRequestError("bad json"), 400, "malformed_request"],
    [new UnauthorizedError(), 401, "unauthorized"],
    [new ForbiddenError(), 403, "forbidden"],
    [new NotFoundError("app", "shop"), 404, "app_not_found"],
    [new ConflictError("exists"), 409, "conflict"],
    [new PayloadTooLargeError(10), 413, "payload_too_large"],
    [
      new UnsupportedMediaTypeError("text/plain", ["application/json"]),
      415,
      "unsupported_media_type",
    ],
    [new ValidationError("bad", ["a: required"]), 422, "invalid_input"],
    [new BuildFailedError("no buildpack"), 422, "build_failed"],
    [new DriverError("engine", "socket closed"), 502, "engine_error"],
    [new HTTPException(405, { message: "method" }), 405, "http_error"],
  ];
  for (const [error, status, code] of cases) {
    it(`maps ${error.constructor.name} to ${status}`, () => {
      const problem = toProblem(error);
      assert.equal(problem.status, status);
      assert.equal(problem.code, code);
      assert.equal(problem.detail, error.message);
      assert.equal(problem.type, "about:blank");
    });
  }

  it("carries a validation error's details in errors[]", () => {
    assert.deepEqual(
      toProblem(new ValidationError("bad", ["a: required", "b: unknown field"])).errors,
      ["a: required", "b: unknown field"],
    );
  });

  it("hides unknown errors (and unmapped SlipwayErrors) behind a plain 500", () => {
    for (const error of [
      new Error("SQLITE_CORRUPT at /var/lib/slipway/slipway.db"),
      new SlipwayError("new_thing", "secret internals"),
      "a string",
      new HTTPException(503, { message: "upstream at 10.0.0.1" }),
    ]) {
      const problem = toProblem(error);
      assert.equal(problem.status, 500);
      assert.equal(problem.code, "internal_error");
      assert.doesNotMatch(JSON.stringify(problem), /SQLITE|var\/lib|secret|10\.0\.0\.1/);
    }
  });
});

describe("problemResponse", () => {
  it("is application/problem+json with the status", async () => {
    const res = problemResponse(toProblem(new NotFoundError("app", "shop")));
    assert.equal(res.status, 404);
    assert.equal(res.headers.get("content-type"), "application/problem+json");
    assert.deepEqual(await res.json(), {
      type: "about:blank",
      title: "Not Found",
      status: 404,
      detail: 'app "shop" does not exist',
      code: "app_not_found",
      errors: [],
    });
  });
});

describe("createApi error handling", () => {
  it("reports internal errors to onInternalError and answers a bare 500", async () => {
    const store = new SqliteStore(":memory:");
    const reported: unknown[] = [];
    const deps = {
      ...fakeDeps(store, { uploadDir: "/nonexistent" }),
      onInternalError: (error: unknown) => reported.push(error),
    };
    const api = createApi(deps);
    api.get("/boom", () => {
      throw new Error("disk on fire");
    });
    const res = await api.request("/boom");
    assert.equal(res.status, 500);
    const body = (await res.json()) as { detail: string };
    assert.doesNotMatch(body.detail, /disk/);
    assert.equal((reported[0] as Error).message, "disk on fire");
    await store.close();
  });
});
