import { Readable } from "node:stream";
import type { CommitOptions, Engine, ImageInfo } from "../engine/engine.ts";
import { appImageOptions, IMAGE_LABELS, type AheadImage, type AppImageFacts } from "./app-image.ts";
import { newestAppFilesImage, preloadLabels } from "./layer-images.ts";
import { sourceLayer, type SourceLayer } from "./source-layer.ts";

/** The source's layer, and its load ahead of the build's end. */
export interface AppFilesPrediction {
  readonly layer: SourceLayer;
  /**
   * Settles (never rejects) once the layer is stored on the app files' layer image of the
   * app's last build, or was not: no such image, or the engine failed (the app image's
   * own load then stores the layer, as without a prediction).
   */
  readonly loaded: Promise<void>;
  /**
   * The app image itself, when the load made it with predicted options (input.image):
   * the build uses it when its own base and options are the same (createAppImage).
   */
  readonly ahead: Promise<AheadImage | undefined>;
  /**
   * Removes the image the load made, once it settled, unless it is `keep` (the build's
   * image). Safe to call more than once.
   */
  readonly remove: (keep?: string) => Promise<void>;
}

export interface PredictAppFilesInput {
  readonly engine: Pick<Engine, "appendLayer" | "removeImage">;
  readonly appName: string;
  readonly buildId: string;
  /** Opens the normalized source tar (SourceArchive.tar()), entries below `root`. */
  readonly source: () => Readable;
  readonly root: string;
  /** The app's layer images as listed at the build's start (listLayerImages). */
  readonly layerImages: Promise<readonly ImageInfo[]> | undefined;
  /**
   * What the app image's options are made of that the build knows at its start: with it,
   * the load makes the app image itself when the last build's added files say what the
   * rest will be (their buildpacks and default process type).
   */
  readonly image?: Omit<AppImageFacts, "buildpacks" | "defaultType">;
  /** Called with that image once it is stored (a hint: the build may still end otherwise). */
  readonly onImage?: (image: ImageInfo) => void;
}

/**
 * Reads the source as the layer it becomes in the app image (source-layer.ts) and, while
 * the buildpacks run, stores it on the layer image the app's last build put its added
 * files in: when this build adds the same files (a warm build of the same buildpacks),
 * the app image's layers are then all stored when the build ends, and making it is quick
 * (0.04 s instead of 0.2-0.3 s on a 2-core machine). With the build's facts (input.image)
 * and the last build's labels on that layer image, the load makes the app image itself,
 * tagged and labelled as the build would: the build then makes nothing, and the platform
 * may prepare the release's container from it meanwhile (onImage). A wrong guess costs
 * that load, never a wrong image: the app image names its layers by content, and the
 * build uses the image made ahead only on the same base with the same options. Undefined
 * when the source cannot be a layer of its own (sourceLayer) or could not be read.
 */
export async function predictAppFiles(
  input: PredictAppFilesInput,
): Promise<AppFilesPrediction | undefined> {
  const { engine } = input;
  const layer = await Promise.resolve()
    .then(() => sourceLayer(input.source(), input.root))
    .catch(() => undefined);
  if (layer === undefined || engine.appendLayer === undefined) return undefined;
  const append = engine.appendLayer.bind(engine);
  const made = (async (): Promise<{ image: ImageInfo; ahead?: AheadImage } | undefined> => {
    const images = await input.layerImages?.catch(() => undefined);
    const parent = images === undefined ? undefined : newestAppFilesImage(images, input.appName);
    if (parent === undefined) return undefined;
    const options = predictedOptions(input, parent);
    const image = await append(parent.id, Readable.from([layer.tar]), options);
    if (options.labels[IMAGE_LABELS.role] !== "app") return { image };
    input.onImage?.(image);
    return { image, ahead: { base: parent.id, options, image } };
  })().catch(() => undefined);
  let removing: Promise<void> | undefined;
  return {
    layer,
    loaded: made.then(() => undefined),
    ahead: made.then((result) => result?.ahead),
    remove: (keep) =>
      (removing ??= made.then(async (result) => {
        // Its layers stay while the app image (or any image) stands on them.
        if (result !== undefined && result.image.id !== keep) {
          await engine.removeImage(result.image.id).catch(() => undefined);
        }
      })),
  };
}

/**
 * The app image's options as the build will make them, when the app files' layer image of
 * the last build says its buildpacks and default process type; else those of a plain
 * layer image (the load only stores the layer).
 */
function predictedOptions(input: PredictAppFilesInput, parent: ImageInfo): CommitOptions {
  const buildpacks = parent.labels[IMAGE_LABELS.buildpacks];
  const defaultType = parent.labels[IMAGE_LABELS.defaultProcess];
  if (input.image === undefined || buildpacks === undefined || defaultType === undefined) {
    return {
      reference: `slipway/app-${input.appName}-layers:preload-${input.buildId}`,
      labels: preloadLabels(input.appName),
    };
  }
  return appImageOptions({
    ...input.image,
    buildpacks: buildpacks === "" ? [] : buildpacks.split(","),
    defaultType,
  });
}
