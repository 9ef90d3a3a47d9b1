import { randomBytes } from "node:crypto";
import { Duplex, type Readable } from "node:stream";
import { ConflictError, NotFoundError, ValidationError } from "../domain/errors.ts";
import { containerCreateBody } from "./docker/container-body.ts";
import { imageChanges } from "./docker/image-changes.ts";
import {
  assertOwned,
  hasLabels,
  isOwned,
  withInstanceLabel,
  type Labels,
} from "./docker/ownership.ts";
import { formatIpv4, parseCidr } from "./docker/subnets.ts";
import type {
  ContainerEvent,
  ContainerStats,
  CommitOptions,
  ContainerInfo,
  ContainerSpec,
  Engine,
  ImageInfo,
  ImportImageOptions,
  LogLine,
  LogOptions,
  NetworkInfo,
  TerminalSize,
  VolumeInfo,
} from "./engine.ts";
import type { ForeignObjects } from "./engine.contract.ts";
import { FakeContainer, type FakeProgram } from "./fake-container.ts";
import { copyTree, writeFiles, type FileTree } from "./fake-files.ts";
import { FakeImageStore } from "./fake-image-store.ts";
import { FakeNetworkStore } from "./fake-network-store.ts";
import { FakeVolumeStore } from "./fake-volume-store.ts";
import { packTar, unpackTar } from "./tar-files.ts";

export type { FakeProgram, FakeRun } from "./fake-container.ts";
export type { ForeignObjects } from "./engine.contract.ts";

export interface FakeEngineOptions {
  readonly instance?: string;
  readonly networkPool?: string;
  /** Default: exit 0 at once, no output. */
  readonly program?: FakeProgram;
}

/** One mutation, as controller tests assert them (kubernetes/sample-controller style). */
export interface FakeAction {
  readonly verb:
    | "create"
    | "init"
    | "update"
    | "start"
    | "stop"
    | "remove"
    | "commit"
    | "import"
    | "put-archive"
    | "append-layer";
  readonly kind: "container" | "image" | "network" | "volume";
  readonly name: string;
}

/**
 * An in-memory Engine for unit tests: containers "run" instantly through a FakeProgram,
 * ownership and labels behave as in the real driver (image labels are inherited, foreign
 * objects are refused), every mutation is recorded in `actions`, and any method can be
 * made to fail with `failNext`.
 */
export class FakeEngine implements Engine {
  readonly instance: string;
  readonly #program: FakeProgram;
  readonly #ignoresSigterm = new Set<string>();
  readonly #stdin = new Map<string, string[]>();
  /** Input for `stdin` containers: written before their start, or awaited while running. */
  readonly #input = new Map<string, string>();
  readonly #awaitingInput = new Set<string>();
  readonly #sizes = new Map<string, TerminalSize>();
  readonly #images = new FakeImageStore();
  readonly #containers = new Map<string, FakeContainer>();
  readonly #networks: FakeNetworkStore;
  readonly #volumes: FakeVolumeStore;
  readonly #actions: FakeAction[] = [];
  readonly #failures: { method: keyof Engine; error: Error }[] = [];
  readonly #eventListeners = new Set<(event: ContainerEvent) => void>();

