import { ConflictError } from "../domain/errors.ts";
import type { Engine } from "./engine.ts";

/** What a purge removed. */
export interface PurgeReport {
  readonly containers: number;
  readonly networks: number;
  readonly volumes: number;
  readonly images: number;
}

/**
 * Removes every container, network, volume and image of the engine's instance — and
 * nothing else, since the engine only lists what carries its label. Used by
 * `slipway down --purge` and by tests. Containers go first (they hold networks, volumes
 * and images); images are retried in passes, because an image a committed image was
 * built from cannot go before its child.
 */
export async function purgeInstance(engine: Engine): Promise<PurgeReport> {
  const containers = await engine.listContainers();
  for (const container of containers) await engine.removeContainer(container.id);

  const networks = await engine.listNetworks();
  for (const network of networks) await engine.removeNetwork(network.name);

  const volumes = await engine.listVolumes();
  for (const volume of volumes) await engine.removeVolume(volume.name);

  let images = 0;
  for (;;) {
    const left = await engine.listImages();
    if (left.length === 0) break;
    let removed = 0;
    let refusal: ConflictError | undefined;
    for (const image of left) {
      try {
        await engine.removeImage(image.id);
        removed++;
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        refusal = error; // a parent of another image: the next pass gets it
      }
    }
    images += removed;
    if (removed === 0) throw refusal ?? new ConflictError("images could not be removed");
  }
  return {
    containers: containers.length,
    networks: networks.length,
    volumes: volumes.length,
    images,
  };
}
