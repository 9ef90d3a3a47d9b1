import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { BuildFailedError } from "../domain/errors.ts";
import type { Engine, ImageInfo } from "../engine/engine.ts";
import { layerImage } from "./app-image-layers.ts";
import type { SlugFile } from "./app-rootfs.ts";
import type { SlugPart } from "./build-meta.ts";
import type { StackImages } from "./stack-builder.ts";

/** A part of the slug kept apart by the runner, and how to read it when it is needed. */
export interface CachedSlugPart extends SlugPart {
  /**
   * Its tar (Engine.getArchive of /workspace/layers/NAME); only read on a cache miss, and
   * never for a part the buildpack reused (it made no files).
   */
  readonly open: () => Promise<Readable>;
  /** Files of Slipway's own the layer gets besides the tar's (the app files' layer). */
  readonly extra?: readonly SlugFile[];
  /** Labels of its own for its layer image (the app files' layer: appImageOptions facts). */
  readonly labels?: Readonly<Record<string, string>>;
}

export interface LayerBaseInput {
  readonly engine: Pick<Engine, "appendLayer" | "buildImage" | "inspectImage">;
  readonly appName: string;
  readonly stack: StackImages;
  /** Bottom first (runtime, then dependencies). */
  readonly parts: readonly CachedSlugPart[];
  /** Labels every layer image gets besides app, role and key (stack, stack version). */
  readonly labels: Readonly<Record<string, string>>;
  readonly log: (line: string) => void;
  /**
   * The app's layer images as listed at the build's start (listLayerImages): a chain's
   * image found there is not looked up again. Only the app's own builds change them, one
   * at a time.
   */
  readonly listed?: readonly ImageInfo[] | undefined;
}

/** Labels of layer images (app images use IMAGE_LABELS in app-image.ts). */
const LABELS = {
  app: "io.slipway.app",
  role: "io.slipway.role",
  key: "io.slipway.layer-key",
  /** The part it holds, its digest and the image it was built on (knownLayers). */
  part: "io.slipway.layer-part",
  digest: "io.slipway.layer-digest",
  base: "io.slipway.layer-base",
} as const;

/** The role label of layer images: they are never run, only built upon. */
export const LAYER_ROLE = "layer";

/**
 * The part of the files a build added to the source (source-layer.ts), on top of the
 * runner's parts. A name the runner refuses for a declared layer, so never a buildpack's.
 */
export const APP_FILES_PART = "app";

/**
 * The image to lay the app's own files on: the run stack image plus one cached image per
 * slug part (`slipway/app-NAME-layers:KEY`, KEY = sha256 over the stack image and the
 * digests of the parts up to it). A part whose image exists is not read at all, so a warm
 * deploy moves only the app's code; a changed part is built (from its tar) once.
 *
 * Layer images are per app: digests come from the app's own build container, which could
 * lie about them, but only to its own images (it controls what they hold anyway).
 * Returns the base image id, the ids of the layer images it is made of, and whether any of
 * them is new (else the app's layer images are what they were after its last build).
 */
export async function layerBase(
  input: LayerBaseInput,
): Promise<{ id: string; chain: string[]; built: boolean }> {
  const { engine, appName } = input;
  let base = input.stack.run.imageId;
  // Each key stands for the stack and every part up to it: all are known up front, and
  // their images are looked up at once.
  let chainKey = base;
  const lookups = input.parts.map((part) => {
    chainKey = createHash("sha256")
      .update(`${chainKey}\n${part.name} ${part.digest}\n`)
      .digest("hex");
    const reference = `slipway/app-${appName}-layers:${chainKey}`;
    const key = chainKey;
    const listed = input.listed?.find((image) => image.labels[LABELS.key] === key);
    const found = listed === undefined ? engine.inspectImage(reference) : Promise.resolve(listed);
    found.catch(() => undefined); // awaited in turn below
    return { part, key: chainKey, reference, found };
  });
  const chain: string[] = [];
  let built = false;
  for (const { part, key, reference, found } of lookups) {
    const existing = await found;
    if (
      existing !== undefined &&
      existing.labels[LABELS.app] === appName &&
      existing.labels[LABELS.role] === LAYER_ROLE &&
      existing.labels[LABELS.key] === key
    ) {
      input.log(`       ${part.name}: unchanged (${part.digest.slice(0, 12)})`);
      base = existing.id;
    } else if (part.reused) {
      // Only the app's own builds remove its layer images, one at a time (the build queue
      // is per app), so this means the image went between knownLayers and now.
      throw new BuildFailedError(
        `the ${part.name} layer the build reused (${part.digest.slice(0, 12)}) is no longer there: push again`,
      );
    } else {
      input.log(`       ${part.name}: new layer (${part.digest.slice(0, 12)})`);
      const image = await layerImage(
        engine,
        {
          baseImageId: base,
          slug: await part.open(),
          extra: part.extra ?? [],
          // The context directory its COPY reads; a buildpack's own part is a runtime.
          only: part.name === "deps" ? "deps" : "runtime",
        },
        {
          reference,
          // The cache key is ours (KEY): an engine's layer cache would only hash it again.
          labels: {
            ...input.labels,
            ...part.labels,
            [LABELS.app]: appName,
            [LABELS.role]: LAYER_ROLE,
            [LABELS.key]: key,
            [LABELS.part]: part.name,
            [LABELS.digest]: part.digest,
            [LABELS.base]: base,
          },
        },
      );
      base = image.id;
      built = true;
    }
    chain.push(base);
  }
  return { id: base, chain, built };
}

