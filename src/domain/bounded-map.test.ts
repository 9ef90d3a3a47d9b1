import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BoundedMap } from "./bounded-map.ts";

describe("BoundedMap", () => {
  it("forgets the oldest past its bound; setting again makes an entry the newest", () => {
    const map = new BoundedMap<string, number>(2);
    map.set("a", 1);
    map.set("b", 2);
    map.set("a", 3);
    map.set("c", 4);
    assert.deepEqual([map.get("a"), map.get("b"), map.get("c"), map.size], [3, undefined, 4, 2]);
    assert.equal(map.take("a"), 3);
    assert.equal(map.get("a"), undefined);
    map.delete("c");
    assert.equal(map.size, 0);
  });
});
