import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RecentRing } from "./recent-ring.ts";

describe("RecentRing", () => {
  it("keeps everything, oldest first, until it is full", () => {
    const ring = new RecentRing<number>(4);
    for (const n of [1, 2, 3]) ring.push(n);
    assert.equal(ring.size, 3);
    assert.deepEqual(ring.last(), [1, 2, 3]);
    assert.deepEqual(ring.last(2), [2, 3]);
  });

  it("then replaces the oldest, still returning oldest first", () => {
    const ring = new RecentRing<number>(3);
    for (let n = 1; n <= 8; n++) ring.push(n);
    assert.equal(ring.size, 3);
    assert.deepEqual(ring.last(), [6, 7, 8]);
    assert.deepEqual(ring.last(1), [8]);
    assert.deepEqual(ring.last(10), [6, 7, 8]);
    assert.deepEqual(ring.last(0), []);
  });

  it("refuses a capacity that is not a positive integer", () => {
    assert.throws(() => new RecentRing(0), RangeError);
    assert.throws(() => new RecentRing(1.5), RangeError);
  });
});
