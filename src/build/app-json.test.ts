import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BuildFailedError } from "../domain/errors.ts";
import { appManifestOf } from "./app-json.ts";

const source = (file: Buffer | "too large" | null) => ({ rootFile: () => file });

describe("appManifestOf", () => {
  it("parses the app.json kept from the source, or says there is none", () => {
    assert.equal(appManifestOf(source(null)), null);
    const manifest = appManifestOf(source(Buffer.from('{"scripts": {"postdeploy": "x"}}')));
    assert.equal(manifest?.postdeploy, "x");
  });

  it("fails the build on a malformed or oversized one, saying why", () => {
    assert.throws(() => appManifestOf(source(Buffer.from("{"))), BuildFailedError);
    assert.throws(() => appManifestOf(source("too large")), /larger than 65536 bytes/);
  });
});
