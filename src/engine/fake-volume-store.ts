import { ConflictError, ValidationError } from "../domain/errors.ts";
import { assertOwned, withInstanceLabel, type Labels } from "./docker/ownership.ts";
import type { VolumeInfo } from "./engine.ts";
import type { FileTree } from "./fake-files.ts";

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** A volume of the fake engine: its description and its files. */
export interface FakeVolume {
  readonly info: VolumeInfo;
  readonly files: FileTree;
}

/** The fake engine's named volumes. */
export class FakeVolumeStore {
  readonly #instance: string;
  readonly #volumes = new Map<string, FakeVolume>();

  constructor(instance: string) {
    this.#instance = instance;
  }

  get(name: string): FakeVolume | undefined {
    return this.#volumes.get(name);
  }

  all(): FakeVolume[] {
    return [...this.#volumes.values()];
  }

  /** A volume without the instance label, as another tool would have made it. */
  addForeign(name: string): void {
    this.#volumes.set(name, { info: { name, labels: {} }, files: new Map() });
  }

  /** Creates the volume unless it exists; refuses one that is not ours. True when created. */
  ensure(name: string, labels: Labels): boolean {
    const existing = this.#volumes.get(name);
    if (existing !== undefined) {
      assertOwned(this.#instance, "volume", name, existing.info.labels);
      return false;
    }
    if (!NAME.test(name))
      throw new ValidationError(`volume name "${name}" must match ${NAME.source}`);
    const info = { name, labels: withInstanceLabel(this.#instance, labels) };
    this.#volumes.set(name, { info, files: new Map() });
    return true;
  }

  /** Removes an owned volume; refuses while containers use it. False when missing. */
  remove(name: string, inUse: boolean): boolean {
    const volume = this.#volumes.get(name);
    if (volume === undefined) return false;
    assertOwned(this.#instance, "volume", name, volume.info.labels);
    if (inUse) throw new ConflictError(`volume "${name}" is used by a container`);
    return this.#volumes.delete(name);
  }
}
