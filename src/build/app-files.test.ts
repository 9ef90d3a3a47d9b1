import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import type { CommitOptions, ImageInfo } from "../engine/engine.ts";
import { packTar, tarDirectory, tarFile, tarSymlink, type TarFile } from "../engine/tar-files.ts";
import { predictAppFiles } from "./app-files-preload.ts";
import { createAppImage, type AppImageInput } from "./app-image.ts";
import type { CachedSlugPart } from "./layer-images.ts";
import { sourceLayer } from "./source-layer.ts";
import type { StackImages } from "./stack-builder.ts";
import { asNodeReadable, forEachTarEntry } from "./tar-stream-node.ts";

/**
 * The app's files as two layers (source-layer.ts, app-files-preload.ts) against an engine
 * that stacks layers as Podman does: the image has exactly the files the one-layer image
 * has, and a warm build's layers are the ones stored while its buildpacks ran.
 */

interface Entry {
  readonly type: string;
  readonly mode: number;
  readonly owner: string;
  readonly body: string;
}

interface StubImage {
  readonly info: ImageInfo;
  readonly files: ReadonlyMap<string, Entry>;
  /** Digests of its layers, bottom first. */
  readonly layers: readonly string[];
}

/** An engine with Podman's appendLayer: an image is its base's layers plus one tar. */
function layerEngine() {
  const images = new Map<string, StubImage>();
  const byRef = new Map<string, string>();
  const appended: { base: string; layer: string; reference: string }[] = [];
  let clock = 0;
  const find = (ref: string): StubImage | undefined => images.get(byRef.get(ref) ?? ref);
  const add = (
    reference: string,
    labels: Record<string, string>,
    files: Map<string, Entry>,
    layers: string[],
  ): ImageInfo => {
    const id = `sha256:${createHash("sha256")
      .update(JSON.stringify([layers, labels, reference]))
      .digest("hex")}`;
    clock++;
    const info: ImageInfo = {
      id,
      digest: id,
      tags: [reference],
      labels,
      sizeBytes: 0,
      createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, clock)).toISOString(),
    };
    images.set(id, { info, files, layers });
    byRef.set(reference, id);
    return info;
  };
  add(
    "slipway/stack-run:1",
    {},
    new Map([["usr", { type: "directory", mode: 0o755, owner: "0:0", body: "" }]]),
    ["run"],
  );
  return {
    images,
    appended,
    runId: byRef.get("slipway/stack-run:1") ?? "",
    find,
    buildImage(): Promise<ImageInfo> {
      return Promise.reject(new Error("not used: appendLayer is"));
    },
    importImage(): Promise<ImageInfo> {
      return Promise.reject(new Error("not used"));
    },
    async appendLayer(base: string, files: Readable, options: CommitOptions): Promise<ImageInfo> {
      const parent = find(base);
      if (parent === undefined) throw new Error(`no image ${base}`);
      const chunks: Buffer[] = [];
      for await (const chunk of files) chunks.push(chunk as Buffer);
      const bytes = Buffer.concat(chunks);
      const layer = createHash("sha256").update(bytes).digest("hex");
      const tree = new Map(parent.files);
      await forEachTarEntry(Readable.from([bytes]), async (entry) => {
        const h = entry.header;
        const body: Buffer[] = [];
        for await (const chunk of asNodeReadable(entry)) body.push(chunk as Buffer);
        tree.set(h.name.replace(/\/$/, ""), {
          type: h.type,
          mode: h.mode & 0o7777,
          owner: `${String(h.uid)}:${String(h.gid)}`,
          body: h.type === "symlink" ? `-> ${h.linkname}` : Buffer.concat(body).toString(),
        });
      });
      appended.push({ base: parent.info.id, layer, reference: options.reference });
      const labels = { ...parent.info.labels, ...options.labels };
      return add(options.reference, labels, tree, [...parent.layers, layer]);
    },
    inspectImage(ref: string): Promise<ImageInfo | undefined> {
      return Promise.resolve(find(ref)?.info);
    },
    listImages(labels: Record<string, string> = {}): Promise<ImageInfo[]> {
      const all = [...images.values()].map((image) => image.info);
      return Promise.resolve(
        all.filter((info) => Object.entries(labels).every(([k, v]) => info.labels[k] === v)),
      );
    },
    removeImage(ref: string): Promise<void> {
      const image = find(ref);
      if (image !== undefined) images.delete(image.info.id);
      return Promise.resolve();
    },
  };
}

