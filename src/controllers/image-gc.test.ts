import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GC_GRACE_MS, selectImagesToRemove } from "./image-gc.ts";

const now = Date.parse("2026-11-29T12:00:00Z");
const old = new Date(now - GC_GRACE_MS - 1000).toISOString();
const img = (n: number, createdAt = old) => ({
  id: `sha256:${String(n).padStart(64, "0")}`,
  digest: `sha256:${String(n).padStart(64, "0")}`,
  tags: [],
  createdAt,
});
const rel = (version: number, image: number) => ({
  version,
  imageRef: img(image).id,
  imageDigest: img(image).digest,
});

describe("selectImagesToRemove", () => {
  it("keeps the images of the newest releases and removes older ones", () => {
    const images = [1, 2, 3, 4, 5].map((n) => img(n));
    const releases = [rel(1, 1), rel(2, 2), rel(3, 3), rel(4, 4), rel(5, 5)];
    assert.deepEqual(selectImagesToRemove({ images, releases, inUse: new Set(), keep: 3, now }), [
      img(1).id,
      img(2).id,
    ]);
  });

  it("counts releases, not images: rollbacks and config changes share an image", () => {
    const images = [1, 2].map((n) => img(n));
    // v3 rolled back to v1's image, v4 changed config of it.
    const releases = [rel(1, 1), rel(2, 2), rel(3, 1), rel(4, 1)];
    assert.deepEqual(selectImagesToRemove({ images, releases, inUse: new Set(), keep: 2, now }), [
      img(2).id,
    ]);
  });

  it("never removes an image a container uses, or a young image", () => {
    const images = [img(1), img(2), img(3, new Date(now - 1000).toISOString())];
    const releases = [rel(5, 9)];
    assert.deepEqual(
      selectImagesToRemove({ images, releases, inUse: new Set([img(1).id]), keep: 1, now }),
      [img(2).id],
    );
  });

  it("removes nothing when every image belongs to a kept release", () => {
    const images = [img(1), img(2)];
    const releases = [rel(1, 1), rel(2, 2)];
    assert.deepEqual(
      selectImagesToRemove({ images, releases, inUse: new Set(), keep: 10, now }),
      [],
    );
  });
});