  constructor(options: FakeEngineOptions = {}) {
    this.instance = options.instance ?? "fake";
    this.#networks = new FakeNetworkStore(
      this.instance,
      parseCidr(options.networkPool ?? "10.213.0.0/16"),
    );
    this.#volumes = new FakeVolumeStore(this.instance);
    this.#program = options.program ?? (() => ({}));
  }

  /** Mutations so far, in order. */
  get actions(): readonly FakeAction[] {
    return [...this.#actions];
  }

  clearActions(): void {
    this.#actions.length = 0;
  }

  /** Makes the next `times` calls of `method` throw `error`. */
  failNext(method: keyof Engine, error: Error, times = 1): void {
    for (let i = 0; i < times; i++) this.#failures.push({ method, error });
  }

  /** Ends a running container as its process would (a crash, an OOM kill). */
  exitContainer(id: string, exitCode: number, oomKilled = false): void {
    const container = this.#container(id);
    if (container.info.state !== "running") return;
    container.finish(exitCode, oomKilled);
    const base = { containerId: container.info.id, labels: container.info.labels };
    for (const listener of [...this.#eventListeners]) {
      if (oomKilled) listener({ ...base, action: "oom", exitCode: null });
      listener({ ...base, action: "die", exitCode });
    }
  }

  /** Adds a container, network, volume and image that another tool made (no instance label). */
  seedForeign(): ForeignObjects {
    const suffix = randomBytes(3).toString("hex");
    const image = this.#images.add(`foreign/image:${suffix}`, {}, new Map());
    const network = `foreign-net-${suffix}`;
    this.#networks.addForeign(network);
    const volume = `foreign-vol-${suffix}`;
    this.#volumes.addForeign(volume);
    const spec: ContainerSpec = {
      name: `foreign-${suffix}`,
      image: image.info.id,
      env: {},
      labels: {},
      network,
      limits: { memoryBytes: 64 << 20, cpus: 1, pids: 64, tmpBytes: 1 << 20 },
    };
    const id = hex();
    const identity = { id, imageId: image.info.id, labels: {} };
    this.#containers.set(id, new FakeContainer(identity, spec, new Map()));
    return { container: id, network, volume, image: `foreign/image:${suffix}` };
  }

  /** True while all of these objects still exist (ownership tests check nothing was touched). */
  holds(objects: ForeignObjects): boolean {
    return (
      this.#find(objects.container) !== undefined &&
      this.#networks.get(objects.network) !== undefined &&
      this.#volumes.get(objects.volume) !== undefined &&
      this.#images.find(objects.image) !== undefined
    );
  }

  ping(): Promise<void> {
    return this.#run("ping", () => undefined);
  }

  // Images

  async importImage(rootfs: Readable, options: ImportImageOptions): Promise<ImageInfo> {
    this.#fail("importImage");
    const labels = withInstanceLabel(this.instance, options.labels);
    imageChanges({ ...options, labels });
    const tree: FileTree = new Map();
    writeFiles(tree, "", await unpackTar(rootfs));
    this.#record("import", "image", options.reference);
    return this.#images.add(options.reference, labels, tree).info;
  }

  async appendLayer(base: string, files: Readable, options: CommitOptions): Promise<ImageInfo> {
    this.#fail("appendLayer");
    const image = this.#images.find(base);
    if (image === undefined) throw new NotFoundError("image", base);
    assertOwned(this.instance, "image", base, image.info.labels);
    // Like the engines: the base's labels are inherited, then the new ones.
    const labels = withInstanceLabel(this.instance, { ...image.info.labels, ...options.labels });
    imageChanges({ ...options, labels });
    const tree = copyTree(image.files);
    writeFiles(tree, "", await unpackTar(files));
    this.#record("append-layer", "image", options.reference);
    return this.#images.add(options.reference, labels, tree).info;
  }

  inspectImage(ref: string): Promise<ImageInfo | undefined> {
    return this.#run("inspectImage", () => {
      const image = this.#images.find(ref);
      return image && isOwned(this.instance, image.info.labels) ? image.info : undefined;
    });
  }

  listImages(labels: Labels = {}): Promise<ImageInfo[]> {
    return this.#run("listImages", () =>
      this.#images
        .all()
        .map((image) => image.info)
        .filter((info) => this.#selected(info.labels, labels)),
    );
  }

  removeImage(ref: string): Promise<void> {
    return this.#run("removeImage", () => {
      const image = this.#images.find(ref);
      if (image === undefined) return;
      assertOwned(this.instance, "image", ref, image.info.labels);
      const inUse = [...this.#containers.values()].some((c) => c.info.imageId === image.info.id);
      this.#images.remove(image, ref, inUse);
      this.#record("remove", "image", ref);
    });
  }

  commitContainer(containerId: string, options: CommitOptions): Promise<ImageInfo> {
    return this.#run("commitContainer", () => {
      const container = this.#owned(containerId);
      // Like the engines: the image inherits the container's labels, then the changes.
      const labels = withInstanceLabel(this.instance, {
        ...container.info.labels,
        ...options.labels,
      });
      imageChanges({ ...options, labels });
      this.#record("commit", "image", options.reference);
      return this.#images.add(options.reference, labels, copyTree(container.files)).info;
    });
  }

  // Containers

  createContainer(spec: ContainerSpec): Promise<string> {
    return this.#run("createContainer", () => {
      const labels = withInstanceLabel(this.instance, spec.labels);
      containerCreateBody(spec, labels);
      const network = this.#networks.get(spec.network);
      if (network === undefined) throw new NotFoundError("network", spec.network);
      assertOwned(this.instance, "network", spec.network, network.labels);
      for (const mount of spec.volumes ?? []) {
        const volume = this.#volumes.get(mount.volume);
        if (volume === undefined) throw new NotFoundError("volume", mount.volume);
        assertOwned(this.instance, "volume", mount.volume, volume.info.labels);
      }
      const image = this.#images.find(spec.image);
      if (image === undefined) throw new NotFoundError("image", spec.image);
      if ([...this.#containers.values()].some((c) => c.info.name === spec.name)) {
        throw new ConflictError(`container name "${spec.name}" is taken`);
      }
      const id = hex();
      const address = this.#address(spec.network);
      // Like the engines: a container carries its image's labels under its own.
      const identity = {
        id,
        imageId: image.info.id,
        labels: { ...image.info.labels, ...labels },
        ...(address === undefined ? {} : { address }),
      };
      this.#containers.set(id, new FakeContainer(identity, spec, copyTree(image.files)));
      this.#record("create", "container", spec.name);
      return id;
    });
  }

  initContainer(id: string): Promise<void> {
    return this.#run("initContainer", () => {
      const container = this.#owned(id);
      if (container.info.state !== "created" || container.initialized) return;
      container.initialized = true;
      this.#record("init", "container", container.info.name);
    });
  }

  /** As Podman's update: the container must have its cgroup (initialized or started). */
  setCpuLimit(id: string, cpus: number): Promise<void> {
    return this.#run("setCpuLimit", () => {
      const container = this.#owned(id);
      if (container.info.state === "created" && !container.initialized) {
        throw new ConflictError(`container ${id} is not initialized`);
      }
      container.cpuLimit = cpus;
      this.#record("update", "container", container.info.name);
    });
  }

  /** The container's name, for tests matching actions. */
  nameOf(id: string): string | undefined {
    return this.#containers.get(id)?.info.name;
  }

  /** The container's CPU cap now (FakeContainer.cpuLimit), for tests. */
  cpuLimitOf(id: string): number | undefined {
    return this.#containers.get(id)?.cpuLimit;
  }

  startContainer(id: string): Promise<void> {
    return this.#run("startContainer", () => {
      const container = this.#owned(id);
      if (container.info.state === "running") return;
      this.#record("start", "container", container.info.name);
      const input = this.#input.get(container.info.id);
      if (container.spec.stdin === true && input === undefined) {
        // Waits for its input, as `read` on stdin would.
        container.start([], [], undefined);
        this.#awaitingInput.add(container.info.id);
        return;
      }
      const run = this.#runProgram(container, input ?? "");
      container.start(run.stdout, run.stderr, run.exitCode);
    });
  }

  /** What the program does, with its writes applied; exitCode undefined: keeps running. */
  #runProgram(
    container: FakeContainer,
    input: string,
  ): { stdout: readonly string[]; stderr: readonly string[]; exitCode: number | undefined } {
    const read = (path: string): string | undefined => container.read(path, this.#volumeFiles);
    const run = this.#program(container.spec, read, input);
    for (const [path, content] of Object.entries(run.writes ?? {})) {
      container.write(path, content, this.#volumeFiles);
    }
    if (run.ignoresSigterm === true) this.#ignoresSigterm.add(container.info.id);
    const exitCode = run.untilStopped === true ? undefined : (run.exitCode ?? 0);
    return { stdout: run.stdout ?? [], stderr: run.stderr ?? [], exitCode };
  }

  stopContainer(id: string, graceSeconds: number): Promise<void> {
    return this.#run("stopContainer", () => {
      if (!(graceSeconds >= 0)) throw new ValidationError("graceSeconds must not be negative");
      const container = this.#owned(id);
      this.#record("stop", "container", container.info.name);
      // SIGTERM, forwarded by the init process: 128 + 15; SIGKILL after the grace: 128 + 9.
      const code = this.#ignoresSigterm.has(container.info.id) ? 137 : 143;
      if (container.info.state === "running") container.finish(code, false);
    });
  }

  removeContainer(id: string): Promise<void> {
    return this.#run("removeContainer", () => {
      const container = this.#find(id);
      if (container === undefined) return;
      assertOwned(this.instance, "container", id, container.info.labels);
      // Removal is forced: a running container is killed first.
      if (container.info.state === "running") container.finish(137, false);
      this.#containers.delete(container.info.id);
      this.#record("remove", "container", container.info.name);
    });
  }

  async waitContainer(id: string, signal?: AbortSignal): Promise<number> {
    this.#fail("waitContainer");
    const container = this.#owned(id);
    for (;;) {
      signal?.throwIfAborted();
      if (container.info.exitCode !== null) return container.info.exitCode;
      if (container.info.state === "created") {
        throw new ConflictError(`container ${id} has not been started`);
      }
      await container.changed(signal);
    }
  }

  inspectContainer(id: string): Promise<ContainerInfo | undefined> {
    return this.#run("inspectContainer", () => {
      const container = this.#find(id);
      return container && isOwned(this.instance, container.info.labels)
        ? container.info
        : undefined;
    });
  }

  listContainers(labels: Labels = {}): Promise<ContainerInfo[]> {
    return this.#run("listContainers", () =>
      [...this.#containers.values()]
        .map((c) => c.info)
        .filter((info) => this.#selected(info.labels, labels)),
    );
  }

  attachContainer(id: string): Promise<Duplex> {
    return this.#run("attachContainer", () => {
      const container = this.#owned(id);
      const stdin: string[] = [];
      this.#stdin.set(container.info.id, stdin);
      const stream = new Duplex({
        read() {
          // Output is pushed as the program writes it.
        },
        write(chunk: Buffer, _encoding, done) {
          stdin.push(chunk.toString());
          done();
        },
      });
      // Like a terminal: the program's lines with CR LF, from its start until it exits.
      void (async () => {
        while (container.info.state === "created") await container.changed(undefined);
        for await (const entry of this.logs(container.info.id, { follow: true }))
          stream.push(`${entry.line}\r\n`);
        stream.push(null);
      })();
      return stream;
    });
  }

  attachOutput(id: string, signal?: AbortSignal, input?: string): Promise<AsyncIterable<LogLine>> {
    return this.#run("attachOutput", () => {
      const container = this.#owned(id);
      const logs = (id: string, options: LogOptions) => this.logs(id, options);
      if (input !== undefined && container.spec.stdin === true) {
        if (this.#awaitingInput.delete(container.info.id)) {
          const run = this.#runProgram(container, input);
          container.run(run.stdout, run.stderr, run.exitCode);
        } else if (container.info.state === "created") {
          this.#input.set(container.info.id, input);
        }
      }
      return (async function* () {
        while (container.info.state === "created") {
          try {
            await container.changed(signal);
          } catch (error) {
            if (signal?.aborted === true) return;
            throw error;
          }
        }
        yield* logs(container.info.id, { follow: true, ...(signal ? { signal } : {}) });
      })();
    });
  }

  resizeContainer(id: string, size: TerminalSize): Promise<void> {
    return this.#run("resizeContainer", () => {
      this.#sizes.set(this.#owned(id).info.id, size);
    });
  }

  /** What was written to an attached container's stdin (tests). */
  stdinOf(id: string): string {
    return (this.#stdin.get(id) ?? []).join("");
  }

  /** The terminal size last set on a container (tests). */
  terminalSizeOf(id: string): TerminalSize | undefined {
    return this.#sizes.get(id);
  }

  async *logs(id: string, options: LogOptions): AsyncGenerator<LogLine> {
    this.#fail("logs");
    const container = this.#owned(id);
    const { signal } = options;
    const { length } = container.output;
    let next = options.tail === undefined ? 0 : Math.max(0, length - options.tail);
    const aborted = (): boolean => signal?.aborted === true;
    for (;;) {
      while (next < container.output.length && !aborted()) {
        const line = container.output[next++];
        const time = container.info.startedAt ?? new Date(0).toISOString();
        if (line !== undefined) yield options.timestamps === true ? { ...line, time } : line;
      }
      if (!options.follow || container.info.state !== "running" || aborted()) return;
      try {
        await container.changed(signal);
      } catch (error) {
        if (!aborted()) throw error; // an abort ends the iteration quietly
      }
    }
  }

  async putArchive(id: string, path: string, tar: Readable): Promise<void> {
    this.#fail("putArchive");
    const container = this.#owned(id);
    container.put(path, await unpackTar(tar), this.#volumeFiles);
    this.#record("put-archive", "container", container.info.name);
  }

  getArchive(id: string, path: string): Promise<Readable> {
    return this.#run("getArchive", () => {
      return packTar(this.#owned(id).get(path, this.#volumeFiles));
    });
  }

  stats(id: string): Promise<ContainerStats | undefined> {
    return this.#run("stats", () => {
      const container = this.#owned(id);
      if (container.info.state !== "running") return undefined;
      return {
        cpuPercent: 0,
        memoryBytes: 16 * 1024 * 1024,
        memoryLimitBytes: container.spec.limits.memoryBytes,
      };
    });
  }

  /** Events of exitContainer() calls, until signal aborts. */
  async *containerEvents(labels: Labels, signal: AbortSignal): AsyncGenerator<ContainerEvent> {
    const queue: ContainerEvent[] = [];
    let wake: (() => void) | undefined;
    const listener = (event: ContainerEvent): void => {
      if (!this.#selected(event.labels, labels)) return;
      queue.push(event);
      wake?.();
    };
    const onAbort = (): void => wake?.();
    this.#eventListeners.add(listener);
    signal.addEventListener("abort", onAbort);
    try {
      while (!signal.aborted) {
        const next = queue.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    } finally {
      this.#eventListeners.delete(listener);
      signal.removeEventListener("abort", onAbort);
    }
  }

  rawInspect(id: string): Promise<unknown> {
    return this.#run("rawInspect", () => {
      const container = this.#owned(id);
      const body = containerCreateBody(container.spec, container.info.labels);
      // Shaped like the driver's answer: Podman's user-namespace mapping and (no) effective
      // capabilities merged in, so the container audit judges fakes as it judges Podman.
      return {
        Id: container.info.id,
        Name: `/${container.info.name}`,
        Config: body,
        EffectiveCaps: null,
        HostConfig: {
          ...body.HostConfig,
          IDMappings: { UidMap: ["0:2147483647:65536"], GidMap: ["0:2147483647:65536"] },
        },
      };
    });
  }

  // Networks and volumes

  ensureNetwork(name: string, labels: Labels): Promise<NetworkInfo> {
    return this.#run("ensureNetwork", () => {
      const { info, created } = this.#networks.ensure(name, labels);
      if (created) this.#record("create", "network", name);
      return info;
    });
  }

  removeNetwork(name: string): Promise<void> {
    return this.#run("removeNetwork", () => {
      const inUse = [...this.#containers.values()].some((c) => c.spec.network === name);
      if (this.#networks.remove(name, inUse)) this.#record("remove", "network", name);
    });
  }

  listNetworks(labels: Labels = {}): Promise<NetworkInfo[]> {
    return this.#run("listNetworks", () =>
      this.#networks.all().filter((network) => this.#selected(network.labels, labels)),
    );
  }

  ensureVolume(name: string, labels: Labels): Promise<void> {
    return this.#run("ensureVolume", () => {
      if (this.#volumes.ensure(name, labels)) this.#record("create", "volume", name);
    });
  }

  removeVolume(name: string): Promise<void> {
    return this.#run("removeVolume", () => {
      const inUse = [...this.#containers.values()].some((c) =>
        c.spec.volumes?.some((mount) => mount.volume === name),
      );
      if (this.#volumes.remove(name, inUse)) this.#record("remove", "volume", name);
    });
  }

  /** The sum of the sizes of the volume's files. */
  volumeUsage(name: string): Promise<number> {
    return this.#run("volumeUsage", () => {
      let total = 0;
      for (const file of this.#volumes.get(name)?.files.values() ?? []) {
        total += file.data.length;
      }
      return total;
    });
  }

  listVolumes(labels: Labels = {}): Promise<VolumeInfo[]> {
    return this.#run("listVolumes", () =>
      this.#volumes
        .all()
        .map((volume) => volume.info)
        .filter((info) => this.#selected(info.labels, labels)),
    );
  }

  // Internals

  /** Runs a synchronous operation as the async method it stands for, failures injected. */
  #run<T>(method: keyof Engine, operation: () => T): Promise<T> {
    try {
      this.#fail(method);
      return Promise.resolve(operation());
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  #fail(method: keyof Engine): void {
    const index = this.#failures.findIndex((failure) => failure.method === method);
    if (index < 0) return;
    const [failure] = this.#failures.splice(index, 1);
    if (failure !== undefined) throw failure.error;
  }

  #record(verb: FakeAction["verb"], kind: FakeAction["kind"], name: string): void {
    this.#actions.push({ verb, kind, name });
  }

  #selected(labels: Labels, wanted: Labels): boolean {
    return isOwned(this.instance, labels) && hasLabels(labels, wanted);
  }

  /** The next free address after the gateway; good enough for a fake. */
  #address(network: string): string | undefined {
    const subnet = this.#networks.get(network)?.subnet;
    if (subnet === undefined || subnet === "") return undefined;
    const peers = [...this.#containers.values()].filter((c) => c.spec.network === network);
    return formatIpv4(parseCidr(subnet).base + 2 + peers.length);
  }

  readonly #volumeFiles = (name: string): FileTree | undefined => this.#volumes.get(name)?.files;

  #find(id: string): FakeContainer | undefined {
    return (
      this.#containers.get(id) ?? [...this.#containers.values()].find((c) => c.info.name === id)
    );
  }

  #container(id: string): FakeContainer {
    const container = this.#find(id);
    if (container === undefined) throw new NotFoundError("container", id);
    return container;
  }

  #owned(id: string): FakeContainer {
    const container = this.#container(id);
    assertOwned(this.instance, "container", id, container.info.labels);
    return container;
  }
}

function hex(): string {
  return randomBytes(32).toString("hex");
}
