import { randomBytes } from "node:crypto";
import { ConflictError } from "../domain/errors.ts";
import { splitReference } from "./docker/image-reference.ts";
import type { ImageInfo } from "./engine.ts";
import type { FileTree } from "./fake-files.ts";

/** An image of the fake engine: its description and its files. */
export interface FakeImage {
  info: ImageInfo;
  readonly files: FileTree;
}

/** The fake engine's images, found by id, short id or tag ("x" means "x:latest"). */
export class FakeImageStore {
  readonly #images = new Map<string, FakeImage>();

  /** Adds an image under a reference; the tag moves from any image that had it. */
  add(reference: string, labels: Readonly<Record<string, string>>, files: FileTree): FakeImage {
    const { repository, tag } = splitReference(reference);
    const name = `${repository}:${tag}`;
    for (const other of this.#images.values()) {
      other.info = { ...other.info, tags: other.info.tags.filter((t) => t !== name) };
    }
    const id = `sha256:${randomBytes(32).toString("hex")}`;
    const image: FakeImage = {
      info: {
        id,
        digest: id,
        tags: [name],
        labels,
        sizeBytes: [...files.values()].reduce((sum, file) => sum + file.data.length, 0),
        createdAt: new Date().toISOString(),
      },
      files,
    };
    this.#images.set(id, image);
    return image;
  }

  find(ref: string): FakeImage | undefined {
    const tagged = ref.lastIndexOf(":") > ref.lastIndexOf("/") ? ref : `${ref}:latest`;
    return (
      this.#images.get(ref) ??
      this.#images.get(`sha256:${ref}`) ??
      this.all().find((image) => image.info.tags.includes(tagged))
    );
  }

  all(): FakeImage[] {
    return [...this.#images.values()];
  }

  /**
   * Removes a tag, or the image when `ref` is its last tag or its id. An image a
   * container uses is refused, as the engines refuse without force.
   */
  remove(image: FakeImage, ref: string, inUse: boolean): void {
    const tagged = ref.lastIndexOf(":") > ref.lastIndexOf("/") ? ref : `${ref}:latest`;
    const rest = image.info.tags.filter((tag) => tag !== tagged);
    if (rest.length < image.info.tags.length && rest.length > 0) {
      image.info = { ...image.info, tags: rest };
      return;
    }
    if (inUse) throw new ConflictError(`image ${ref} is used by a container`);
    this.#images.delete(image.info.id);
  }
}
