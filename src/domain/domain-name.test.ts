import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ValidationError } from "./errors.ts";
import { isUnder, validateHostname } from "./domain-name.ts";

describe("validateHostname", () => {
  it("accepts DNS names and folds case", () => {
    assert.equal(validateHostname("WWW.Example.COM"), "www.example.com");
    assert.equal(validateHostname("a-b.c1.example"), "a-b.c1.example");
    assert.equal(validateHostname(`${"a".repeat(63)}.example`), `${"a".repeat(63)}.example`);
  });

  it("refuses anything that could break out of the router configuration", () => {
    for (const bad of [
      "",
      "example",
      "example.com.",
      ".example.com",
      "a..b.com",
      "-a.example.com",
      "a-.example.com",
      "*.example.com",
      "a b.example.com",
      "a.example.com\nuse_backend x",
      "a.example.com\r\n",
      'a"b.example.com',
      "a'b.example.com",
      "a.example.com:443",
      "a.example.com/x",
      "${HOME}.example.com",
      "1.2.3.4",
      "[::1]",
      `${"a".repeat(64)}.example`,
      `${"a.".repeat(127)}com`,
      "xn--é.example",
      42,
      null,
    ]) {
      assert.throws(() => validateHostname(bad), ValidationError, JSON.stringify(bad));
    }
  });

  it("tells names under the platform domain", () => {
    assert.ok(isUnder("slipway.localhost", "slipway.localhost"));
    assert.ok(isUnder("a.slipway.localhost", "slipway.localhost"));
    assert.ok(!isUnder("aslipway.localhost", "slipway.localhost"));
  });
});
