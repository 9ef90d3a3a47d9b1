import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { isDeepStrictEqual } from "node:util";
import type { ProcessTypes } from "../domain/procfile.ts";
import type { CommitOptions, Engine, ImageInfo } from "../engine/engine.ts";
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
  /** On the layer image of an app's added files: the process type the image runs by default. */
  defaultProcess: "io.slipway.default-process",
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
    /** The image made ahead with predicted options, if one was (app-files-preload.ts). */
    readonly ahead?: Promise<AheadImage | undefined>;
  };
}

/**
 * An app image made ahead, before its build ended: the source's layer on the app files'
 * layer image `base`, with options predicted from that image's labels. It is the build's
 * image when the build's base and options turn out the same.
 */
export interface AheadImage {
  readonly base: string;
  readonly options: CommitOptions;
  readonly image: ImageInfo;
}

/** What an app image's options (appImageOptions) are made of. */
export interface AppImageFacts {
  readonly appName: string;
  readonly buildId: string;
  readonly sourceChecksum: string;
  readonly stack: Pick<StackImages, "name" | "version">;
  readonly buildpacks: readonly string[];
  /** The process type its command runs (defaultProcessType). */
  readonly defaultType: string;
}

/** The process type an image runs when told nothing: web, else the first one. */
export function defaultProcessType(processTypes: ProcessTypes): string {
  return "web" in processTypes ? "web" : (Object.keys(processTypes)[0] ?? "web");
}

/**
 * The app image's reference, labels and configuration. Pure: a build that predicts these
 * facts (app-files-preload.ts) makes the same options, so the image it stores ahead is
 * the one the build then uses.
 */
export function appImageOptions(facts: AppImageFacts): CommitOptions {
  return {
    reference: `slipway/app-${facts.appName}:${facts.buildId}`,
    labels: {
      [IMAGE_LABELS.app]: facts.appName,
      [IMAGE_LABELS.build]: facts.buildId,
      [IMAGE_LABELS.sourceChecksum]: facts.sourceChecksum,
      [IMAGE_LABELS.stack]: facts.stack.name,
      [IMAGE_LABELS.stackVersion]: facts.stack.version,
      [IMAGE_LABELS.buildpacks]: facts.buildpacks.join(","),
      [IMAGE_LABELS.role]: "app",
    },
    env: [`PATH=${APP_PATH}`, "HOME=/app", "LANG=C.UTF-8"],
    cmd: processCommand(facts.defaultType),
    workingDir: "/app",
    user: `${String(APP_UID)}:${String(APP_UID)}`,
  };
}

/** Whether two sets of image options make the same image on the same base. */
function sameOptions(a: CommitOptions, b: CommitOptions): boolean {
  return isDeepStrictEqual(a, b);
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
  const options = appImageOptions({
    ...input,
    defaultType: defaultProcessType(processTypes),
  });
  const { reference, labels, ...config } = options;
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
      // What the image's labels and command take from these files: a build that finds
      // them on the layer image of its app's last build predicts its image from them.
      labels: {
        [IMAGE_LABELS.buildpacks]: labels[IMAGE_LABELS.buildpacks] ?? "",
        [IMAGE_LABELS.defaultProcess]: defaultProcessType(processTypes),
      },
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
    const ahead = split === undefined ? undefined : await appFiles?.ahead;
    if (ahead !== undefined && ahead.base === base.id && sameOptions(ahead.options, options)) {
      // Made while the buildpacks ran, on this base with these options: this image.
      image = ahead.image;
    } else if (split !== undefined && appFiles !== undefined && engine.appendLayer !== undefined) {
      await appFiles.loaded;
      image = await engine.appendLayer(base.id, Readable.from([appFiles.layer.tar]), options);
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
