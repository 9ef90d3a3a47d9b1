import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { ContainerLimits, ImageInfo, ImportImageOptions } from "../engine.ts";
import { packTar, tarFile } from "../tar-files.ts";
import { NotFoundError } from "../../domain/errors.ts";
import type { EngineApi } from "./api-client.ts";
import { engineSaid } from "./api-errors.ts";
import type { ContainerCreateBody } from "./container-body.ts";
import { deleteContainer, inspectRaw } from "./container-removal.ts";
import { asArray, asObject, stringField } from "./json-reader.ts";
import { labelFilters } from "./ownership.ts";

/**
 * Network sandboxes started ahead: what Kubernetes calls a pod sandbox, held by a pause
 * process. Setting up a container's network (netavark: a veth, the bridge, a dozen
 * iptables runs) and its user namespace takes 30-40 ms of the 85-95 ms Podman needs to
 * start one; a container that joins a started sandbox skips both. So after a rollout the
 * driver starts one sandbox per (network, aliases) on request (Engine.prepareNetwork),
 * and the next container created there joins it (container-body.ts joinSandbox).
 *
 * A sandbox serves exactly one container, is removed with it, and runs nothing but
 * `catatonit -P` with the whole baseline (read-only, no capabilities, seccomp, its own
 * user namespace, tiny limits). It carries the instance label, so purges remove it; one
 * left free by an earlier daemon is removed the next time its network is prepared:
 * Podman refuses to remove a sandbox a container joined, which tells them apart.
 */
export const SANDBOX_LABEL = "io.slipway.sandbox";
/** The network aliases a sandbox carries (its joiner answers to them), comma-separated. */
export const SANDBOX_ALIASES_LABEL = "io.slipway.sandbox-aliases";
/** The pause image: catatonit alone, made from the host's binary on first use. */
export const SANDBOX_IMAGE = "slipway/sandbox:pause";
const PAUSE_PATH = "/catatonit";
const SANDBOX_LIMITS: ContainerLimits = {
  memoryBytes: 8 * 1024 * 1024,
  cpus: 0.05,
  pids: 8,
  tmpBytes: 1024 * 1024,
};

export interface SandboxSpec {
  readonly name: string;
  readonly image: string;
  readonly cmd: readonly string[];
  readonly network: string;
  readonly networkAliases: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly limits: ContainerLimits;
}

export interface NetworkSandboxesDeps {
  readonly api: EngineApi;
  readonly instance: string;
  /** The create body of a sandbox: the driver's baseline for this spec. */
  readonly body: (spec: SandboxSpec) => ContainerCreateBody;
  readonly inspectImage: (ref: string) => Promise<ImageInfo | undefined>;
  readonly importImage: (
    rootfs: ReturnType<typeof packTar>,
    options: ImportImageOptions,
  ) => Promise<ImageInfo>;
  /** The static pause binary copied into the image (Podman's own init). */
  readonly pauseBinary: string;
}

export class NetworkSandboxes {
  readonly #deps: NetworkSandboxesDeps;
  /** A started, free sandbox per (network, aliases). */
  readonly #spares = new Map<string, string>();
  readonly #preparing = new Map<string, Promise<void>>();
  /** Sandboxes a container joined (known from take() or from a refused removal). */
  readonly #joined = new Set<string>();
  #image: Promise<string> | undefined;
  /** No pause binary on this host: containers set up their own networks. */
  #off = false;

  constructor(deps: NetworkSandboxesDeps) {
    this.#deps = deps;
  }

  /** A started free sandbox for the network and aliases, now the caller's; or undefined. */
  take(network: string, aliases: readonly string[]): string | undefined {
    const key = keyOf(network, aliases);
    const id = this.#spares.get(key);
    if (id === undefined) return undefined;
    this.#spares.delete(key);
    this.#joined.add(id);
    return id;
  }

  /** True when a started free sandbox waits for the network and aliases. */
  has(network: string, aliases: readonly string[]): boolean {
    return this.#spares.has(keyOf(network, aliases));
  }

  /** The container that took it was not made: the sandbox goes (it may be what failed). */
  async discard(id: string): Promise<void> {
    this.#joined.delete(id);
    await this.#remove(id).catch(() => undefined);
  }

  /** Removes a sandbox whose container is gone (the driver checked it is one of ours). */
  async release(id: string): Promise<void> {
    this.#joined.delete(id);
    await this.#remove(id);
  }