type Engine = ReturnType<typeof layerEngine>;

const APP = [tarFile("package.json", "{}"), tarDirectory("lib"), tarFile("lib/server.js", "v1")];

/** The slug the build container hands over: the source, what the buildpack added, maybe more. */
function builtSlug(code: string, more: readonly TarFile[] = []): Readable {
  const files = [
    tarDirectory("slug"),
    tarFile("slug/package.json", "{}"),
    tarDirectory("slug/lib"),
    tarFile("slug/lib/server.js", code),
    tarDirectory("slug/.profile.d"),
    tarFile("slug/.profile.d/nodejs.sh", "export PATH=/app/.heroku/node/bin:$PATH\n"),
    tarSymlink("slug/start", "lib/server.js"),
    ...more,
  ];
  return packTar(files);
}

function sourceTar(code: string): Readable {
  return packTar([
    tarDirectory("out/slug"),
    ...APP.map((f) => ({ ...f, path: `out/slug/${f.path}` })).map((f) =>
      f.path === "out/slug/lib/server.js" ? tarFile(f.path, code) : f,
    ),
    tarSymlink("out/slug/start", "lib/server.js"),
  ]);
}

const runtime: CachedSlugPart = {
  name: "nodejs",
  digest: "a".repeat(64),
  reused: false,
  open: () =>
    Promise.resolve(
      packTar([tarDirectory("nodejs/.heroku"), tarFile("nodejs/.heroku/node", "#!node", 0o755)]),
    ),
};

async function build(
  engine: Engine,
  buildId: string,
  code: string,
  options: {
    readonly split: boolean;
    readonly more?: readonly TarFile[];
    /** Let the load ahead make the app image itself (PredictAppFilesInput.image). */
    readonly whole?: boolean;
    readonly buildpacks?: readonly string[];
    readonly onImage?: (image: ImageInfo) => void;
  },
): Promise<{ image: ImageInfo; files: ReadonlyMap<string, Entry>; layers: readonly string[] }> {
  const stack = {
    name: "slipway-24",
    version: "24.1",
    run: { imageId: engine.runId },
  } as StackImages;
  const layerImages = await engine.listImages({
    "io.slipway.app": "hello",
    "io.slipway.role": "layer",
  });
  const prediction = options.split
    ? await predictAppFiles({
        engine,
        appName: "hello",
        buildId,
        source: () => sourceTar(code),
        root: "out/slug",
        layerImages: Promise.resolve(layerImages),
        ...(options.whole === true
          ? {
              image: { appName: "hello", buildId, sourceChecksum: `sha256:${buildId}`, stack },
              ...(options.onImage === undefined ? {} : { onImage: options.onImage }),
            }
          : {}),
      })
    : undefined;
  const input: AppImageInput = {
    engine,
    appName: "hello",
    buildId,
    sourceChecksum: `sha256:${buildId}`,
    stack,
    slug: builtSlug(code, options.more),
    parts: [runtime],
    buildpacks: options.buildpacks ?? ["nodejs"],
    processTypes: { web: "node lib/server.js" },
    launcher: Buffer.from('#!/bin/sh\nexec "$@"\n'),
    layerImages,
    ...(prediction === undefined
      ? {}
      : {
          appFiles: {
            layer: prediction.layer,
            loaded: prediction.loaded,
            reopenSlug: () => Promise.resolve(builtSlug(code, options.more)),
            ahead: prediction.ahead,
          },
        }),
  };
  const image = await createAppImage(input);
  await prediction?.remove(image.id);
  const stored = engine.find(image.id);
  assert.ok(stored !== undefined);
  return { image, files: stored.files, layers: stored.layers };
}

