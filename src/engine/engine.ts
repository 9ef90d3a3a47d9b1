import type { Duplex, Readable } from "node:stream";

/**
 * The engine port: containers, images, networks and volumes. The default driver speaks
 * the Docker Engine API (src/engine/docker/), served by Slipway's own Podman service or
 * by a Docker daemon; a Kubernetes driver comes later. A fake (src/engine/fake-engine.ts)
 * serves unit tests; one contract suite (src/engine/engine.contract.ts) runs against both.
 *
 * Ownership: every object the driver creates carries the label `io.slipway.instance`
 * (set from the driver's options); list calls only ever return objects with that label,
 * and mutating calls refuse objects without it. Slipway never touches what it did not make.
 */
export interface Engine {
  /** Resolves when the engine answers; throws DriverError otherwise. */
  ping(signal?: AbortSignal): Promise<void>;

  // Images
  /** Imports a root filesystem tarball as a new image (stacks). */
  importImage(rootfs: Readable, options: ImportImageOptions): Promise<ImageInfo>;
  /**
   * Builds an image from a context tar with a Dockerfile of FROM, COPY and configuration
   * lines only (nothing runs), reusing cached layers whose content did not change. App
   * images use it to stack a slug on the run stack image. Optional: without it, app images
   * are imported whole.
   */
  buildImage?(context: Readable, options: BuildImageOptions): Promise<ImageInfo>;
  /**
   * A new image: the base image (one of ours) plus one layer of the tar's files, at their
   * paths below / with their owners, modes and times as the tar says, and the given
   * configuration and labels (the base's labels are inherited). Nothing runs. What app
   * images are made with when the engine has it: stacking a few files this way costs a
   * fraction of a build. Optional.
   */
  appendLayer?(base: string, files: Readable, options: CommitOptions): Promise<ImageInfo>;
  inspectImage(ref: string): Promise<ImageInfo | undefined>;
  listImages(labels?: Readonly<Record<string, string>>): Promise<ImageInfo[]>;
  removeImage(ref: string): Promise<void>;
  /** Freezes a (stopped) container's filesystem into a new image. */
  commitContainer(containerId: string, options: CommitOptions): Promise<ImageInfo>;

  // Containers
  /** Creates a container; the driver always applies the security baseline. */
  createContainer(spec: ContainerSpec): Promise<string>;
  startContainer(id: string): Promise<void>;
  /**
   * Sets up a created container ahead of its start: its root filesystem, namespaces and
   * the runtime's side of it, everything but running its process (Podman's init), so that
   * the start later is quick. It stays "created" until started; removing it is as for any
   * created container. Idempotent. Optional: without it a start does all of it.
   */
  initContainer?(id: string): Promise<void>;
  /**
   * Sets the CPU cap of an initialized or running container to `cpus`, leaving its other
   * limits as they are: a web container's startup boost, then its size's cap again. What
   * the spec asked for (limits.cpus) stays what inspect documents say. Optional: without
   * it containers keep their spec's cap.
   */
  setCpuLimit?(id: string, cpus: number): Promise<void>;
  /**
   * Prepares, ahead of time, what the next container created on this network with these
   * aliases needs, so that its start is quicker (the Docker driver on Podman: a started
   * network sandbox it joins). A hint, called when the machine is idle; idempotent.
   * Optional.
   */
  prepareNetwork?(network: string, aliases: readonly string[]): Promise<void>;
  /** SIGTERM, then SIGKILL after graceSeconds. Stopping a stopped container is fine. */
  stopContainer(id: string, graceSeconds: number): Promise<void>;
  /** Removing a missing container is fine. */
  removeContainer(id: string): Promise<void>;
  /** Waits for the container to exit and returns its exit code. */
  waitContainer(id: string, signal?: AbortSignal): Promise<number>;
  inspectContainer(id: string): Promise<ContainerInfo | undefined>;
  listContainers(labels?: Readonly<Record<string, string>>): Promise<ContainerInfo[]>;
  /** Output lines as they come; with follow, until the container exits or signal aborts. */
  logs(id: string, options: LogOptions): AsyncIterable<LogLine>;
  /**
   * The terminal of a created `tty` container as one raw stream: what is written is its
   * stdin, what is read its output. Attach before start so no output is lost; ending the
   * stream closes stdin.
   */
  attachContainer(id: string): Promise<Duplex>;
  /**
   * Attaches to the output of a container without a terminal; resolves once attached.
   * Attach before start to get every line: they then come live from its start until it
   * exits, the caller stops iterating, or the signal aborts (which ends the iteration
   * quietly). Unlike a followed log, nothing is read from a file: lines come as they are
   * written, and the end comes with the exit. With `input` (a container created with
   * `stdin`), its stdin is attached too and the input written to it once attached.
   */
  attachOutput(id: string, signal?: AbortSignal, input?: string): Promise<AsyncIterable<LogLine>>;
  /** Resizes the terminal of a `tty` container. */
  resizeContainer(id: string, size: TerminalSize): Promise<void>;
  /** Extracts a tar stream into the container at path (works on created containers). */
  putArchive(id: string, path: string, tar: Readable): Promise<void>;
  /** A tar stream of path inside the container. */
  getArchive(id: string, path: string): Promise<Readable>;
  /** The raw inspect document (for audits: `slipway doctor`, tests). */
  rawInspect(id: string): Promise<unknown>;
  /** One sample of CPU and memory use; undefined when the container is not running. */
  stats(id: string): Promise<ContainerStats | undefined>;
  /**
   * Exits and OOM kills of containers with these labels (and the instance label) as they
   * happen, until signal aborts (quietly) or the engine closes the stream (it returns).
   */
  containerEvents(
    labels: Readonly<Record<string, string>>,
    signal: AbortSignal,
  ): AsyncIterable<ContainerEvent>;

