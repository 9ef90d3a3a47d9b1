import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { BoundedMap } from "../../domain/bounded-map.ts";
import { DriverError, NotFoundError, ValidationError } from "../../domain/errors.ts";
import type { BuildImageOptions, CommitOptions, ImageInfo, ImportImageOptions } from "../engine.ts";
import type { EngineApi } from "./api-client.ts";
import { toImageInfo, toImageSummaryInfo, withSha256 } from "./decode.ts";
import { imageChanges } from "./image-changes.ts";
import { splitReference } from "./image-reference.ts";
import {
  appendedImage,
  layerArchive,
  loadedImageDocument,
  qualifiedReference,
  readLayer,
  type BufferedLayer,
} from "./layer-archive.ts";
import { asArray, asObject, stringField } from "./json-reader.ts";
import {
  assertOwned,
  hasLabels,
  isOwned,
  labelFilters,
  withInstanceLabel,
  type Labels,
} from "./ownership.ts";

/** How many images' inspect documents appendLayer may reuse. */
const REMEMBERED_DOCUMENTS = 256;

/** Layers up to this size are appended by the image loader, held in memory meanwhile. */
export const LOAD_LIMIT_BYTES = 32 * 1024 * 1024;

export interface DockerImagesOptions {
  /** Default LOAD_LIMIT_BYTES; tests lower it. */
  readonly loadLimitBytes?: number;
}

/**
 * Images: import a root filesystem, commit a container, inspect, list, remove — all
 * labelled with the instance, all refusing images that are not.
 */
export class DockerImages {
  readonly #api: EngineApi;
  readonly #instance: string;
  readonly #loadLimitBytes: number;
  /** Inspect documents by image id, the latest REMEMBERED_DOCUMENTS (#inspectDocument). */
  readonly #documents = new BoundedMap<string, Promise<unknown>>(REMEMBERED_DOCUMENTS);
  /** Whether the engine has Podman's image loader; unknown until the first layer. */
  #loader: boolean | undefined;

  constructor(api: EngineApi, instance: string, options: DockerImagesOptions = {}) {
    this.#api = api;
    this.#instance = instance;
    this.#loadLimitBytes = options.loadLimitBytes ?? LOAD_LIMIT_BYTES;
  }

