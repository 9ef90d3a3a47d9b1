import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PayloadTooLargeError, ValidationError } from "../domain/errors.ts";
import { MalformedRequestError, UnsupportedMediaTypeError } from "./http-errors.ts";
import {
  boolean,
  flag,
  integer,
  optional,
  parseObject,
  parseQuery,
  readJsonBody,
  requireMediaType,
  string,
} from "./validate.ts";

const shape = {
  name: string({ maxLength: 5 }),
  quantity: optional(integer({ min: 0, max: 10 })),
  enabled: optional(boolean()),
};

function errorsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ValidationError) return error.details;
    throw error;
  }
  assert.fail("expected a ValidationError");
}

describe("parseObject", () => {
  it("returns the typed value", () => {
    const value = parseObject(shape, { name: "web", quantity: 3 });
    assert.deepEqual(value, { name: "web", quantity: 3 });
    const name: string = value.name;
    const quantity: number | undefined = value.quantity;
    assert.equal(name, "web");
    assert.equal(quantity, 3);
  });

  it("lists every problem at once", () => {
    assert.deepEqual(
      errorsOf(() => parseObject(shape, { quantity: 1.5, enabled: "yes", extra: 1 })),
      [
        "extra: unknown field",
        "name: required",
        "quantity: expected an integer, got a number",
        "enabled: expected a boolean, got a string",
      ],
    );
  });

  it("checks bounds", () => {
    assert.deepEqual(
      errorsOf(() => parseObject(shape, { name: "toolong", quantity: 11 })),
      ["name: must be at most 5 characters", "quantity: must be between 0 and 10"],
    );
  });

  it("refuses non-objects", () => {
    for (const input of [null, [], "x", 1]) {
      assert.throws(() => parseObject(shape, input), ValidationError);
    }
  });

  it("treats __proto__ as an unknown field, not a prototype", () => {
    const input: unknown = JSON.parse('{"name":"web","__proto__":{"admin":true}}');
    assert.deepEqual(
      errorsOf(() => parseObject(shape, input)),
      ["__proto__: unknown field"],
    );
  });
});

describe("parseQuery", () => {
  it("parses flags and refuses unknown or repeated parameters", () => {
    const query = { follow: optional(flag()) };
    assert.deepEqual(parseQuery(query, "http://x/?follow=1"), { follow: true });
    assert.deepEqual(parseQuery(query, "http://x/?follow=false"), { follow: false });
    assert.deepEqual(parseQuery(query, "http://x/"), {});
    assert.deepEqual(
      errorsOf(() => parseQuery(query, "http://x/?follow=yes")),
      ['follow: expected 1, true, 0 or false, got "yes"'],
    );
    assert.deepEqual(
      errorsOf(() => parseQuery(query, "http://x/?a=1&follow=1&follow=0")),
      ["follow: given more than once"],
    );
    assert.deepEqual(
      errorsOf(() => parseQuery(query, "http://x/?a=1")),
      ["a: unknown field"],
    );
  });
});

describe("readJsonBody", () => {
  const post = (body: string, type: string | null = "application/json"): Request =>
    new Request("http://x/", {
      method: "POST",
      body,
      headers: type === null ? {} : { "content-type": type },
    });

  it("parses JSON", async () => {
    assert.deepEqual(await readJsonBody(post('{"a":1}')), { a: 1 });
  });

  it("distinguishes media type, syntax and size errors", async () => {
    await assert.rejects(readJsonBody(post("{}", "text/plain")), UnsupportedMediaTypeError);
    await assert.rejects(readJsonBody(post("{}", null)), UnsupportedMediaTypeError);
    await assert.rejects(readJsonBody(post("{nope")), MalformedRequestError);
    await assert.rejects(readJsonBody(post("  ")), MalformedRequestError);
    await assert.rejects(readJsonBody(post(" ".repeat(70_000))), PayloadTooLargeError);
  });
});

describe("requireMediaType", () => {
  it("ignores parameters and case", () => {
    const request = new Request("http://x/", {
      headers: { "content-type": "Application/GZIP; x=1" },
    });
    assert.equal(requireMediaType(request, ["application/gzip"]), "application/gzip");
  });
});