  // Networks and volumes
  /** Creates (or returns the existing) isolated bridge network with that name. */
  ensureNetwork(name: string, labels: Readonly<Record<string, string>>): Promise<NetworkInfo>;
  removeNetwork(name: string): Promise<void>;
  listNetworks(labels?: Readonly<Record<string, string>>): Promise<NetworkInfo[]>;
  ensureVolume(name: string, labels: Readonly<Record<string, string>>): Promise<void>;
  removeVolume(name: string): Promise<void>;
  /**
   * Bytes the files in an owned volume take on disk (0 when missing). Builds poll it to
   * cap their disk use: local volumes on overlay storage have no quota of their own.
   */
  volumeUsage(name: string): Promise<number>;
  /** Volumes with all these labels (and the instance label); used by purge and audits. */
  listVolumes(labels?: Readonly<Record<string, string>>): Promise<VolumeInfo[]>;
}

export interface ImportImageOptions {
  /** Repository:tag the image gets, e.g. slipway/stack-run:24.1 */
  readonly reference: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly env?: readonly string[];
  readonly cmd?: readonly string[];
  readonly workingDir?: string;
  readonly user?: string;
}

export interface BuildImageOptions {
  /** Repository:tag the image gets. */
  readonly reference: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Memory and CPU caps of every RUN step (the engine's build sandbox). */
  readonly limits?: Pick<ContainerLimits, "memoryBytes" | "cpus">;
  /** Receives the build's output (steps and RUN output), line by line. */
  readonly log?: (line: string) => void;
  /**
   * false: no layer cache (no intermediate image per step, no content hashing for cache
   * lookups; one commit at the end), for builds whose steps are new anyway. Default true.
   */
  readonly layerCache?: boolean;
}

export interface CommitOptions {
  readonly reference: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly env?: readonly string[];
  readonly cmd?: readonly string[];
  readonly entrypoint?: readonly string[];
  readonly workingDir?: string;
  readonly user?: string;
}

export interface ImageInfo {
  /** Image id (sha256:...). */
  readonly id: string;
  /** Content digest (sha256:...) used to pin releases; equals id on engines without a registry digest. */
  readonly digest: string;
  readonly tags: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly sizeBytes: number;
  readonly createdAt: string;
  /** The user its containers run as (Config.User; "" means root), when the engine says. */
  readonly user?: string;
}

/** Resource limits; the driver enforces memory without swap. */
export interface ContainerLimits {
  readonly memoryBytes: number;
  /** Fractional CPUs, e.g. 0.5 */
  readonly cpus: number;
  readonly pids: number;
  /** Size of the /tmp tmpfs. */
  readonly tmpBytes: number;
}

export interface VolumeMount {
  readonly volume: string;
  readonly target: string;
  readonly readOnly: boolean;
}

/**
 * What Slipway asks for. There is deliberately no way to ask for privileges, host paths,
 * host namespaces or capabilities: the driver applies the baseline of docs/security.md.
 */
export interface ContainerSpec {
  readonly name: string;
  readonly image: string;
  readonly cmd?: readonly string[];
  readonly entrypoint?: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly network: string;
  readonly networkAliases?: readonly string[];
  readonly limits: ContainerLimits;
  readonly workingDir?: string;
  readonly user?: string;
  /** Named volumes (build workspace and cache only; app containers get none). */
  readonly volumes?: readonly VolumeMount[];
  /** Allow exec on /tmp (build containers run toolchains from there). Default false. */
  readonly execTmp?: boolean;
  /**
   * A terminal and an open stdin for an interactive one-off (`slipway run` from a
   * terminal); attach before start. Default false.
   */
  readonly tty?: boolean;
  /**
   * An open stdin without a terminal, written through attachOutput's `input` (a build
   * container, started ahead of its build, waits on it for the build's go line).
   * Default false.
   */
  readonly stdin?: boolean;
}

/** A terminal's size in character cells. */
export interface TerminalSize {
  readonly rows: number;
  readonly cols: number;
}

export type ContainerState = "created" | "running" | "exited" | "dead" | "paused" | "unknown";

export interface ContainerInfo {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  readonly imageId: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly state: ContainerState;
  readonly exitCode: number | null;
  readonly oomKilled: boolean;
  readonly startedAt: string | null;
  /** IPv4 address on each attached network, by network name. */
  readonly addresses: Readonly<Record<string, string>>;
}

export interface NetworkInfo {
  readonly name: string;
  readonly id: string;
  readonly subnet: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface VolumeInfo {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface LogOptions {
  readonly follow: boolean;
  readonly tail?: number;
  readonly signal?: AbortSignal;
  /** Give each line the time it was written (LogLine.time). */
  readonly timestamps?: boolean;
}

export interface LogLine {
  readonly stream: "stdout" | "stderr";
  readonly line: string;
  /** When the container wrote it (ISO 8601), when asked for with `timestamps`. */
  readonly time?: string;
}

/** A sample of a running container's resource use. */
export interface ContainerStats {
  /** Percent of one CPU (200 = two full CPUs), averaged since the previous sample. */
  readonly cpuPercent: number;
  readonly memoryBytes: number;
  readonly memoryLimitBytes: number;
}

/** A container lifecycle event the controllers react to. */
export interface ContainerEvent {
  readonly action: "die" | "oom";
  readonly containerId: string;
  readonly labels: Readonly<Record<string, string>>;
  /** For "die": the exit code when the engine said. */
  readonly exitCode: number | null;
}