describe("the app's files in two layers", () => {
  it("gives the image the files of the one-layer image, and a warm build only stored layers", async () => {
    const one = layerEngine();
    const two = layerEngine();
    const whole = await build(one, "b1", "v1", { split: false });
    const split = await build(two, "b1", "v1", { split: true });
    assert.deepEqual([...split.files].sort(), [...whole.files].sort());
    assert.equal(split.layers.length, whole.layers.length + 1, "app files, then the source");
    assert.equal(split.image.labels["io.slipway.build"], "b1");

    // A warm build: other code, the same added files.
    const before = two.appended.length;
    const warm = await build(two, "b2", "v2", { split: true });
    const made = two.appended.slice(before);
    assert.deepEqual(
      made.map((a) => a.reference),
      ["slipway/app-hello-layers:preload-b2", "slipway/app-hello:b2"],
      "the source's layer ahead, then the image: no app files' layer image again",
    );
    assert.equal(made[0]?.base, made[1]?.base, "both on the last build's app files");
    assert.equal(made[0]?.layer, made[1]?.layer, "the image's new layer is the one stored ahead");
    assert.deepEqual(warm.layers.slice(0, -1), split.layers.slice(0, -1));
    assert.equal(warm.files.get("app/lib/server.js")?.body, "v2");
    assert.equal(two.find("slipway/app-hello-layers:preload-b2"), undefined, "removed after");
    const wholeWarm = await build(one, "b2", "v2", { split: false });
    assert.deepEqual([...warm.files].sort(), [...wholeWarm.files].sort());
  });

  it("makes the app image itself ahead when the last build's added files say what it will be", async () => {
    const engine = layerEngine();
    const reference = layerEngine();
    await build(engine, "b1", "v1", { split: true, whole: true });
    await build(reference, "b1", "v1", { split: true });
    const named: string[] = [];
    const before = engine.appended.length;
    const warm = await build(engine, "b2", "v2", {
      split: true,
      whole: true,
      onImage: (image) => named.push(image.id),
    });
    assert.deepEqual(
      engine.appended.slice(before).map((a) => a.reference),
      ["slipway/app-hello:b2"],
      "one load, while the buildpacks ran: the build's image",
    );
    assert.deepEqual(named, [warm.image.id], "named ahead");
    const plain = await build(reference, "b2", "v2", { split: true });
    assert.deepEqual([...warm.files].sort(), [...plain.files].sort());
    assert.deepEqual(warm.layers, plain.layers);
    assert.deepEqual(warm.image.labels, plain.image.labels, "labelled as the build would");
    assert.equal(warm.image.tags[0], "slipway/app-hello:b2");

    // Other buildpacks this time: the image made ahead is not the build's, and goes.
    const other = await build(engine, "b3", "v3", {
      split: true,
      whole: true,
      buildpacks: ["nodejs", "extra"],
    });
    assert.equal(other.image.labels["io.slipway.buildpacks"], "nodejs,extra");
    const ahead = engine.appended.filter((a) => a.reference === "slipway/app-hello:b3");
    assert.equal(ahead.length, 2, "made ahead, then made again on the new added files");
    assert.equal(
      [...engine.images.values()].filter((i) => i.info.labels["io.slipway.build"] === "b3").length,
      1,
      "the one made ahead was removed",
    );
  });

  it("makes the slug one layer when the build changed the source's files", async () => {
    const engine = layerEngine();
    const reference = layerEngine();
    await build(engine, "b1", "v1", { split: true });
    // A build step that rewrites a source file: the source layer would be wrong.
    const rewritten = [tarFile("slug/package.json", '{"built":true}')];
    const image = await build(engine, "b2", "v2", { split: true, more: rewritten });
    const whole = await build(reference, "b2", "v2", { split: false, more: rewritten });
    assert.deepEqual([...image.files].sort(), [...whole.files].sort());
    assert.equal(image.files.get("app/package.json")?.body, '{"built":true}');
    assert.equal(image.layers.length, whole.layers.length);
  });

  it("loads nothing ahead for a source that cannot be a layer, nor for an app without app files' layer", async () => {
    const engine = layerEngine();
    const first = await predictAppFiles({
      engine,
      appName: "hello",
      buildId: "b1",
      source: () => sourceTar("v1"),
      root: "out/slug",
      layerImages: Promise.resolve([]),
    });
    assert.ok(first !== undefined);
    await first.loaded;
    assert.equal(engine.appended.length, 0, "no image to put it on yet");
    const ignored = await predictAppFiles({
      engine,
      appName: "hello",
      buildId: "b1",
      source: () => packTar([tarDirectory("out/slug"), tarFile("out/slug/.slugignore", "*.md\n")]),
      root: "out/slug",
      layerImages: Promise.resolve([]),
    });
    assert.equal(ignored, undefined);
    const unreadable = await predictAppFiles({
      engine,
      appName: "hello",
      buildId: "b1",
      source: () => {
        throw new Error("the source went");
      },
      root: "out/slug",
      layerImages: Promise.resolve([]),
    });
    assert.equal(unreadable, undefined);
    assert.ok((await sourceLayer(sourceTar("v1"), "out/slug")) !== undefined);
  });
});
