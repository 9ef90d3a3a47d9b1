import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { applyConfigChange, parseAssignments, validateConfigVarName } from "./config-vars.ts";
import { ValidationError } from "./errors.ts";

describe("config vars", () => {
  it("parses NAME=VALUE, keeping '=' and empty values", () => {
    assert.deepEqual(parseAssignments(["A=1", "URL=x=y", "EMPTY="]), {
      A: "1",
      URL: "x=y",
      EMPTY: "",
    });
  });

  it("rejects missing '=', bad and reserved names without echoing values", () => {
    for (const bad of ["NOVALUE", "=x", "1A=x", "A-B=x", "PORT=1", "SLIPWAY_APP=x"]) {
      assert.throws(() => parseAssignments([bad]), ValidationError, bad);
    }
    assert.throws(
      () => parseAssignments(["bad-name=supersecret"]),
      (e: Error) => !e.message.includes("supersecret"),
    );
    assert.equal(validateConfigVarName("_OK1"), "_OK1");
  });

  it("applies sets and unsets and enforces limits", () => {
    assert.deepEqual(applyConfigChange({ A: "1", B: "2" }, { C: "3", A: "x" }, ["B"]), {
      A: "x",
      C: "3",
    });
    assert.throws(() => applyConfigChange({}, { A: "\0" }, []), ValidationError);
    assert.throws(() => applyConfigChange({}, { A: "x".repeat(40_000) }, []), ValidationError);
  });
});
