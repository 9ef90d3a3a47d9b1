import { NotFoundError } from "../domain/errors.ts";
import type { ContainerInfo, ContainerSpec, LogLine } from "./engine.ts";
import {
  exists,
  readFiles,
  readText,
  relativePath,
  writeFiles,
  type FileTree,
} from "./fake-files.ts";
import type { TarFile } from "./tar-files.ts";

/** What a fake container does when started. Output appears at once. */
export interface FakeRun {
  readonly exitCode?: number;
  readonly stdout?: readonly string[];
  readonly stderr?: readonly string[];
  /** Keep running until stopped (a server); otherwise exit at once. */
  readonly untilStopped?: boolean;
  /** The process ignores SIGTERM: a stop ends it with SIGKILL (137) after the grace. */
  readonly ignoresSigterm?: boolean;
  /** Files the process writes, by absolute path (into volumes where mounted). */
  readonly writes?: Readonly<Record<string, string>>;
}

/**
 * Decides what a started container does; `read` sees its files (image, layer, volumes).
 * A container created with `stdin` runs its program only once input is written to it
 * (attachOutput's `input`), which the program then gets.
 */
export type FakeProgram = (
  spec: ContainerSpec,
  read: (path: string) => string | undefined,
  input: string,
) => FakeRun;

/** Finds the files of a named volume. */
export type VolumeFiles = (name: string) => FileTree | undefined;

/**
 * A container of the fake engine: what it was asked to be, what it is now, its own
 * files (a copy of its image's), its output, and whoever waits for it to change.
 */
export class FakeContainer {
  info: ContainerInfo;
  readonly spec: ContainerSpec;
  readonly files: FileTree;
  readonly output: LogLine[] = [];
  /** Initialized ahead of its start (Engine.initContainer). */
  initialized = false;
  /** Its CPU cap now: the spec's until Engine.setCpuLimit changes it. */
  cpuLimit: number;
  readonly #watchers = new Set<() => void>();

  constructor(
    identity: { id: string; imageId: string; labels: ContainerInfo["labels"]; address?: string },
    spec: ContainerSpec,
    files: FileTree,
  ) {
    this.info = {
      id: identity.id,
      name: spec.name,
      image: spec.image,
      imageId: identity.imageId,
      labels: identity.labels,
      state: "created",
      exitCode: null,
      oomKilled: false,
      startedAt: null,
      addresses: identity.address === undefined ? {} : { [spec.network]: identity.address },
    };
    this.spec = spec;
    this.files = files;
    this.cpuLimit = spec.limits.cpus;
  }

  /** Starts it: output appears at once; it keeps running (no exit code) or exits. */
  start(stdout: readonly string[], stderr: readonly string[], exitCode: number | undefined): void {
    const startedAt = new Date().toISOString();
    this.info = { ...this.info, state: "running", exitCode: null, startedAt };
    this.run(stdout, stderr, exitCode);
  }

  /** The running process writes this output, then keeps running (no exit code) or exits. */
  run(stdout: readonly string[], stderr: readonly string[], exitCode: number | undefined): void {
    this.output.push(
      ...stdout.map((line): LogLine => ({ stream: "stdout", line })),
      ...stderr.map((line): LogLine => ({ stream: "stderr", line })),
    );
    if (exitCode === undefined) this.#notify();
    else this.finish(exitCode, false);
  }

  /** Ends it as its process would. */
  finish(exitCode: number, oomKilled: boolean): void {
    this.info = { ...this.info, state: "exited", exitCode, oomKilled };
    this.#notify();
  }

  /** Resolves at the next change; rejects with the signal's reason when it aborts. */
  changed(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.#watchers.delete(done);
        reject(signal?.reason instanceof Error ? signal.reason : new Error("aborted"));
      };
      const done = (): void => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      if (signal?.aborted === true) {
        onAbort();
        return;
      }
      this.#watchers.add(done);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Extracts archive entries at path (which must exist), into volumes where mounted. */
  put(path: string, files: readonly TarFile[], volumes: VolumeFiles): void {
    const { tree, key } = this.#resolve(path, volumes);
    if (!exists(tree, key)) throw new NotFoundError("path", path);
    for (const file of files) {
      const target = this.#resolve(`${path}/${file.path}`, volumes);
      writeFiles(target.tree, "", [{ ...file, path: target.key }]);
    }
  }

  /** Writes one file, as the container's process would. */
  write(path: string, content: string, volumes: VolumeFiles): void {
    const { tree, key } = this.#resolve(path, volumes);
    writeFiles(tree, "", [{ path: key, type: "file", data: Buffer.from(content), mode: 0o644 }]);
  }

  /** The archive entries of path, Docker style. */
  get(path: string, volumes: VolumeFiles): TarFile[] {
    const { tree, key } = this.#resolve(path, volumes);
    const files = readFiles(tree, key);
    if (files === undefined) throw new NotFoundError("path", path);
    return files;
  }

  /** A file's text, as the container's process would read it. */
  read(path: string, volumes: VolumeFiles): string | undefined {
    const { tree, key } = this.#resolve(path, volumes);
    return readText(tree, key);
  }

  /** Which tree a path lives in: a mounted volume's, or the container's own layer. */
  #resolve(path: string, volumes: VolumeFiles): { tree: FileTree; key: string } {
    const key = relativePath(path);
    for (const mount of this.spec.volumes ?? []) {
      const target = relativePath(mount.target);
      const tree = volumes(mount.volume);
      if (tree !== undefined && (key === target || key.startsWith(`${target}/`))) {
        return { tree, key: key.slice(target.length).replace(/^\//, "") };
      }
    }
    return { tree: this.files, key };
  }

  #notify(): void {
    const watchers = [...this.#watchers];
    this.#watchers.clear();
    for (const watcher of watchers) watcher();
  }
}
