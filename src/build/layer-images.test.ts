import assert from "node:assert/strict";
import type { Readable } from "node:stream";
import { describe, it } from "node:test";
import { ConflictError } from "../domain/errors.ts";
import type { BuildImageOptions, ImageInfo } from "../engine/engine.ts";
import {
  knownLayers,
  layerBase,
  listLayerImages,
  pruneLayerImages,
  type CachedSlugPart,
} from "./layer-images.ts";
import type { StackImages } from "./stack-builder.ts";
import { packTar } from "./tar-files.ts";
import { unpackTar } from "../engine/tar-files.ts";

type Labels = Readonly<Record<string, string>>;

const RUN_ID = `sha256:${"1".repeat(64)}`;
const stack = { name: "slipway-24", version: "24.1", run: { imageId: RUN_ID } } as StackImages;

/** An engine that records builds and keeps images by tag (just what layerBase uses). */
function stubEngine() {
  const images = new Map<string, ImageInfo>();
  const builds: { reference: string; dockerfile: string }[] = [];
  let next = 0;
  return {
    images,
    builds,
    async buildImage(context: Readable, options: BuildImageOptions): Promise<ImageInfo> {
      const files = await unpackTar(context);
      const dockerfile = files.find((f) => f.path === "Dockerfile")?.data.toString("utf8") ?? "";
      builds.push({ reference: options.reference, dockerfile });
      next++;
      const info: ImageInfo = {
        id: `sha256:${String(next).padStart(64, "0")}`,
        digest: `sha256:${String(next).padStart(64, "0")}`,
        tags: [options.reference],
        labels: options.labels,
        sizeBytes: 0,
        createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, next)).toISOString(),
      };
      images.set(options.reference, info);
      return info;
    },
    inspectImage(ref: string): Promise<ImageInfo | undefined> {
      return Promise.resolve(images.get(ref));
    },
  };
}

function part(name: string, digest: string, opened: string[], reused = false): CachedSlugPart {
  return {
    name,
    digest: digest.repeat(64),
    reused,
    open: () => {
      opened.push(name);
      return Promise.resolve(
        packTar([{ name: `${name}/.marker`, content: name, mode: 0o644 }], []),
      );
    },
  };
}

describe("layerBase", () => {
  it("builds each part once as the app's layer image, then reuses it without reading it", async () => {
    const engine = stubEngine();
    const opened: string[] = [];
    const log: string[] = [];
    const input = {
      engine,
      appName: "web",
      stack,
      labels: { "io.slipway.stack": "slipway-24" },
      log: (line: string) => log.push(line),
    };
    const first = await layerBase({
      ...input,
      parts: [part("runtime", "a", opened), part("deps", "b", opened)],
    });
    assert.deepEqual(opened, ["runtime", "deps"]);
    assert.equal(engine.builds.length, 2);
    assert.match(engine.builds[0]?.dockerfile ?? "", new RegExp(`^FROM ${"1".repeat(64)}\\n`));
    assert.match(engine.builds[0]?.dockerfile ?? "", /\nCOPY --chown=1000:1000 runtime\/ \/\n$/);
    assert.match(engine.builds[1]?.dockerfile ?? "", /\nCOPY --chown=1000:1000 deps\/ \/\n$/);
    assert.equal(first.chain.length, 2);
    assert.equal(first.id, first.chain[1]);
    assert.equal(first.built, true);
    const runtimeImage = [...engine.images.values()][0];
    assert.ok(runtimeImage);
    assert.equal(runtimeImage.labels["io.slipway.role"], "layer");
    assert.equal(runtimeImage.labels["io.slipway.app"], "web");
    assert.match(runtimeImage.tags[0] ?? "", /^slipway\/app-web-layers:[0-9a-f]{64}$/);

    // Same digests: nothing is read or built.
    opened.length = 0;
    const again = await layerBase({
      ...input,
      parts: [part("runtime", "a", opened), part("deps", "b", opened)],
    });
    assert.deepEqual(again, { ...first, built: false });
    assert.deepEqual(opened, []);
    assert.equal(engine.builds.length, 2);
    assert.ok(log.some((line) => /runtime: unchanged/.test(line)));

    // New dependencies: only that layer is built, on the unchanged runtime image.
    const changed = await layerBase({
      ...input,
      parts: [part("runtime", "a", opened), part("deps", "c", opened)],
    });
    assert.deepEqual(opened, ["deps"]);
    assert.equal(changed.built, true);
    assert.equal(changed.chain[0], first.chain[0]);
    assert.notEqual(changed.id, first.id);
    assert.match(
      engine.builds[2]?.dockerfile ?? "",
      new RegExp(`^FROM ${(first.chain[0] ?? "").slice(7)}\\n`),
    );
  });

  it("keys a layer by everything below it and the app: no reuse across apps or stacks", async () => {
    const engine = stubEngine();
    const opened: string[] = [];
    const base = { engine, stack, labels: {}, log: () => undefined };
    await layerBase({ ...base, appName: "one", parts: [part("deps", "b", opened)] });
    await layerBase({ ...base, appName: "two", parts: [part("deps", "b", opened)] });
    await layerBase({
      ...base,
      appName: "one",
      stack: { ...stack, run: { imageId: `sha256:${"2".repeat(64)}` } } as StackImages,
      parts: [part("deps", "b", opened)],
    });
    assert.deepEqual(opened, ["deps", "deps", "deps"]);
    // An image under the right tag but without the app's labels is not trusted.
    const [reference] = [...engine.images.keys()];
    assert.ok(reference);
    const stale = engine.images.get(reference);
    assert.ok(stale);
    engine.images.set(reference, { ...stale, labels: {} });
    await layerBase({ ...base, appName: "one", parts: [part("deps", "b", opened)] });
    assert.equal(opened.length, 4);
  });
});

