import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SourceArchive } from "../build/source-archive.ts";
import { ValidatedSources } from "./validated-sources.ts";

const archive = (checksum: string): SourceArchive => ({ checksum }) as unknown as SourceArchive;

describe("ValidatedSources", () => {
  it("hands a checked archive to one build, and forgets the oldest past its bound", () => {
    const sources = new ValidatedSources();
    sources.remember("/s/a", archive("sha256:a"));
    assert.equal(sources.take("/s/a")?.checksum, "sha256:a");
    assert.equal(sources.take("/s/a"), undefined, "taken once");
    for (let i = 0; i < 65; i++) sources.remember(`/s/${String(i)}`, archive(String(i)));
    assert.equal(sources.take("/s/0"), undefined);
    assert.equal(sources.take("/s/64")?.checksum, "64");
  });
});
