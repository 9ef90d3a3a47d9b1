import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { Config } from "../config/config.ts";
import { cacheEntryDir, STACK_LABELS, type StackImages } from "../build/stack-builder.ts";
import { readStackRecipe } from "../build/stack-recipe.ts";
import type { Engine, ImageInfo } from "../engine/engine.ts";
import { DEFAULT_STACK_DIR, StackLookups, stackLookup } from "./stack.ts";

const cacheDir = mkdtempSync(join(tmpdir(), "sw-stack-"));
after(() => {
  rmSync(cacheDir, { recursive: true, force: true });
});

const config = { build: { stackCacheDir: cacheDir } } as unknown as Config;

/** An engine whose stack images carry `digest`, counting the lookups. */
function engine(digest: () => string): Pick<Engine, "inspectImage"> & { looks: number } {
  const e = {
    looks: 0,
    inspectImage(ref: string): Promise<ImageInfo | undefined> {
      e.looks++;
      return Promise.resolve({
        id: `sha256:${ref.includes("run") ? "1" : "2"}`,
        digest: "",
        tags: [ref],
        labels: { [STACK_LABELS.digest]: digest() },
        sizeBytes: 0,
        createdAt: "",
      });
    },
  };
  return e;
}

describe("stackLookup", () => {
  it("fails while the stack is not built, then reads recipe and manifest once", async () => {
    let digest = "sha256:aa";
    const e = engine(() => digest);
    const lookup = stackLookup(config, e as unknown as Engine);
    await assert.rejects(lookup(), /stack is not built yet/);

    const entry = cacheEntryDir(cacheDir, await readStackRecipe(DEFAULT_STACK_DIR));
    mkdirSync(entry, { recursive: true });
    const tarball = { file: join(entry, "x.tar"), digest: "sha256:aa", sizeBytes: 1 };
    const manifest = JSON.stringify({ recipeDigest: "", run: tarball, build: tarball });
    writeFileSync(join(entry, "manifest.json"), manifest);
    const first = await lookup();
    assert.equal(first.run.imageId, "sha256:1");

    // Read once: the entry never changes once written (removing it shows it is not read).
    rmSync(join(entry, "manifest.json"));
    assert.equal((await lookup()).build.imageId, "sha256:2");
    // The images are looked up every time: a stack rebuilt since is noticed.
    digest = "sha256:bb";
    await assert.rejects(lookup(), /stack is not built yet/);
    assert.equal(e.looks, 6);
  });
});

describe("StackLookups", () => {
  const stack = (id: string): StackImages =>
    ({ name: "slipway-24", run: { imageId: id }, build: { imageId: id } }) as StackImages;

  it("gives a build the lookup made when its push began, once, while it is fresh", async () => {
    let now = 1_000;
    let looks = 0;
    const lookups = new StackLookups(
      () => Promise.resolve(stack(`sha256:${String(++looks)}`)),
      () => now,
    );
    lookups.lookAhead();
    now += 50;
    assert.equal((await lookups.take()).run.imageId, "sha256:1");
    assert.equal(looks, 1, "no second lookup");
    // Used once: the next build looks again.
    assert.equal((await lookups.take()).run.imageId, "sha256:2");
    // A lookup ahead that waited too long is not used.
    lookups.lookAhead();
    now += 10_001;
    assert.equal((await lookups.take()).run.imageId, "sha256:4");
  });

  it("looks again when the lookup ahead failed", async () => {
    let fail = true;
    const lookups = new StackLookups(() =>
      fail ? Promise.reject(new Error("engine restarting")) : Promise.resolve(stack("sha256:9")),
    );
    lookups.lookAhead();
    fail = false;
    assert.equal((await lookups.take()).run.imageId, "sha256:9");
  });
});