  /** POST /images/create?fromSrc=- with the tar, then tag: compat import ignores the tag. */
  async import(rootfs: Readable, options: ImportImageOptions): Promise<ImageInfo> {
    const { repository, tag } = splitReference(options.reference);
    const changes = imageChanges({
      ...options,
      labels: withInstanceLabel(this.#instance, options.labels),
    });
    const progress = await this.#api.text("POST", "/images/create", {
      query: { fromSrc: "-", changes },
      body: rootfs,
      timeoutMs: 15 * 60_000,
    });
    const id = importedImageId(progress);
    await this.#api.json("POST", `/images/${id}/tag`, { query: { repo: repository, tag } });
    return this.#require(id);
  }

  /**
   * POST /build with the context tar. Labels (with the instance label) go as the `labels`
   * parameter so the final image carries them whatever the Dockerfile says; RUN steps get
   * no network (only a loopback interface) and cached layers are
   * reused, which is the point: an unchanged runtime or dependency layer is not stored again.
   * RUN steps run in the engine's build sandbox (runc, the service's seccomp profile and
   * ulimits, no network) with the given memory (no extra swap) and CPU caps; their output
   * goes to options.log, and the last lines of it into the error when a step fails.
   */
  async build(context: Readable, options: BuildImageOptions): Promise<ImageInfo> {
    const progress = await this.#api.text("POST", "/build", {
      query: {
        t: options.reference,
        labels: JSON.stringify(withInstanceLabel(this.#instance, options.labels)),
        // Podman 4.3's handler reads buildah's network policy number here (1: disabled) and
        // silently ignores Docker's "none": with "none", RUN steps shared the HOST's network
        // (they saw eth0 and connected out). src/build/buildpacks.test.ts checks it.
        networkmode: BUILD_NETWORK_DISABLED,
        rm: true,
        forcerm: true,
        pull: false,
        // Podman's extension of the Docker API: false builds in one container, one commit.
        ...(options.layerCache === false ? { layers: false } : {}),
        ...buildLimits(options.limits),
      },
      body: context,
      contentType: "application/x-tar",
      timeoutMs: 15 * 60_000,
    });
    return this.#require(builtImageId(progress, options.log));
  }

  /**
   * POST /commit. The image inherits the container's configuration — its labels, its
   * environment, its command — with the changes on top, so commit from a container that
   * was created for the purpose (no secrets in its environment, no role labels).
   * Podman 4.3 stores the files the container wrote with their host ids (it does not map
   * user-namespace ids back), so in containers of the new image they belong to "nobody"
   * and their permission bits decide who reads them (see USERNS_MODE).
   */
  async commit(containerId: string, options: CommitOptions): Promise<ImageInfo> {
    const { repository, tag } = splitReference(options.reference);
    const changes = imageChanges({
      ...options,
      labels: withInstanceLabel(this.#instance, options.labels),
    });
    const answer = await this.#api.json("POST", "/commit", {
      query: { container: containerId, repo: repository, tag, changes, pause: false },
      json: {},
      timeoutMs: 15 * 60_000,
    });
    return this.#require(withSha256(stringField(asObject(answer, "commit"), "Id")));
  }

  /**
   * The base image plus one layer of files. On Podman, the layer goes into a docker-archive
   * that names the base's layers without holding them (layer-archive.ts) and the image
   * loader stores it: 0.035 s, against 0.085 s for the container, archive put, commit and
   * removal below. Layers over the memory limit, and engines without Podman's loader
   * (a Docker daemon), take that second way: a throwaway container of the base image gets
   * the files (PUT archive, which keeps the tar's owners) and is committed. That container
   * is never started (no network, no process) and carries the new image's labels, which
   * the image then inherits; it is removed at once.
   */
  async appendLayer(base: string, files: Readable, options: CommitOptions): Promise<ImageInfo> {
    const found = this.#documents.get(withSha256(base)) ?? this.#inspectDocument(base);
    const read = readLayer(files, this.#loadLimitBytes);
    // Whichever fails first, the other is still settled (and the stream read or destroyed).
    const [document, layer] = await Promise.all([
      found.catch((error: unknown) => {
        files.destroy();
        throw error;
      }),
      read,
    ]);
    if (document === undefined) throw new NotFoundError("image", base);
    const baseInfo = toImageInfo(document);
    assertOwned(this.#instance, "image", base, baseInfo.labels);
    if ("large" in layer || this.#loader === false) {
      return this.#commitLayer(
        baseInfo.id,
        "large" in layer ? layer.large : replayed(layer),
        options,
      );
    }
    const labels = withInstanceLabel(this.#instance, options.labels);
    const image = appendedImage(
      document,
      layer.diffId,
      { ...options, labels },
      new Date().toISOString(),
    );
    const reference = qualifiedReference(options.reference);
    try {
      await this.#api.json("POST", "/images/load", {
        api: "libpod",
        body: layerArchive(image, layer, reference),
        contentType: "application/x-tar",
        timeoutMs: 15 * 60_000,
      });
    } catch (error) {
      // A base that went since its inspect fails here on a missing layer: look again next time.
      this.#documents.delete(baseInfo.id);
      if (!(error instanceof NotFoundError) || this.#loader === true) throw error;
      this.#loader = false; // a Docker daemon: no libpod API
      return this.#commitLayer(baseInfo.id, replayed(layer), options);
    }
    this.#loader = true;
    // What an inspect would say, known already (2.5-3 ms of every deploy otherwise).
    const loaded = loadedImageDocument(image, document, layer, reference);
    this.#remember(image.id, loaded);
    return toImageInfo(loaded);
  }

  async #commitLayer(baseId: string, files: Readable, options: CommitOptions): Promise<ImageInfo> {
    const created = await this.#api.json("POST", "/containers/create", {
      query: { name: `slipway-layer-${randomBytes(8).toString("hex")}` },
      json: {
        Image: baseId,
        Cmd: ["/nonexistent"],
        Labels: withInstanceLabel(this.#instance, options.labels),
        NetworkDisabled: true,
        HostConfig: { NetworkMode: "none" },
      },
    });
    const id = stringField(asObject(created, "create"), "Id");
    try {
      await this.#api.json("PUT", `/containers/${id}/archive`, {
        query: { path: "/" },
        body: files,
        timeoutMs: 15 * 60_000,
      });
      return await this.commit(id, options);
    } finally {
      await this.#api
        .json("DELETE", `/containers/${id}`, { query: { force: true, v: true } })
        .catch(() => undefined);
    }
  }

  /** The image if it exists and is ours. */
  async inspect(ref: string): Promise<ImageInfo | undefined> {
    const info = await this.#inspectAny(ref);
    return info !== undefined && isOwned(this.#instance, info.labels) ? info : undefined;
  }

  async list(labels: Labels = {}): Promise<ImageInfo[]> {
    // Podman 4.3 answers nothing for two label filters on images: the engine filters on
    // one (the first asked for, the most selective; else the instance) and this on the
    // rest. The fewer images the engine describes, the sooner it answers.
    const [first] = Object.entries(labels);
    const filters =
      first === undefined
        ? labelFilters(this.#instance)
        : JSON.stringify({ label: [`${first[0]}=${first[1]}`] });
    const summaries = asArray(
      await this.#api.json("GET", "/images/json", { query: { filters } }),
      "images",
    );
    // The summaries carry what a list needs (labels, tags, size, creation): no inspect per
    // image (a build lists its app's layer images before it starts).
    return summaries
      .map(toImageSummaryInfo)
      .filter((info) => isOwned(this.#instance, info.labels) && hasLabels(info.labels, labels));
  }

  /**
   * Removes a tag, or the image when given its id (tags first, so the engine does not
   * need `force`, which would also remove containers using it). Missing is fine.
   */
  async remove(ref: string): Promise<void> {
    const info = await this.#inspectAny(ref);
    if (info === undefined) return;
    assertOwned(this.#instance, "image", ref, info.labels);
    const byId = ref === info.id || info.id === withSha256(ref);
    if (byId) this.#documents.delete(info.id);
    for (const name of byId ? [...info.tags, info.id] : [ref]) {
      try {
        await this.#api.json("DELETE", `/images/${imagePath(name)}`, {
          subject: { kind: "image", name },
        });
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
      }
    }
  }

  async #require(id: string): Promise<ImageInfo> {
    const info = await this.#inspectAny(id);
    if (info === undefined) throw new DriverError("engine", `image ${id} vanished after creation`);
    return info;
  }

  async #inspectAny(ref: string): Promise<ImageInfo | undefined> {
    const document = await this.#inspectDocument(ref);
    return document === undefined ? undefined : toImageInfo(document);
  }

  /**
   * The engine's inspect document of any image, ours or not; undefined when missing. It
   * is remembered by image id for appendLayer, which reads only what an id fixes (the
   * configuration, layers and labels): a warm build inspects its layer image by tag, then
   * appends to it by id.
   */
  async #inspectDocument(ref: string): Promise<unknown> {
    let document: unknown;
    try {
      document = await this.#api.json("GET", `/images/${imagePath(ref)}/json`, {
        subject: { kind: "image", name: ref },
      });
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
    const id = asObject(document, "image").Id;
    if (typeof id === "string") this.#remember(id, document);
    return document;
  }

  #remember(id: string, document: unknown): void {
    this.#documents.set(withSha256(id), Promise.resolve(document));
  }
}