/**
 * The chains of the app's layer images on this stack's run image, one line each:
 * "NAME DIGEST [NAME DIGEST]...", bottom first ("nodejs K" for an image on the run image,
 * "nodejs K node-modules K2" for one on that). The parts a build may declare and then not
 * make at all (the runner hands the list to the last buildpack; docs/buildpacks.md
 * "Declared layers"): layerBase finds the image of each such chain by its key.
 */
export async function knownLayers(
  engine: Pick<Engine, "listImages">,
  appName: string,
  stackRunImageId: string,
  listed?: Promise<readonly ImageInfo[]>,
): Promise<string> {
  const images = await (listed ?? listLayerImages(engine, appName));
  const byId = new Map(images.map((image) => [image.id, image]));
  const lines = new Set<string>();
  for (const image of images) {
    // The app files' layer is Slipway's, not one a buildpack may declare.
    if (image.labels[LABELS.part] === APP_FILES_PART) continue;
    const pairs: string[] = [];
    let current: ImageInfo | undefined = image;
    while (current !== undefined && pairs.length < MAX_CHAIN) {
      const pair = `${current.labels[LABELS.part] ?? ""} ${current.labels[LABELS.digest] ?? ""}`;
      if (!/^[a-z][a-z0-9-]{0,30} [0-9a-f]{64}$/.test(pair)) break;
      pairs.unshift(pair);
      const base: string | undefined = current.labels[LABELS.base];
      if (base === stackRunImageId) {
        lines.add(pairs.join(" "));
        break;
      }
      current = base === undefined ? undefined : byId.get(base);
    }
  }
  return [...lines].map((line) => `${line}\n`).join("");
}

/**
 * The layer image of the app files of the app's newest build (the image the next warm
 * build's app files most likely go on), among the app's layer images.
 */
export function newestAppFilesImage(
  images: readonly ImageInfo[],
  appName: string,
): ImageInfo | undefined {
  return images
    .filter(
      (image) =>
        image.labels[LABELS.app] === appName &&
        image.labels[LABELS.role] === LAYER_ROLE &&
        image.labels[LABELS.part] === APP_FILES_PART,
    )
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
}

/** Labels of an image made only to store a layer ahead (removed after the build). */
export function preloadLabels(appName: string): Record<string, string> {
  return { [LABELS.app]: appName, [LABELS.role]: LAYER_ROLE };
}

/** The longest chain of layer images knownLayers follows (declared ones and digested parts). */
const MAX_CHAIN = 6;

/** The app's layer images (knownLayers picks the ones on the stack's run image). */
export function listLayerImages(
  engine: Pick<Engine, "listImages">,
  appName: string,
): Promise<ImageInfo[]> {
  return engine.listImages({ [LABELS.app]: appName, [LABELS.role]: LAYER_ROLE });
}

/**
 * Removes the app's layer images that the newest build does not stand on. Older app images
 * (kept releases) are not harmed: Podman shares layers, not images, between an image and
 * those built on it. Best effort: an engine that refuses (Docker, for a parent image) is
 * asked again after a later build that makes a layer image. Returns how many went.
 */
export async function pruneLayerImages(
  engine: Pick<Engine, "listImages" | "removeImage">,
  appName: string,
  keep: readonly string[],
): Promise<number> {
  const kept = new Set(keep);
  const images = await engine.listImages({ [LABELS.app]: appName, [LABELS.role]: LAYER_ROLE });
  let removed = 0;
  // Newest first: a layer image stands on the older ones.
  const stale = images
    .filter((image) => !kept.has(image.id))
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  for (const image of stale) {
    try {
      await engine.removeImage(image.id);
      removed++;
    } catch {
      // In use as a parent (or already gone): the next build tries again.
    }
  }
  return removed;
}
