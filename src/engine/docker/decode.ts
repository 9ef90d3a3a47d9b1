import type {
  ContainerInfo,
  ContainerState,
  ImageInfo,
  NetworkInfo,
  VolumeInfo,
} from "../engine.ts";
import { shortTag } from "./image-reference.ts";
import {
  asArray,
  asObject,
  booleanField,
  numberField,
  objectField,
  optionalString,
  stringField,
  stringList,
  stringMap,
} from "./json-reader.ts";

/**
 * Engine inspect documents → the port's types. Pure; the field names are the Docker
 * Engine API's, which Podman's compat API serves too.
 */

/** GET /containers/{id}/json → ContainerInfo. */
export function toContainerInfo(document: unknown): ContainerInfo {
  const doc = asObject(document, "container");
  const config = objectField(doc, "Config");
  const state = objectField(doc, "State");
  const status = stateOf(optionalString(state, "Status"));
  const finished = status === "exited" || status === "dead";
  const addresses: Record<string, string> = {};
  for (const [name, value] of Object.entries(
    objectField(objectField(doc, "NetworkSettings"), "Networks"),
  )) {
    const ip = optionalString(asObject(value, `network ${name}`), "IPAddress");
    if (ip !== undefined) addresses[name] = ip;
  }
  return {
    id: stringField(doc, "Id"),
    name: stringField(doc, "Name").replace(/^\//, ""),
    image: optionalString(config, "Image") ?? "",
    imageId: optionalString(doc, "Image") ?? "",
    labels: stringMap(config, "Labels"),
    state: status,
    exitCode: finished ? numberField(state, "ExitCode", -1) : null,
    oomKilled: booleanField(state, "OOMKilled"),
    startedAt: timeOrNull(optionalString(state, "StartedAt")),
    addresses,
  };
}

/**
 * The container whose network and user namespace this one joined (HostConfig.NetworkMode
 * "container:ID"), or undefined for a container with its own.
 */
export function joinedContainerOf(document: unknown): string | undefined {
  const host = objectField(asObject(document, "container"), "HostConfig");
  const mode = optionalString(host, "NetworkMode");
  return mode?.startsWith("container:") === true ? mode.slice("container:".length) : undefined;
}

function stateOf(status: string | undefined): ContainerState {
  switch (status) {
    case "created":
    case "running":
    case "exited":
    case "dead":
    case "paused":
      return status;
    // Podman's own words, should its compat layer ever pass them through.
    case "configured":
    case "initialized":
      return "created";
    case "stopped":
      return "exited";
    case undefined:
    default:
      return "unknown";
  }
}

/** Docker writes the zero time for "never"; the port says null. */
function timeOrNull(time: string | undefined): string | null {
  return time === undefined || time.startsWith("0001-01-01") ? null : time;
}

/**
 * GET /images/{ref}/json → ImageInfo. The digest is the image id, on purpose: Slipway's
 * images are imported or committed locally, never pulled, so there is no registry
 * digest. Podman does report a RepoDigest for local images, but it is the digest of a
 * manifest Podman synthesised, it changes when the image is pushed with another
 * compression, and "sha256:<that>" alone does not resolve as a reference (404). The id
 * is the sha256 of the image config, which lists the digest of every layer: a content
 * digest that both engines resolve wherever an image reference is accepted.
 */
export function toImageInfo(document: unknown): ImageInfo {
  const doc = asObject(document, "image");
  return {
    ...imageNames(doc),
    labels: stringMap(objectField(doc, "Config"), "Labels"),
    sizeBytes: numberField(doc, "Size", 0),
    createdAt: optionalString(doc, "Created") ?? "",
    user: optionalString(objectField(doc, "Config"), "User") ?? "",
  };
}

/**
 * GET /images/json's summary → ImageInfo, without an inspect: the summary has the labels,
 * tags and size, its creation time in seconds, and no configuration (so no `user`).
 */
export function toImageSummaryInfo(summary: unknown): ImageInfo {
  const doc = asObject(summary, "image summary");
  const created = doc.Created;
  return {
    ...imageNames(doc),
    labels: stringMap(doc, "Labels"),
    sizeBytes: numberField(doc, "Size", 0),
    createdAt:
      typeof created === "number"
        ? new Date(created * 1000).toISOString()
        : typeof created === "string"
          ? created
          : "",
  };
}

/** An image's id (as its digest too) and short tags, from an inspect or a summary. */
function imageNames(
  doc: Readonly<Record<string, unknown>>,
): Pick<ImageInfo, "id" | "digest" | "tags"> {
  const id = withSha256(stringField(doc, "Id"));
  const tags = stringList(doc, "RepoTags").filter((tag) => tag !== "<none>:<none>");
  return { id, digest: id, tags: tags.map(shortTag) };
}

/** Podman answers some ids without the algorithm prefix; the port always has it. */
export function withSha256(id: string): string {
  return id.startsWith("sha256:") ? id : `sha256:${id}`;
}

/** GET /networks/{name} → NetworkInfo (the first IPv4 subnet). */
export function toNetworkInfo(document: unknown): NetworkInfo {
  const doc = asObject(document, "network");
  const configs = asArray(objectField(doc, "IPAM").Config ?? [], "IPAM.Config");
  return {
    name: stringField(doc, "Name"),
    id: stringField(doc, "Id"),
    subnet: firstIpv4(configs.map((c) => optionalString(asObject(c, "IPAM config"), "Subnet"))),
    labels: stringMap(doc, "Labels"),
  };
}

/** A network with the bridge interface its firewall rules name. */
export interface NetworkDetails extends NetworkInfo {
  /** undefined when the engine did not say. */
  readonly bridge: string | undefined;
}

/**
 * GET /networks/{name} → NetworkDetails. Podman's compat answer leaves Options empty (no
 * bridge); a Docker daemon's names the bridge there.
 */
export function toCompatNetworkDetails(document: unknown): NetworkDetails {
  const bridge = optionalString(
    objectField(asObject(document, "network"), "Options"),
    "com.docker.network.bridge.name",
  );
  return { ...toNetworkInfo(document), bridge };
}

/** GET /libpod/networks/{name}/json (Podman's own API) → NetworkDetails. */
export function toPodmanNetworkDetails(document: unknown): NetworkDetails {
  const doc = asObject(document, "network");
  const subnets = asArray(doc.subnets ?? [], "subnets");
  return {
    name: stringField(doc, "name"),
    id: stringField(doc, "id"),
    subnet: firstIpv4(subnets.map((s) => optionalString(asObject(s, "subnet"), "subnet"))),
    labels: stringMap(doc, "labels"),
    bridge: optionalString(doc, "network_interface"),
  };
}

function firstIpv4(subnets: readonly (string | undefined)[]): string {
  return subnets.find((subnet) => subnet?.includes(".") === true) ?? "";
}

/** GET /volumes/{name} → VolumeInfo. */
export function toVolumeInfo(document: unknown): VolumeInfo {
  const doc = asObject(document, "volume");
  return { name: stringField(doc, "Name"), labels: stringMap(doc, "Labels") };
}
