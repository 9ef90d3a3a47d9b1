import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConflictError, DriverError, NotFoundError } from "../../domain/errors.ts";
import { EngineResponseError, mapEngineError } from "./api-errors.ts";

const path = "/containers/cbec781a/json";

describe("mapEngineError", () => {
  it("maps 404 to NotFoundError naming the object", () => {
    const error = mapEngineError("GET", path, 404, '{"message":"no such container"}');
    assert.ok(error instanceof NotFoundError);
    assert.match(error.message, /container/);
    assert.match(error.message, /cbec781a/);
  });

  it("maps Podman's 500 for an object removed while it answered to NotFoundError", () => {
    const body = JSON.stringify({
      cause: "no such container",
      message: "container cbec781a does not exist in database: no such container",
      response: 500,
    });
    const error = mapEngineError("GET", path, 500, body);
    assert.ok(error instanceof NotFoundError);
    assert.ok(error.cause instanceof EngineResponseError);
    assert.equal(error.cause.status, 500);
  });

  it("keeps a 500 about another kind of object a DriverError", () => {
    const body = '{"message":"busybox: image not known: no such image"}';
    const error = mapEngineError("POST", "/containers/create", 500, body);
    assert.ok(error instanceof DriverError);
  });

  it("keeps other 500s as DriverError with the engine's words", () => {
    const error = mapEngineError("POST", "/containers/create", 500, '{"message":"disk full"}');
    assert.ok(error instanceof DriverError);
    assert.match(error.message, /disk full/);
  });

  it("maps 409 to ConflictError", () => {
    const error = mapEngineError("POST", path, 409, '{"message":"name in use"}');
    assert.ok(error instanceof ConflictError);
  });
});