function replayed(layer: BufferedLayer): Readable {
  return Readable.from(layer.chunks, { objectMode: false });
}

/** An image reference as a path segment: references may contain "/", nothing stranger. */
function imagePath(ref: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._:@/-]*$/.test(ref) || ref.includes("..")) {
    throw new ValidationError(`"${ref}" is not an image reference`);
  }
  return ref;
}

/**
 * The image id from the import progress stream (JSON objects one after another). Docker
 * ends with {"status":"sha256:..."}, Podman adds "id"; an {"error"} object is a failure.
 */
export function importedImageId(progress: string): string {
  let id: string | undefined;
  for (const line of progress.split(/\r?\n/)) {
    if (line.trim() === "") continue;
    const message = asObject(parseLine(line), "import progress");
    if (typeof message.error === "string") {
      throw new DriverError("engine", `image import failed: ${message.error}`);
    }
    for (const value of [message.id, message.status]) {
      if (typeof value === "string" && /^(sha256:)?[0-9a-f]{64}$/.test(value))
        id = withSha256(value);
    }
  }
  if (id === undefined)
    throw new DriverError("engine", "image import answered without an image id");
  return id;
}

/** buildah's define.NetworkDisabled: RUN steps get a network namespace with only lo. */
const BUILD_NETWORK_DISABLED = 1;