describe("declared layers", () => {
  it("lists the app's layers on this stack's run image, which a build may then reuse unmade", async () => {
    const engine = stubEngine();
    const opened: string[] = [];
    const input = { engine, stack, labels: {}, log: () => undefined };
    await layerBase({
      ...input,
      appName: "web",
      parts: [part("nodejs", "a", opened), part("deps", "b", opened)],
    });
    await layerBase({ ...input, appName: "other", parts: [part("nodejs", "c", opened)] });
    const otherStack = { ...stack, run: { imageId: `sha256:${"2".repeat(64)}` } } as StackImages;
    await layerBase({
      ...input,
      stack: otherStack,
      appName: "web",
      parts: [part("nodejs", "d", opened)],
    });
    const listing = {
      listImages: (labels?: Readonly<Record<string, string>>) =>
        Promise.resolve(
          [...engine.images.values()].filter((image) =>
            Object.entries(labels ?? {}).every(([k, v]) => image.labels[k] === v),
          ),
        ),
    };
    // Each chain from the stack's run image up, bottom first: deps only on top of nodejs.
    const chains = `nodejs ${"a".repeat(64)}\nnodejs ${"a".repeat(64)} deps ${"b".repeat(64)}\n`;
    assert.equal(await knownLayers(listing, "web", RUN_ID), chains);
    assert.equal(await knownLayers(listing, "nobody", RUN_ID), "");
    // A list made before (while the daemon opened the source) is used as it is.
    const refuse = { listImages: () => Promise.reject(new Error("listed twice")) };
    assert.equal(await knownLayers(refuse, "web", RUN_ID, listLayerImages(listing, "web")), chains);

    opened.length = 0;
    const reused = await layerBase({
      ...input,
      appName: "web",
      parts: [part("nodejs", "a", opened, true), part("deps", "b", opened)],
    });
    assert.deepEqual(opened, [], "nothing is read");
    assert.equal(reused.chain.length, 2);
  });

  it("takes a chain's images from the list made at the build's start, without a lookup", async () => {
    const engine = stubEngine();
    const opened: string[] = [];
    const input = { engine, stack, appName: "web", labels: {}, log: () => undefined };
    const first = await layerBase({
      ...input,
      parts: [part("nodejs", "a", opened), part("deps", "b", opened)],
    });
    const listed = [...engine.images.values()];
    let lookups = 0;
    const counting = {
      ...engine,
      inspectImage: (ref: string) => {
        lookups++;
        return engine.inspectImage(ref);
      },
    };
    const again = await layerBase({
      ...input,
      engine: counting,
      listed,
      parts: [part("nodejs", "a", opened, true), part("deps", "b", opened)],
    });
    assert.deepEqual(again.chain, first.chain);
    assert.equal(lookups, 0, "both found in the list");
    // A part the list does not have is looked up (and built).
    await layerBase({
      ...input,
      engine: counting,
      listed,
      parts: [part("nodejs", "a", opened, true), part("deps", "c", opened)],
    });
    assert.equal(lookups, 1);
  });

  it("fails the build when a reused layer's image is gone, without reading it", async () => {
    const engine = stubEngine();
    const opened: string[] = [];
    await assert.rejects(
      layerBase({
        engine,
        stack,
        appName: "web",
        labels: {},
        log: () => undefined,
        parts: [part("nodejs", "a", opened, true)],
      }),
      /the nodejs layer the build reused \(aaaaaaaaaaaa\) is no longer there: push again/,
    );
    assert.deepEqual(opened, []);
    assert.equal(engine.builds.length, 0);
  });
});

describe("pruneLayerImages", () => {
  it("removes the app's other layer images, newest first, and shrugs off refusals", async () => {
    const image = (id: string, createdAt: string): ImageInfo => ({
      id,
      digest: id,
      tags: [],
      labels: {},
      sizeBytes: 0,
      createdAt,
    });
    const listed: Labels[] = [];
    const removed: string[] = [];
    const engine = {
      listImages(labels?: Labels): Promise<ImageInfo[]> {
        listed.push(labels ?? {});
        return Promise.resolve([
          image("old-parent", "2026-01-01T00:00:00.000Z"),
          image("current", "2026-01-01T00:00:01.000Z"),
          image("old-child", "2026-01-01T00:00:02.000Z"),
          image("in-use", "2026-01-01T00:00:03.000Z"),
        ]);
      },
      removeImage(id: string): Promise<void> {
        if (id === "in-use") return Promise.reject(new ConflictError("image has children"));
        removed.push(id);
        return Promise.resolve();
      },
    };
    assert.equal(await pruneLayerImages(engine, "web", ["current"]), 2);
    assert.deepEqual(removed, ["old-child", "old-parent"]);
    assert.deepEqual(listed, [{ "io.slipway.app": "web", "io.slipway.role": "layer" }]);
  });
});
