import type { Duplex, Readable } from "node:stream";
import { ConflictError, DriverError, NotFoundError, ValidationError } from "../../domain/errors.ts";
import type {
  ContainerEvent,
  ContainerStats,
  CommitOptions,
  ContainerInfo,
  ContainerSpec,
  Engine,
  ImageInfo,
  ImportImageOptions,
  BuildImageOptions,
  LogLine,
  LogOptions,
  NetworkInfo,
  TerminalSize,
  VolumeInfo,
} from "../engine.ts";
import { DockerApiClient, type EngineApi } from "./api-client.ts";
import { engineSaid } from "./api-errors.ts";
import { containerCreateBody, joinSandbox } from "./container-body.ts";
import { deleteContainer, inspectRaw, joinersOf } from "./container-removal.ts";
import { ContainerListing } from "./container-listing.ts";
import { joinedContainerOf, toContainerInfo, toNetworkInfo } from "./decode.ts";
import { DockerImages } from "./docker-images.ts";
import { DockerVolumes } from "./docker-volumes.ts";
import { IptablesBridgeFirewall, type BridgeFirewall } from "./bridge-firewall.ts";
import { ensureIsolatedNetwork, inspectNetwork, type NetworkPlanner } from "./docker-networks.ts";
import { hostSubnets } from "./host-networks.ts";
import { allOrFirstError } from "./all-or-first-error.ts";
import { HostGuard } from "./host-guard.ts";
import { familyRunner } from "./iptables.ts";
import { spawnLauncher } from "../../process/launcher.ts";
import { OwnedIds } from "./owned-ids.ts";
import type { DockerEngineOptions } from "./docker-engine-options.ts";
import { asArray, asObject, stringField } from "./json-reader.ts";
import { absolute, checkName } from "./argument-checks.ts";
import { LibpodContainerCalls } from "./libpod-container-calls.ts";
import { NetworkSandboxes, SANDBOX_LABEL } from "./network-sandboxes.ts";
import { SameTurnRequests } from "./same-turn.ts";
import {
  attachedLines,
  containerEvents,
  containerLogs,
  containerStats,
  rawInspectDocument,
  waitForExit,
} from "./docker-runtime.ts";
import {
  assertOwned,
  hasLabels,
  isOwned,
  labelFilters,
  withInstanceLabel,
  type Labels,
} from "./ownership.ts";
import { gatewayOf, parseCidr } from "./subnets.ts";

export type { DockerEngineOptions } from "./docker-engine-options.ts";

/**
 * The Engine port over the Docker Engine API, as served by Podman's compat API (and,
 * minus Podman's user-namespace and volume options, by Docker). Every object it creates
 * carries the instance label; lists filter on it; every mutation first inspects the
 * object, checks the label (ForbiddenError otherwise) and then acts on the id it saw.
 */
export class DockerEngine implements Engine {
  readonly #api: EngineApi;
  readonly #instance: string;
  readonly #images: DockerImages;
  readonly #volumes: DockerVolumes;
  readonly #planner: NetworkPlanner;
  readonly #firewall: BridgeFirewall | null;
  readonly #guard: HostGuard | null;
  readonly #seccomp: string | undefined;
  /** Containers found to be ours, by full id: calls by id skip the inspect (owned-ids.ts). */
  readonly #ownedIds = new OwnedIds();
  readonly #inspects = new SameTurnRequests<unknown>();
  readonly #sandboxes: NetworkSandboxes | null;
  readonly #listing: ContainerListing;
  /** Networks found to be ours, by name (#ownedNetwork). */
  readonly #ownedNetworks = new Set<string>();
  readonly #libpod: LibpodContainerCalls;

