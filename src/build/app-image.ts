import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import type { ProcessTypes } from "../domain/procfile.ts";
import type { Engine, ImageInfo } from "../engine/engine.ts";
import { appImageContext, layerImage } from "./app-image-layers.ts";
import { appRootfs, APP_UID } from "./app-rootfs.ts";
import {
  APP_FILES_PART,
  layerBase,
  pruneLayerImages,
  type CachedSlugPart,
} from "./layer-images.ts";
import { splitSlug, type SourceLayer } from "./source-layer.ts";
import type { StackImages } from "./stack-builder.ts";

/** Labels on app images (read by release, rebase and garbage collection). */
export const IMAGE_LABELS = {
  app: "io.slipway.app",
  build: "io.slipway.build",
  sourceChecksum: "io.slipway.source-checksum",
  stack: "io.slipway.stack",
  stackVersion: "io.slipway.stack.version",
  buildpacks: "io.slipway.buildpacks",
  role: "io.slipway.role",
} as const;

/** The launcher every app image starts: it loads .profile.d, then runs the process type. */
export const LAUNCHER = "/app/.slipway/launch";

/** The command that runs a process type of a release, e.g. ["/app/.slipway/launch", "web"]. */
export function processCommand(type: string): string[] {
  return [LAUNCHER, type];
}

export interface AppImageInput {
  readonly engine: Pick<
    Engine,
    "importImage" | "buildImage" | "appendLayer" | "inspectImage" | "listImages" | "removeImage"
  >;
  readonly appName: string;
  readonly buildId: string;
  readonly sourceChecksum: string;
  readonly stack: StackImages;
  /**
   * The slug directory's tar (Engine.getArchive of the build's slug); awaited only when
   * its bytes are needed, so the layer images below it are looked up meanwhile.
   */
  readonly slug: Readable | Promise<Readable>;
  /**
   * Parts of the slug the runner moved out of it (runtime, dependencies): they go below
   * the slug's files, each in an image layer of its own that later builds reuse while
   * its digest is unchanged. Default: none (the slug is everything).
   */
  readonly parts?: readonly CachedSlugPart[];
  /** Progress lines for the build log. */
  readonly log?: (line: string) => void;
  readonly buildpacks: readonly string[];
  readonly processTypes: ProcessTypes;
  /** Contents of buildpacks/_runner/launch.sh. */
  readonly launcher: Buffer;
  /** The app's layer images as listed at the build's start (LayerBaseInput.listed). */
  readonly layerImages?: readonly ImageInfo[] | undefined;
  /**
   * The source as a layer of its own (app-files-preload.ts): when the slug is the source
   * plus added files, the app's files become the added files' layer image (cached) and
   * the source's layer on it. Needs Engine.appendLayer and parts.
   */
  readonly appFiles?: {
    readonly layer: SourceLayer;
    /** Settles once the layer's load ahead is over (it is not loaded twice at once). */
    readonly loaded: Promise<void>;
    /** The slug again, when it did not split (the split read it). */
    readonly reopenSlug: () => Promise<Readable>;
  };
}

const APP_PATH = "/app/.heroku/node/bin:/app/node_modules/.bin:/usr/local/bin:/usr/bin:/bin";

/**
 * Imports run stack + slug as the app image `slipway/app-NAME:BUILD`, owned by the app user,
 * with the launcher as its command (default process type: web, else the first).
 */
export async function createAppImage(input: AppImageInput): Promise<ImageInfo> {
  const { processTypes } = input;
  // Nothing that changes with every build (build id, source checksum: the image's labels
  // have them), so the files a warm build adds stay the same layer.
  const release = {
    stack: input.stack.name,
    buildpacks: input.buildpacks,
    processTypes,
  };
  const extra = [
    { path: ".slipway/launch", content: input.launcher, mode: 0o755 },
    {
      path: ".slipway/release.json",
      content: `${JSON.stringify(release, null, 2)}\n`,
      mode: 0o644,
    },
    ...Object.entries(processTypes).map(([type, command]) => ({
      path: `.slipway/processes/${type}`,
      content: command,
      mode: 0o644,
    })),
  ];
  const defaultType = "web" in processTypes ? "web" : (Object.keys(processTypes)[0] ?? "web");
  const config = {
    env: [`PATH=${APP_PATH}`, "HOME=/app", "LANG=C.UTF-8"],
    cmd: processCommand(defaultType),
    workingDir: "/app",
    user: `${String(APP_UID)}:${String(APP_UID)}`,
  };
  const reference = `slipway/app-${input.appName}:${input.buildId}`;
  const labels = {
    [IMAGE_LABELS.app]: input.appName,
    [IMAGE_LABELS.build]: input.buildId,
    [IMAGE_LABELS.sourceChecksum]: input.sourceChecksum,
    [IMAGE_LABELS.stack]: input.stack.name,
    [IMAGE_LABELS.stackVersion]: input.stack.version,
    [IMAGE_LABELS.buildpacks]: input.buildpacks.join(","),
    [IMAGE_LABELS.role]: "app",
  };
  const parts = input.parts ?? [];
  const { engine } = input;
  if (engine.buildImage !== undefined && parts.length > 0) {
    // Runtime and dependencies are images of their own, reused while their digests hold:
    // a warm deploy reads and stores only the app's own files. Those too are two layers
    // when they can be: the files the build added (reused while unchanged), then the
    // source (usually stored while the buildpacks ran).
    const appFiles = engine.appendLayer === undefined ? undefined : input.appFiles;
    const split =
      appFiles === undefined ? undefined : await splitSlug(await input.slug, appFiles.layer, extra);
    const added: CachedSlugPart | undefined = split && {
      name: APP_FILES_PART,
      digest: split.digest,
      reused: false,
      open: () => Promise.resolve(Readable.from([split.added])),
      extra,
    };
    const base = await layerBase({
      engine,
      appName: input.appName,
      stack: input.stack,
      parts: added === undefined ? parts : [...parts, added],
      listed: input.layerImages,
      labels: {
        [IMAGE_LABELS.stack]: input.stack.name,
        [IMAGE_LABELS.stackVersion]: input.stack.version,
      },
      log: input.log ?? (() => undefined),
    });
    let image: ImageInfo;
    if (split !== undefined && appFiles !== undefined && engine.appendLayer !== undefined) {
      await appFiles.loaded;
      image = await engine.appendLayer(base.id, Readable.from([appFiles.layer.tar]), {
        reference,
        labels,
        ...config,
      });
    } else {
      // The build changed or removed files of the source: the slug is one layer, new with
      // every build (nothing for a layer cache to find).
      const slug = appFiles === undefined ? await input.slug : await appFiles.reopenSlug();
      image = await layerImage(
        engine,
        { baseImageId: base.id, slug, extra, config, only: "app" },
        { reference, labels },
      );
    }
    // Only a new layer image leaves an older one behind (0.015 s of a warm deploy).
    if (base.built) await pruneLayerImages(engine, input.appName, base.chain);
    return image;
  }
  if (input.engine.buildImage !== undefined) {
    // The slug stacked on the run image in cached layers: a warm deploy stores only the
    // app's own files instead of importing a whole root filesystem (~260 MB) again.
    const context = appImageContext({
      baseImageId: input.stack.run.imageId,
      slug: await input.slug,
      extra,
      config,
    });
    return input.engine.buildImage(context, { reference, labels });
  }
  const rootfs = appRootfs({
    runRootfs: createReadStream(input.stack.run.rootfs),
    slug: await input.slug,
    parts: parts.map((part) => part.open),
    extra,
  });
  return input.engine.importImage(rootfs, { reference, labels, ...config });
}