  /**
   * Makes sure a started free sandbox waits for the next container on the network with
   * these aliases; sandboxes of the network left free by an earlier daemon are removed.
   */
  prepare(network: string, aliases: readonly string[]): Promise<void> {
    const key = keyOf(network, aliases);
    if (this.#off || this.#spares.has(key)) return Promise.resolve();
    const running = this.#preparing.get(key);
    if (running !== undefined) return running;
    const work = this.#prepare(network, aliases, key).finally(() => this.#preparing.delete(key));
    this.#preparing.set(key, work);
    return work;
  }

  async #prepare(network: string, aliases: readonly string[], key: string): Promise<void> {
    await this.#removeStale(network);
    const { api, body } = this.#deps;
    const image = await this.#pauseImage();
    const answer = await api
      .json("POST", "/containers/create", {
        query: { name: `${network}-sandbox-${randomBytes(4).toString("hex")}` },
        json: withoutShm(
          body({
            name: `${network}-sandbox`,
            image,
            cmd: [PAUSE_PATH, "-P"],
            network,
            networkAliases: aliases,
            labels: { [SANDBOX_LABEL]: network, [SANDBOX_ALIASES_LABEL]: aliases.join(",") },
            limits: SANDBOX_LIMITS,
          }),
        ),
        subject: { kind: "image", name: image },
      })
      .catch((error: unknown) => {
        if (error instanceof NotFoundError) this.#image = undefined; // purged meanwhile
        throw error;
      });
    const id = stringField(asObject(answer, "create"), "Id");
    try {
      await api.json("POST", `/containers/${id}/start`);
    } catch (error) {
      await this.#remove(id).catch(() => undefined);
      throw error;
    }
    this.#spares.set(key, id);
  }

  /**
   * Removes the network's free sandboxes, spares included (the network is about to go);
   * joined ones stay, and keep the network from going while their container exists.
   */
  async removeFree(network: string): Promise<void> {
    for (const key of [...this.#spares.keys()]) {
      if (key.startsWith(`${network}\n`)) this.#spares.delete(key);
    }
    await this.#removeStale(network);
  }

  /** Sandboxes of the network that are neither spares nor joined: an earlier daemon's. */
  async #removeStale(network: string): Promise<void> {
    const { api, instance } = this.#deps;
    const listed = asArray(
      await api.json("GET", "/containers/json", {
        query: { all: true, filters: labelFilters(instance, { [SANDBOX_LABEL]: network }) },
      }),
      "containers",
    );
    const spares = new Set(this.#spares.values());
    for (const summary of listed) {
      const id = stringField(asObject(summary, "container"), "Id");
      if (spares.has(id) || this.#joined.has(id)) continue;
      try {
        await this.#remove(id);
      } catch (error) {
        // A container joined it: Podman keeps a sandbox while anything uses it.
        if (!engineSaid(error, /dependent containers/i)) throw error;
        this.#joined.add(id);
      }
    }
  }

  /** Forced, retried while Podman is still tearing down what joined it (deleteContainer). */
  async #remove(id: string): Promise<void> {
    const { api } = this.#deps;
    await deleteContainer(api, id, (other) => inspectRaw(api, other), {
      // The refusal that tells a joined sandbox: no retries for it.
      retry: (error) => !engineSaid(error, /dependent containers/i),
    });
  }

  /** slipway/sandbox:pause, imported from the host's catatonit when missing. */
  #pauseImage(): Promise<string> {
    this.#image ??= this.#ensureImage().catch((error: unknown) => {
      this.#image = undefined;
      throw error;
    });
    return this.#image;
  }

  async #ensureImage(): Promise<string> {
    const { inspectImage, importImage, pauseBinary } = this.#deps;
    if ((await inspectImage(SANDBOX_IMAGE)) === undefined) {
      let binary: Buffer;
      try {
        binary = await readFile(pauseBinary);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") this.#off = true;
        throw error;
      }
      await importImage(packTar([tarFile(PAUSE_PATH.slice(1), binary, 0o755)]), {
        reference: SANDBOX_IMAGE,
        labels: { [SANDBOX_LABEL]: "image" },
      });
    }
    return SANDBOX_IMAGE;
  }

  /** A sandbox removed as a container (a purge): it is no spare any more. */
  forget(id: string): void {
    this.#joined.delete(id);
    for (const [key, spare] of this.#spares) if (spare === id) this.#spares.delete(key);
  }
}

/**
 * No /dev/shm: a pause process needs none, and a mount fewer is one that cannot be left
 * busy (Podman tears a container's shm down when it removes it).
 */
function withoutShm(body: ContainerCreateBody): ContainerCreateBody {
  return { ...body, HostConfig: { ...body.HostConfig, IpcMode: "none" } };
}

function keyOf(network: string, aliases: readonly string[]): string {
  return `${network}\n${aliases.join(",")}`;
}
