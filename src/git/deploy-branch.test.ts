import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ValidationError } from "../domain/errors.ts";
import {
  decodeBranches,
  deployBranches,
  encodeBranches,
  validateBranchName,
} from "./deploy-branch.ts";

describe("deploy branches", () => {
  it("defaults to main and master; a configured branch comes with main", () => {
    assert.deepEqual(deployBranches(undefined), ["main", "master"]);
    assert.deepEqual(deployBranches(""), ["main", "master"]);
    assert.deepEqual(deployBranches("production"), ["main", "production"]);
    assert.deepEqual(deployBranches("main"), ["main"]);
  });

  it("round-trips through the hooks' environment", () => {
    assert.deepEqual(decodeBranches(encodeBranches(["main", "release/v2"])), [
      "main",
      "release/v2",
    ]);
    assert.deepEqual(decodeBranches(undefined), ["main", "master"]);
  });

  it("accepts ordinary branch names and refuses unsafe ones", () => {
    assert.equal(validateBranchName("production"), "production");
    assert.equal(validateBranchName("refs/heads/release/v2"), "release/v2");
    for (const bad of ["", "../x", ".hidden", "a b", "x.lock", "a,b", "x".repeat(101)]) {
      assert.throws(() => validateBranchName(bad), ValidationError, bad);
    }
  });
});
