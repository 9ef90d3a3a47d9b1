import { listLayerImages } from "../build/layer-images.ts";
import type { Engine, ImageInfo } from "../engine/engine.ts";

/** How long a list looked up ahead may wait for its build. */
const FRESH_MS = 10_000;

/**
 * The app's layer images, looked up ahead when a push begins (Builder.expect) so that the
 * engine's answer (10-15 ms on Podman) is in before the build asks, instead of after.
 * Only builds of the app make and prune its layer images, and they run one at a time: a
 * list looked up after the last such change (a build's end, a `forget`) and at most
 * FRESH_MS ago is what a new list would say. Anything else lists again.
 */
export class LayerImageLookups {
  readonly #engine: Pick<Engine, "listImages">;
  readonly #now: () => number;
  readonly #ahead = new Map<
    string,
    { readonly images: Promise<ImageInfo[]>; readonly at: number; readonly generation: number }
  >();
  readonly #generations = new Map<string, number>();

  constructor(engine: Pick<Engine, "listImages">, now: () => number = Date.now) {
    this.#engine = engine;
    this.#now = now;
  }

  /** Starts a lookup for the app's next build (a failed one is simply not used). */
  lookAhead(appName: string): void {
    const images = listLayerImages(this.#engine, appName);
    images.catch(() => undefined);
    this.#ahead.set(appName, {
      images,
      at: this.#now(),
      generation: this.#generation(appName),
    });
  }

  /** The app's layer images for a build starting now: the lookup ahead if it holds. */
  take(appName: string): Promise<ImageInfo[]> {
    const ahead = this.#ahead.get(appName);
    this.#ahead.delete(appName);
    if (
      ahead !== undefined &&
      ahead.generation === this.#generation(appName) &&
      this.#now() - ahead.at <= FRESH_MS
    ) {
      return ahead.images.catch(() => listLayerImages(this.#engine, appName));
    }
    return listLayerImages(this.#engine, appName);
  }

  /** The app's layer images may have changed (a build ended, the app or its cache went). */
  changed(appName: string): void {
    this.#generations.set(appName, this.#generation(appName) + 1);
    this.#ahead.delete(appName);
  }

  #generation(appName: string): number {
    return this.#generations.get(appName) ?? 0;
  }
}
