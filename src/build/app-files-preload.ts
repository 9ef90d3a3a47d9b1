import { Readable } from "node:stream";
import type { Engine, ImageInfo } from "../engine/engine.ts";
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
  /** Removes the image the load made, once it settled. Safe to call more than once. */
  readonly remove: () => Promise<void>;
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
}

/**
 * Reads the source as the layer it becomes in the app image (source-layer.ts) and, while
 * the buildpacks run, stores it on the layer image the app's last build put its added
 * files in: when this build adds the same files (a warm build of the same buildpacks),
 * the app image's layers are then all stored when the build ends, and making it is quick
 * (0.04 s instead of 0.2-0.3 s on a 2-core machine). A wrong guess costs that load, never
 * a wrong image: the app image names its layers by content. Undefined when the source
 * cannot be a layer of its own (sourceLayer) or could not be read.
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
  const made = (async (): Promise<string | undefined> => {
    const images = await input.layerImages?.catch(() => undefined);
    const parent = images === undefined ? undefined : newestAppFilesImage(images, input.appName);
    if (parent === undefined) return undefined;
    const image = await append(parent.id, Readable.from([layer.tar]), {
      reference: `slipway/app-${input.appName}-layers:preload-${input.buildId}`,
      labels: preloadLabels(input.appName),
    });
    return image.id;
  })().catch(() => undefined);
  let removing: Promise<void> | undefined;
  return {
    layer,
    loaded: made.then(() => undefined),
    remove: () =>
      (removing ??= made.then(async (id) => {
        // Its layers stay while the app image (or any image) stands on them.
        if (id !== undefined) await engine.removeImage(id).catch(() => undefined);
      })),
  };
}
