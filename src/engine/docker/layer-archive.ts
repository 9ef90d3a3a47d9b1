import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import tar from "tar-stream";
import type { CommitOptions } from "../engine.ts";
import { imageChanges } from "./image-changes.ts";
import { asArray, asObject, objectField, optionalString } from "./json-reader.ts";

/**
 * An image made of a stored image plus one layer, written as a docker-archive for Podman's
 * image loader instead of committing a container (docker-images.ts appendLayer).
 *
 * The archive names every layer, but holds only the new one: the loader reuses a layer it
 * already stores by its digest (the diff id) and reads no file for it, so the base's
 * layers travel as empty placeholder files. A base layer that is not stored fails the load
 * with a digest mismatch, never a wrong image. The image id is the digest of the
 * configuration written here, so it is known before the engine answers.
 */

/** A layer read whole into memory, with the digest of its tar (its diff id). */
export interface BufferedLayer {
  readonly chunks: readonly Buffer[];
  readonly size: number;
  readonly diffId: string;
}

/**
 * Reads the layer's tar into memory while it is at most `limit` bytes. A larger layer
 * comes back as a stream of the same bytes (what was read, then the rest) for the path
 * that does not hold it in memory.
 */
export async function readLayer(
  files: Readable,
  limit: number,
): Promise<BufferedLayer | { readonly large: Readable }> {
  const chunks: Buffer[] = [];
  const hash = createHash("sha256");
  let size = 0;
  const iterator = files[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  for (;;) {
    const next = await iterator.next();
    if (next.done === true) break;
    const chunk = typeof next.value === "string" ? Buffer.from(next.value) : next.value;
    chunks.push(chunk);
    size += chunk.length;
    if (size > limit) return { large: replay(chunks, iterator) };
    hash.update(chunk);
  }
  return { chunks, size, diffId: `sha256:${hash.digest("hex")}` };
}

/** The chunks already read, then the rest of the stream. */
function replay(read: readonly Buffer[], rest: AsyncIterator<Buffer | string>): Readable {
  return Readable.from(
    (async function* () {
      yield* read;
      for (;;) {
        const next = await rest.next();
        if (next.done === true) return;
        yield typeof next.value === "string" ? Buffer.from(next.value) : next.value;
      }
    })(),
    { objectMode: false },
  );
}

/** The parts of an image's configuration a new image carries over (Docker's names). */
const CARRIED = [
  "User",
  "ExposedPorts",
  "Env",
  "Entrypoint",
  "Cmd",
  "Volumes",
  "WorkingDir",
  "Labels",
  "StopSignal",
] as const;

export interface AppendedImage {
  /** The configuration document, as stored. */
  readonly config: Buffer;
  /** The image id: the configuration's digest. */
  readonly id: string;
  /** The diff ids of the base's layers. */
  readonly baseDiffIds: readonly string[];
}

/**
 * The configuration of `base` (an image inspect document of the Docker API) plus a layer,
 * with the options applied as a commit applies its changes: labels and environment
 * entries merged by name, command, entrypoint, directory and user replaced. Throws
 * ValidationError for what a commit would refuse. Pure.
 */
export function appendedImage(
  base: unknown,
  layerDiffId: string,
  options: Omit<CommitOptions, "reference">,
  created: string,
): AppendedImage {
  imageChanges(options); // the same validation as the commit path's
  const doc = asObject(base, "image");
  const baseConfig = objectField(doc, "Config");
  const config: Record<string, unknown> = {};
  for (const key of CARRIED) {
    const value = baseConfig[key];
    if (value !== null && value !== undefined && value !== "") config[key] = value;
  }
  const labels = { ...asStringMap(baseConfig.Labels), ...options.labels };
  if (Object.keys(labels).length > 0) config.Labels = labels;
  if (options.env !== undefined) config.Env = mergeEnv(asStrings(baseConfig.Env), options.env);
  if (options.cmd !== undefined) config.Cmd = [...options.cmd];
  if (options.entrypoint !== undefined) config.Entrypoint = [...options.entrypoint];
  if (options.workingDir !== undefined) config.WorkingDir = options.workingDir;
  if (options.user !== undefined) config.User = options.user;
  const baseDiffIds = asArray(objectField(doc, "RootFS").Layers ?? [], "RootFS.Layers").map(
    (layer) => {
      if (typeof layer !== "string" || !/^sha256:[0-9a-f]{64}$/.test(layer))
        throw new TypeError(`bad layer digest in the base image: ${String(layer)}`);
      return layer;
    },
  );
  const baseCreated = optionalString(doc, "Created") ?? created;
  const document = {
    created,
    architecture: optionalString(doc, "Architecture") ?? "amd64",
    os: optionalString(doc, "Os") ?? "linux",
    config,
    rootfs: { type: "layers", diff_ids: [...baseDiffIds, layerDiffId] },
    // One entry per layer, so that `podman history` pairs them up.
    history: [
      ...baseDiffIds.map(() => ({ created: baseCreated, created_by: "(the base image)" })),
      { created, created_by: "slipway: appended layer" },
    ],
  };
  const json = Buffer.from(JSON.stringify(document));
  return {
    config: json,
    id: `sha256:${createHash("sha256").update(json).digest("hex")}`,
    baseDiffIds,
  };
}

/**
 * The docker-archive of the image: manifest.json, the configuration, the new layer, and
 * an empty placeholder per base layer. `reference` must be fully qualified (see
 * qualifiedReference), or Podman's loader would name it below localhost/.
 */
export function layerArchive(
  image: AppendedImage,
  layer: BufferedLayer,
  reference: string,
): Readable {
  const hex = (digest: string): string => digest.slice("sha256:".length);
  const layerPath = (digest: string): string => `${hex(digest)}/layer.tar`;
  const configPath = `${hex(image.id)}.json`;
  const manifest = [
    {
      Config: configPath,
      RepoTags: [reference],
      Layers: [...image.baseDiffIds, layer.diffId].map(layerPath),
    },
  ];
  const pack = tar.pack();
  pack.entry({ name: "manifest.json" }, JSON.stringify(manifest));
  pack.entry({ name: configPath }, image.config);
  for (const digest of new Set(image.baseDiffIds)) {
    if (digest !== layer.diffId) pack.entry({ name: layerPath(digest) }, Buffer.alloc(0));
  }
  pack.entry({ name: layerPath(layer.diffId) }, Buffer.concat(layer.chunks, layer.size));
  pack.finalize();
  return Readable.from(pack, { objectMode: false });
}

/**
 * The reference with its registry, as the Docker daemon qualifies short names
 * ("slipway/app:1" → "docker.io/slipway/app:1", "busybox" → "docker.io/library/busybox").
 * Podman's compat API does the same, so the image answers to the short name as before.
 */
export function qualifiedReference(reference: string): string {
  const slash = reference.indexOf("/");
  const first = slash < 0 ? "" : reference.slice(0, slash);
  if (first.includes(".") || first.includes(":") || first === "localhost") return reference;
  return slash < 0 ? `docker.io/library/${reference}` : `docker.io/${reference}`;
}

/** NAME=value entries of `base` with `changes` applied: a name set again keeps its place. */
function mergeEnv(base: readonly string[], changes: readonly string[]): string[] {
  const name = (entry: string): string => entry.slice(0, Math.max(0, entry.indexOf("=")));
  const out = [...base];
  for (const entry of changes) {
    const at = out.findIndex((existing) => name(existing) === name(entry));
    if (at >= 0) out[at] = entry;
    else out.push(entry);
  }
  return out;
}

function asStrings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function asStringMap(value: unknown): Record<string, string> {
  if (typeof value !== "object" || value === null) return {};
  return Object.fromEntries(
    Object.entries(value).filter(
      (entry): entry is [string, string] => typeof entry[1] === "string",
    ),
  );
}

/**
 * The inspect document of an image the engine loaded from layerArchive, as far as the
 * driver reads one (toImageInfo, appendedImage): its id, tag, configuration, layers and
 * times are ours, so the load needs no inspect after it. Its size is the base's plus the
 * layer's bytes; the engine's own count adds its metadata (a few hundred bytes).
 */
export function loadedImageDocument(
  image: AppendedImage,
  base: unknown,
  layer: Pick<BufferedLayer, "size">,
  reference: string,
): Record<string, unknown> {
  const stored = asObject(JSON.parse(image.config.toString("utf8")), "image configuration");
  const rootfs = objectField(stored, "rootfs");
  const baseSize = asObject(base, "image").Size;
  return {
    Id: image.id,
    RepoTags: [reference],
    Created: stored.created,
    Architecture: stored.architecture,
    Os: stored.os,
    Config: stored.config,
    RootFS: { Type: "layers", Layers: rootfs.diff_ids },
    Size: (typeof baseSize === "number" ? baseSize : 0) + layer.size,
  };
}
