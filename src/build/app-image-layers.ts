import type { Readable } from "node:stream";
import { finished, pipeline } from "node:stream/promises";
import { BuildFailedError } from "../domain/errors.ts";
import type { Engine, ImageInfo } from "../engine/engine.ts";
import { imageChanges, type ImageConfigChanges } from "../engine/docker/image-changes.ts";
import { APP_UID, type SlugFile } from "./app-rootfs.ts";
import type { Pack } from "tar-stream";
import { below, EPOCH, isPlatformOwn, KEPT_TYPES, OWNER, parentDirs } from "./slug-entries.ts";
import { asNodeReadable, forEachTarEntry, packStream, type PackHeader } from "./tar-stream-node.ts";

/**
 * The slug's top-level directories by how often they change: runtimes (Node.js, apt
 * packages) almost never, dependencies when the lockfile does, the rest with every push.
 * Each group is one COPY, so the engine's layer cache keeps the unchanged ones.
 */
const LAYER_OF: Readonly<Record<string, "runtime" | "deps">> = {
  ".heroku": "runtime",
  ".apt": "runtime",
  ".go": "runtime",
  node_modules: "deps",
  vendor: "deps",
  ".venv": "deps",
  venv: "deps",
};
const LAYERS = ["runtime", "deps", "app"] as const;
/** One of the slug's layers. */
export type SlugLayerName = (typeof LAYERS)[number];

export interface AppImageContextInput {
  /** The stack's run image id: the base layer, shared by every app image of the stack. */
  readonly baseImageId: string;
  /** The build's slug directory as Engine.getArchive returns it (entries "slug/..."). */
  readonly slug: Readable;
  /** Slipway's own files for /app (launcher, process types). */
  readonly extra: readonly SlugFile[];
  /** Environment, command, working directory and user of the image (labels go separately). */
  readonly config?: Omit<ImageConfigChanges, "labels">;
  /**
   * All of the tar goes into this one layer (a single COPY), whatever its directories: the
   * build runner already sorted the slug into layers. Default: the three layers, by name.
   */
  readonly only?: SlugLayerName;
}

/**
 * A build context for Engine.buildImage: a Dockerfile that stacks the slug on the run
 * stack image in three COPY layers (runtime, dependencies, app) and sets the image config;
 * nothing runs. A warm deploy then stores only the app layer: the others hit the cache.
 * Slug entries get the app user as owner, no setuid bits and a fixed mtime.
 */
export function appImageContext(input: AppImageContextInput): Readable {
  const base = input.baseImageId.replace(/^sha256:/, "");
  if (!/^[0-9a-f]{64}$/.test(base)) throw new TypeError(`bad base image id ${input.baseImageId}`);
  const layers = input.only === undefined ? LAYERS : [input.only];
  const dockerfile = [
    `FROM ${base}`,
    ...layers.map((layer) => `COPY --chown=${String(APP_UID)}:${String(APP_UID)} ${layer}/ /`),
    ...(input.config === undefined ? [] : imageChanges({ ...input.config, labels: {} })),
    "",
  ].join("\n");
  return packStream(async (pack) => {
    pack.entry({ name: "Dockerfile", mode: 0o644, mtime: EPOCH }, dockerfile);
    for (const layer of layers) {
      pack.entry({ ...OWNER, name: layer, type: "directory", mode: 0o755, mtime: EPOCH });
    }
    await packSlug(pack, input, (layer) => `${layer}/app`);
  });
}

/**
 * The slug's files as one image layer for Engine.appendLayer: entries at their paths
 * below / (app, app/...), with the owners, modes and times appImageContext gives them.
 */
export function appLayerFiles(input: Pick<AppImageContextInput, "slug" | "extra">): Readable {
  return packStream((pack) => packSlug(pack, { ...input, only: "app" }, () => "app"));
}

/**
 * An image of `base` plus one layer of slug files (all of them in `input.only`'s layer),
 * with the configuration given (else the base's): Engine.appendLayer when the engine has
 * it, else a FROM + COPY build without layer cache.
 */
export function layerImage(
  engine: Pick<Engine, "appendLayer" | "buildImage">,
  input: Omit<AppImageContextInput, "only"> & { readonly only: SlugLayerName },
  options: { readonly reference: string; readonly labels: Readonly<Record<string, string>> },
): Promise<ImageInfo> {
  if (engine.appendLayer !== undefined) {
    return engine.appendLayer(input.baseImageId, appLayerFiles(input), {
      ...options,
      ...input.config,
    });
  }
  if (engine.buildImage === undefined) throw new TypeError("layer images need an image builder");
  return engine.buildImage(appImageContext(input), { ...options, layerCache: false });
}

/**
 * Packs the slug's entries (and the extra files) below `appDir(layer)`, the /app of the
 * layer each belongs to, made first. Slug entries get the app user as owner, no setuid
 * bits and a fixed mtime.
 */
async function packSlug(
  pack: Pack,
  input: Pick<AppImageContextInput, "slug" | "extra" | "only">,
  appDir: (layer: SlugLayerName) => string,
): Promise<void> {
  const layers = input.only === undefined ? LAYERS : [input.only];
  const layerOf = (rel: string): SlugLayerName =>
    input.only ?? LAYER_OF[rel.split("/")[0] ?? ""] ?? "app";
  // Where a slug path goes (a hard link's target moves with the file it names).
  const inLayer = (rel: string): string => `${appDir(layerOf(rel))}/${rel}`;
  for (const layer of layers) {
    pack.entry({ ...OWNER, name: appDir(layer), type: "directory", mode: 0o755, mtime: EPOCH });
  }
  let root: string | undefined;
  await forEachTarEntry(input.slug, async (entry) => {
    const { header } = entry;
    const body = asNodeReadable(entry);
    root ??= header.name.split("/")[0] ?? "";
    const rel = below(header.name, root);
    // The slug root itself is /app (made above); /app/.slipway is Slipway's own.
    if (rel === null || rel === "" || !KEPT_TYPES.has(header.type) || isPlatformOwn(rel)) {
      await finished(body.resume());
      return;
    }
    const copy: PackHeader = {
      ...OWNER,
      name: inLayer(rel),
      type: header.type,
      mode: header.mode & 0o777,
      size: header.type === "file" ? header.size : 0,
      mtime: EPOCH,
      ...(header.type === "link" ? { linkname: inLayer(below(header.linkname, root) ?? "") } : {}),
      ...(header.type === "symlink" ? { linkname: header.linkname } : {}),
    };
    await pipeline(body, pack.entry(copy));
  });
  if (root === undefined) throw new BuildFailedError("the build produced an empty slug");
  if (input.extra.length === 0) return;
  const target = appDir(input.only ?? "app");
  const dirs = new Set(input.extra.flatMap((file) => parentDirs(file.path)));
  for (const dir of dirs) {
    pack.entry({
      ...OWNER,
      name: `${target}/${dir}`,
      type: "directory",
      mode: 0o755,
      mtime: EPOCH,
    });
  }
  for (const file of input.extra) {
    pack.entry(
      { ...OWNER, name: `${target}/${file.path}`, mode: file.mode, mtime: EPOCH },
      file.content,
    );
  }
}
