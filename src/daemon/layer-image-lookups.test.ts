import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ImageInfo } from "../engine/engine.ts";
import { LayerImageLookups } from "./layer-image-lookups.ts";

/** An engine whose image list answers the current `images` and counts the lists. */
function engine(): { lists: number; images: string[]; listImages(): Promise<ImageInfo[]> } {
  const state = {
    lists: 0,
    images: ["sha256:a"],
    listImages(): Promise<ImageInfo[]> {
      state.lists++;
      const now = state.images.map((id) => ({
        id,
        digest: id,
        tags: [],
        labels: {},
        sizeBytes: 0,
        createdAt: "",
      }));
      return Promise.resolve(now);
    },
  };
  return state;
}

const ids = async (images: Promise<ImageInfo[]>): Promise<string[]> =>
  (await images).map((i) => i.id);

describe("LayerImageLookups", () => {
  it("hands a build the list looked up when its push began", async () => {
    const e = engine();
    const lookups = new LayerImageLookups(e);
    lookups.lookAhead("shop");
    assert.equal(e.lists, 1);
    assert.deepEqual(await ids(lookups.take("shop")), ["sha256:a"]);
    assert.equal(e.lists, 1, "no second list");
    // Used once: the next build lists again.
    await lookups.take("shop");
    assert.equal(e.lists, 2);
  });

  it("lists again after a build ended or the app was forgotten meanwhile", async () => {
    const e = engine();
    const lookups = new LayerImageLookups(e);
    lookups.lookAhead("shop");
    e.images = ["sha256:b"]; // a build that was running made a layer image, then ended
    lookups.changed("shop");
    assert.deepEqual(await ids(lookups.take("shop")), ["sha256:b"]);
    assert.equal(e.lists, 2);
  });

  it("lists again when the lookup is too old, or was for another app", async () => {
    let now = 0;
    const e = engine();
    const lookups = new LayerImageLookups(e, () => now);
    lookups.lookAhead("shop");
    now = 10_001;
    await lookups.take("shop");
    assert.equal(e.lists, 2);
    lookups.lookAhead("blog");
    await lookups.take("shop");
    assert.equal(e.lists, 4);
  });

  it("lists again when the lookup ahead failed", async () => {
    let fail = true;
    const e = engine();
    const flaky = {
      listImages: (): Promise<ImageInfo[]> =>
        fail ? Promise.reject(new Error("engine busy")) : e.listImages(),
    };
    const lookups = new LayerImageLookups(flaky);
    lookups.lookAhead("shop");
    fail = false;
    assert.deepEqual(await ids(lookups.take("shop")), ["sha256:a"]);
  });
});