/** The query parameters that cap a build's RUN steps (the Docker API's names). */
function buildLimits(limits: BuildImageOptions["limits"]): Record<string, number> {
  if (limits === undefined) return {};
  const period = 100_000;
  return {
    memory: limits.memoryBytes,
    memswap: limits.memoryBytes,
    cpuperiod: period,
    cpuquota: Math.max(1_000, Math.round(limits.cpus * period)),
  };
}

/** How many lines of a failed build's output its error carries. */
const ERROR_TAIL_LINES = 20;

/**
 * The image id from a build's progress stream: {"aux":{"ID":...}} or "Successfully built".
 * Hands every output line to log; a failed step's error says what the step printed last
 * (the engine's own message is only "while running runtime: exit status N").
 */
export function builtImageId(progress: string, log?: (line: string) => void): string {
  let id: string | undefined;
  const output: string[] = [];
  // A RUN step's output arrives in chunks that need not end at line ends.
  let partial = "";
  const flush = (): void => {
    if (partial !== "") output.push(partial);
    if (partial !== "") log?.(partial);
    partial = "";
  };
  for (const line of progress.split(/\r?\n/)) {
    if (line.trim() === "") continue;
    const message = asObject(parseLine(line), "build progress");
    if (typeof message.stream === "string") {
      const lines = (partial + message.stream).split("\n");
      partial = lines.pop() ?? "";
      for (const text of lines) {
        output.push(text);
        log?.(text);
      }
    }
    if (typeof message.error === "string") {
      flush();
      const tail = output.slice(-ERROR_TAIL_LINES).join("\n");
      throw new DriverError(
        "engine",
        `image build failed: ${message.error.trim()}${tail === "" ? "" : `\n--- build output ---\n${tail}`}`,
      );
    }
    const aux = message.aux;
    if (typeof aux === "object" && aux !== null && "ID" in aux && typeof aux.ID === "string")
      id = withSha256(aux.ID);
    const built =
      typeof message.stream === "string"
        ? /Successfully built ([0-9a-f]{12,64})/.exec(message.stream)
        : null;
    if (id === undefined && built?.[1] !== undefined && built[1].length === 64)
      id = withSha256(built[1]);
  }
  flush();
  if (id === undefined) throw new DriverError("engine", "image build answered without an image id");
  return id;
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch (error) {
    throw new DriverError(
      "engine",
      `image import answered something that is not JSON: ${line.slice(0, 200)}`,
      {
        cause: error,
      },
    );
  }
}