  constructor(options: DockerEngineOptions) {
    this.#api = options.api ?? new DockerApiClient({ socketPath: options.socketPath });
    this.#instance = options.instance;
    this.#images = new DockerImages(this.#api, options.instance);
    this.#volumes = new DockerVolumes(this.#api, options.instance);
    this.#libpod = new LibpodContainerCalls(
      this.#api,
      async (id) => (await this.#inspectRaw(id)) !== undefined,
    );
    this.#listing = new ContainerListing(this.#api, (id) => this.inspectContainer(id));
    const iptables = familyRunner(options.launcher ?? spawnLauncher);
    this.#firewall =
      options.firewall === undefined
        ? new IptablesBridgeFirewall((args) => iptables("ipv4", args))
        : options.firewall;
    this.#guard =
      options.hostGuard !== undefined
        ? options.hostGuard
        : options.firewall === null
          ? null
          : new HostGuard(options.routerPorts ?? [], iptables);
    this.#seccomp = options.seccomp;
    this.#sandboxes =
      options.pauseBinary === null
        ? null
        : new NetworkSandboxes({
            api: this.#api,
            instance: options.instance,
            body: (spec) => this.#body({ ...spec, env: {} }),
            inspectImage: (ref) => this.#images.inspect(ref),
            importImage: (rootfs, importOptions) => this.#images.import(rootfs, importOptions),
            pauseBinary: options.pauseBinary ?? "/usr/bin/catatonit",
          });
    this.#planner = {
      instance: options.instance,
      pool: parseCidr(options.networkPool),
      hostSubnets: options.hostSubnets ?? (() => hostSubnets()),
    };
    if (this.#planner.pool.prefix > 24) {
      throw new ValidationError(`network pool ${options.networkPool} is smaller than a /24`);
    }
  }

  async ping(signal?: AbortSignal): Promise<void> {
    await this.#api.text("GET", "/_ping", { timeoutMs: 10_000, ...(signal ? { signal } : {}) });
  }

  // Images

  importImage(rootfs: Readable, options: ImportImageOptions): Promise<ImageInfo> {
    return this.#images.import(rootfs, options);
  }

  buildImage(context: Readable, options: BuildImageOptions): Promise<ImageInfo> {
    return this.#images.build(context, options);
  }

  appendLayer(base: string, files: Readable, options: CommitOptions): Promise<ImageInfo> {
    return this.#images.appendLayer(base, files, options);
  }

  inspectImage(ref: string): Promise<ImageInfo | undefined> {
    return this.#images.inspect(ref);
  }

  listImages(labels?: Labels): Promise<ImageInfo[]> {
    return this.#images.list(labels);
  }

  removeImage(ref: string): Promise<void> {
    return this.#images.remove(ref);
  }

  async commitContainer(containerId: string, options: CommitOptions): Promise<ImageInfo> {
    const container = await this.#ownedContainer(containerId);
    return this.#images.commit(container.id, options);
  }

  // Containers

  async createContainer(spec: ContainerSpec): Promise<string> {
    const body = this.#body(spec);
    // Joining a network or mounting a volume changes it: both must be ours.
    await this.#ownedNetwork(spec.network);
    for (const mount of spec.volumes ?? []) {
      const volume = await this.#volumes.inspect(mount.volume);
      if (volume === undefined) throw new NotFoundError("volume", mount.volume);
      assertOwned(this.#instance, "volume", mount.volume, volume.labels);
    }
    const plain = spec.volumes === undefined || spec.volumes.length === 0;
    const sandbox = plain
      ? this.#sandboxes?.take(spec.network, spec.networkAliases ?? [])
      : undefined;
    if (sandbox !== undefined) {
      try {
        return await this.#create(spec, joinSandbox(body, sandbox));
      } catch (error) {
        await this.#sandboxes?.discard(sandbox);
        if (error instanceof ConflictError) throw error;
        // The sandbox may be what failed (gone, stopped): the container gets its own.
      }
    }
    return this.#create(spec, body);
  }

  /**
   * Starts, ahead of time, a network sandbox that the next container created on this
   * network with these aliases joins (network-sandboxes.ts): its start then skips the
   * network and user namespace setup. A no-op when one waits already.
   */
  async prepareNetwork(network: string, aliases: readonly string[]): Promise<void> {
    if (this.#sandboxes === null || this.#sandboxes.has(network, aliases)) return;
    await this.#ownedNetwork(network);
    await this.#sandboxes.prepare(network, aliases);
  }

  #body(spec: ContainerSpec): ReturnType<typeof containerCreateBody> {
    return containerCreateBody(
      spec,
      withInstanceLabel(this.#instance, spec.labels),
      ...(this.#seccomp === undefined ? [] : [this.#seccomp]),
    );
  }

  /**
   * Checks that a network is ours, unless this driver found it so before: ensureNetwork
   * (which every rollout step runs, looking again each time) or an earlier check.
   * Names carry the instance, so no other installation makes one of the same name.
   */
  async #ownedNetwork(name: string): Promise<void> {
    if (this.#ownedNetworks.has(name)) return;
    const network = await inspectNetwork(this.#api, name);
    if (network === undefined) throw new NotFoundError("network", name);
    assertOwned(this.#instance, "network", name, network.labels);
    this.#ownedNetworks.add(name);
  }

  async #create(
    spec: ContainerSpec,
    body: ReturnType<typeof containerCreateBody>,
  ): Promise<string> {
    try {
      const answer = await this.#api.json("POST", "/containers/create", {
        query: { name: spec.name },
        json: body,
        subject: { kind: "image", name: spec.image },
      });
      const id = stringField(asObject(answer, "create"), "Id");
      this.#ownedIds.add(id); // made just now, with our labels
      return id;
    } catch (error) {
      if (engineSaid(error, /already in use|already exists/i)) {
        throw new ConflictError(`container name "${spec.name}" is taken`, { cause: error });
      }
      throw error;
    }
  }

  /** Podman's init (LibpodContainerCalls); a no-op on a Docker daemon. */
  async initContainer(id: string): Promise<void> {
    await this.#libpod.init(await this.#ownedId(id));
  }

  /** Podman's update of the CPU quota (LibpodContainerCalls); a no-op on a Docker daemon. */
  async setCpuLimit(id: string, cpus: number): Promise<void> {
    await this.#libpod.setCpuLimit(await this.#ownedId(id), cpus);
  }

  async startContainer(id: string): Promise<void> {
    await this.#api.json("POST", `/containers/${await this.#ownedId(id)}/start`);
  }

  async stopContainer(id: string, graceSeconds: number): Promise<void> {
    await this.#api.json("POST", `/containers/${await this.#ownedId(id)}/stop`, {
      query: { t: Math.max(0, Math.ceil(graceSeconds)) },
      timeoutMs: (graceSeconds + 60) * 1000,
    });
  }

  /** Removes the container, and the network sandbox it joined (network-sandboxes.ts). */
  async removeContainer(id: string): Promise<void> {
    const document = await this.#inspectRaw(id);
    if (document === undefined) return;
    const container = toContainerInfo(document);
    assertOwned(this.#instance, "container", id, container.labels);
    const sandbox = joinedContainerOf(document);
    if (container.labels[SANDBOX_LABEL] !== undefined) {
      this.#sandboxes?.forget(container.id);
      // A sandbox outlives nothing that joined it: those go first (purges).
      const inspect = (other: string): Promise<unknown> => this.#inspectRaw(other);
      for (const member of await joinersOf(this.#api, this.#instance, container.id, inspect)) {
        await this.removeContainer(member);
      }
    }
    if (!(await this.#remove(container.id)) || sandbox === undefined) return;
    const joined = await this.#inspectAnyContainer(sandbox);
    if (joined === undefined || !isOwned(this.#instance, joined.labels)) return;
    if (joined.labels[SANDBOX_LABEL] === undefined) return;
    await (this.#sandboxes?.release(joined.id) ?? this.#remove(joined.id));
  }

  /** Deletes a container of ours; false when it was gone already. */
  async #remove(id: string): Promise<boolean> {
    const removed = await deleteContainer(this.#api, id, (other) => this.#inspectRaw(other));
    this.#ownedIds.delete(id);
    this.#listing.forget(id);
    return removed;
  }

  async attachContainer(id: string): Promise<Duplex> {
    return this.#api.upgrade("POST", `/containers/${await this.#ownedId(id)}/attach`, {
      query: { stream: true, stdin: true, stdout: true, stderr: true },
    });
  }

  async attachOutput(
    id: string,
    signal?: AbortSignal,
    input?: string,
  ): Promise<AsyncIterable<LogLine>> {
    const stream = await this.#api.upgrade(
      "POST",
      `/containers/${await this.#ownedId(id)}/attach`,
      {
        query: { stream: true, stdin: input !== undefined, stdout: true, stderr: true },
        timeoutMs: null,
        ...(signal ? { signal } : {}),
      },
    );
    // Stdin stays open (StdinOnce is false): the container decides when it has read enough.
    if (input !== undefined) stream.write(input);
    return attachedLines(stream, signal);
  }

  async resizeContainer(id: string, size: TerminalSize): Promise<void> {
    await this.#api.json("POST", `/containers/${await this.#ownedId(id)}/resize`, {
      query: { h: size.rows, w: size.cols },
    });
  }

  async waitContainer(id: string, signal?: AbortSignal): Promise<number> {
    const container = await this.#ownedContainer(id);
    // "not-running" is also true of a container never started: there is no exit to come.
    if (container.state === "created") throw notStarted(id);
    const code = await waitForExit(this.#api, container.id, signal);
    if (code >= 0) return code;
    // Podman answers -1 when the container was reset to "created" meanwhile.
    const exitCode = (await this.#inspectAnyContainer(container.id))?.exitCode;
    if (exitCode !== null && exitCode !== undefined) return exitCode;
    throw notStarted(id);
  }

  async inspectContainer(id: string): Promise<ContainerInfo | undefined> {
    const document = await this.#inspectRaw(id);
    if (document === undefined) return undefined;
    const info = toContainerInfo(document);
    if (!isOwned(this.#instance, info.labels)) return undefined;
    this.#listing.remember(document, info);
    return info;
  }

  async listContainers(labels: Labels = {}): Promise<ContainerInfo[]> {
    // Inspected where they changed (container-listing.ts); ones gone meanwhile are left out.
    const infos = await this.#listing.list(labelFilters(this.#instance, labels));
    return infos.filter((info) => hasLabels(info.labels, labels));
  }

  /**
   * Lines as the engine delivers them. With follow the iteration ends when the container
   * exits or the signal aborts — an abort ends it quietly, it is how callers stop.
   */
  async *logs(id: string, options: LogOptions): AsyncGenerator<LogLine> {
    yield* containerLogs(this.#api, (await this.#ownedContainer(id)).id, options);
  }

  /**
   * PUT /containers/{id}/archive. On Podman, a path inside a volume of a container that
   * never ran lands in the container's own layer below the mount point; Podman copies it
   * into the volume at first start only when the volume is empty. Upload into fresh volumes.
   */
  async putArchive(id: string, path: string, tar: Readable): Promise<void> {
    await this.#api.json("PUT", `/containers/${await this.#ownedId(id)}/archive`, {
      query: { path: absolute(path) },
      body: tar,
      timeoutMs: 15 * 60_000,
    });
  }

  /**
   * GET /containers/{id}/archive. On Podman, files in a volume read back only from a
   * container that has run with it (before, the volume is not mounted).
   */
  async getArchive(id: string, path: string): Promise<Readable> {
    return this.#api.stream("GET", `/containers/${await this.#ownedId(id)}/archive`, {
      query: { path: absolute(path) },
      timeoutMs: null,
    });
  }

  /**
   * The compat inspect document, with `HostConfig.IDMappings`, `EffectiveCaps` and
   * `BoundingCaps` from Podman's own API (docker-runtime.ts rawInspectDocument).
   */
  async rawInspect(id: string): Promise<unknown> {
    // Known to be ours: no ownership inspect, and asked at once (shared with a readiness check).
    const owned = this.#ownedIds.has(id) ? id : await this.#ownedId(id);
    return rawInspectDocument(this.#api, owned, (ours) => this.#inspectRaw(ours));
  }

  async stats(id: string): Promise<ContainerStats | undefined> {
    const container = await this.#ownedContainer(id);
    if (container.state !== "running") return undefined;
    return containerStats(this.#api, container.id);
  }

  containerEvents(labels: Labels, signal: AbortSignal): AsyncIterable<ContainerEvent> {
    return containerEvents(this.#api, this.#instance, labels, signal);
  }

  // Networks and volumes

  async ensureNetwork(name: string, labels: Labels): Promise<NetworkInfo> {
    const { bridge, ...info } = await ensureIsolatedNetwork(
      this.#api,
      this.#planner,
      checkName("network", name),
      labels,
    );
    this.#ownedNetworks.add(name);
    if (this.#firewall !== null) {
      if (bridge === undefined) {
        throw new DriverError("engine", `network ${name} has no bridge interface`);
      }
      // Separate chains, checked at once (each is an iptables run, at every rollout step).
      await allOrFirstError([
        this.#firewall.isolate({ instance: this.#instance, network: name, bridge }),
        this.#guard?.guard({
          instance: this.#instance,
          network: name,
          bridge,
          gateway: gatewayOf(parseCidr(info.subnet)),
        }) ?? Promise.resolve(),
      ]);
    }
    return info;
  }

  async removeNetwork(name: string): Promise<void> {
    this.#ownedNetworks.delete(name);
    const network = await inspectNetwork(this.#api, name);
    if (network === undefined) return;
    assertOwned(this.#instance, "network", name, network.labels);
    const bridge = this.#firewall === null ? undefined : network.bridge;
    await this.#sandboxes?.removeFree(name);
    try {
      // By name: Podman 4.3 looks for containers using the network by name only, so a
      // removal by id would succeed under running containers.
      await this.#api.json("DELETE", `/networks/${encodeURIComponent(name)}`, {
        subject: { kind: "network", name },
      });
    } catch (error) {
      if (error instanceof NotFoundError) return;
      if (engineSaid(error, /in use|being used|associated containers|active endpoints/i)) {
        throw new ConflictError(`network "${name}" still has containers`, { cause: error });
      }
      throw error;
    }
    await this.#firewall?.release({ instance: this.#instance, network: name, bridge });
    await this.#guard?.unguard(this.#instance, name);
  }

  async listNetworks(labels: Labels = {}): Promise<NetworkInfo[]> {
    const networks = asArray(
      await this.#api.json("GET", "/networks", {
        query: { filters: labelFilters(this.#instance, labels) },
      }),
      "networks",
    );
    return networks
      .map(toNetworkInfo)
      .filter((info) => isOwned(this.#instance, info.labels) && hasLabels(info.labels, labels));
  }

  ensureVolume(name: string, labels: Labels): Promise<void> {
    return this.#volumes.ensure(checkName("volume", name), labels);
  }

  removeVolume(name: string): Promise<void> {
    return this.#volumes.remove(name);
  }

  listVolumes(labels?: Labels): Promise<VolumeInfo[]> {
    return this.#volumes.list(labels);
  }

  volumeUsage(name: string): Promise<number> {
    return this.#volumes.usage(name);
  }

  /** Any container by id or name, ours or not; undefined when missing. */
  async #inspectAnyContainer(id: string): Promise<ContainerInfo | undefined> {
    const document = await this.#inspectRaw(id);
    return document === undefined ? undefined : toContainerInfo(document);
  }

  /** Any container's inspect document, or undefined; callers asking at once share it. */
  #inspectRaw(id: string): Promise<unknown> {
    return this.#inspects.ask(id, () => inspectRaw(this.#api, id));
  }

  /** The container, which must exist (NotFoundError) and be ours (ForbiddenError). */
  async #ownedContainer(id: string): Promise<ContainerInfo> {
    const container = await this.#inspectAnyContainer(id);
    if (container === undefined) throw new NotFoundError("container", id);
    assertOwned(this.#instance, "container", id, container.labels);
    this.#ownedIds.add(container.id);
    return container;
  }

  /** The full id of a container of ours (#ownedIds, else an inspect as #ownedContainer). */
  async #ownedId(id: string): Promise<string> {
    return this.#ownedIds.has(id) ? id : (await this.#ownedContainer(id)).id;
  }
}

function notStarted(id: string): ConflictError {
  return new ConflictError(`container ${id} has not been started; there is no exit to wait for`);
}
