import { IMAGE_LABELS } from "../build/app-image.ts";
import type { App } from "../domain/app.ts";
import type { Release } from "../domain/release.ts";
import type { Engine, ImageInfo } from "../engine/engine.ts";

/** Images younger than this are never collected: a build may not have made its release yet. */
export const GC_GRACE_MS = 15 * 60_000;

export interface ImageGcInput {
  /** The app's images (labelled io.slipway.app=NAME, role app). */
  readonly images: readonly Pick<ImageInfo, "id" | "digest" | "tags" | "createdAt">[];
  /** The app's releases, any order. */
  readonly releases: readonly Pick<Release, "version" | "imageRef" | "imageDigest">[];
  /** Image ids of every container that exists (running or not). */
  readonly inUse: ReadonlySet<string>;
  /** How many of the newest releases keep their images. */
  readonly keep: number;
  readonly now: number;
}

/**
 * Which of an app's images may go: those of none of the newest `keep` releases, used by no
 * container, and older than the grace period (so an image whose build has not yet recorded
 * its release survives). Pure.
 */
export function selectImagesToRemove(input: ImageGcInput): string[] {
  const newest = [...input.releases].sort((a, b) => b.version - a.version).slice(0, input.keep);
  const kept = new Set<string>();
  for (const r of newest) {
    kept.add(r.imageRef);
    kept.add(r.imageDigest);
  }
  return input.images
    .filter(
      (image) =>
        !kept.has(image.id) &&
        !kept.has(image.digest) &&
        !input.inUse.has(image.id) &&
        input.now - Date.parse(image.createdAt) > GC_GRACE_MS,
    )
    .map((image) => image.id);
}

/**
 * Removes the app's images selectImagesToRemove picks. Only images Slipway labelled as this
 * app's (role app) are considered; the driver refuses anything without the instance label.
 */
export async function collectAppImages(
  engine: Engine,
  app: App,
  releases: readonly Release[],
  keep: number,
  now = Date.now(),
): Promise<string[]> {
  const images = await engine.listImages({
    [IMAGE_LABELS.app]: app.name,
    [IMAGE_LABELS.role]: "app",
  });
  const inUse = new Set((await engine.listContainers()).map((c) => c.imageId));
  const remove = selectImagesToRemove({ images, releases, inUse, keep, now });
  for (const id of remove) await engine.removeImage(id);
  return remove;
}
