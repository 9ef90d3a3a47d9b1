import { ConflictError, DriverError, NotFoundError } from "../../domain/errors.ts";
import type { EngineApi } from "./api-client.ts";
import { engineSaid, isTakenError } from "./api-errors.ts";
import { toCompatNetworkDetails, toPodmanNetworkDetails, type NetworkDetails } from "./decode.ts";
import { asArray, asObject, objectField, optionalString } from "./json-reader.ts";
import { assertOwned, withInstanceLabel, type Labels } from "./ownership.ts";
import {
  bridgeName,
  formatCidr,
  gatewayOf,
  parseCidr,
  pickSubnet,
  seedOf,
  type Cidr,
} from "./subnets.ts";

/**
 * One isolated bridge network per app: an explicit /24 from the pool, gateway .1, an
 * explicit bridge name unique per instance, and Podman's `isolate` option (netavark
 * drops forwarding between isolated bridges; Docker isolates bridges by default and
 * ignores the option).
 */
export interface NetworkPlanner {
  readonly instance: string;
  readonly pool: Cidr;
  /** Ranges the host uses (interfaces, routes). */
  readonly hostSubnets: () => Promise<Cidr[]>;
}

/** Enough attempts for a few lost races; each one re-reads what is in use. */
const MAX_ATTEMPTS = 8;

/** The body of POST /networks/create. Pure. */
export function networkCreateBody(
  name: string,
  labels: Labels,
  subnet: Cidr,
  bridge: string,
): Record<string, unknown> {
  return {
    Name: name,
    Driver: "bridge",
    CheckDuplicate: true,
    Internal: false,
    EnableIPv6: false,
    Labels: labels,
    IPAM: {
      Driver: "default",
      Config: [{ Subnet: formatCidr(subnet), Gateway: gatewayOf(subnet) }],
    },
    Options: { "com.docker.network.bridge.name": bridge, isolate: "true" },
  };
}

/**
 * Returns the network if it exists and is ours (ForbiddenError if it is not), else
 * creates it on a free subnet. A subnet the engine refuses (another installation took it
 * meanwhile) is skipped and the next one tried; a taken bridge name gets a new hash.
 */
export async function ensureIsolatedNetwork(
  api: EngineApi,
  planner: NetworkPlanner,
  name: string,
  labels: Labels,
): Promise<NetworkDetails> {
  const refused: Cidr[] = [];
  let bridgeAttempt = 0;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const existing = await inspectNetwork(api, name);
    if (existing !== undefined) {
      assertOwned(planner.instance, "network", name, existing.labels);
      return existing;
    }
    const used = [...(await engineSubnets(api)), ...(await planner.hostSubnets()), ...refused];
    const subnet = pickSubnet(planner.pool, seedOf(planner.instance), used);
    if (subnet === undefined) {
      throw new ConflictError(`network pool ${formatCidr(planner.pool)} has no free /24 left`);
    }
    const bridge = bridgeName(planner.instance, name, bridgeAttempt);
    const body = networkCreateBody(
      name,
      withInstanceLabel(planner.instance, labels),
      subnet,
      bridge,
    );
    try {
      await api.json("POST", "/networks/create", { json: body });
    } catch (error) {
      if (!isTakenError(error)) throw error;
      // Name taken: the next round finds the network. Bridge taken: hash again.
      // Subnet taken: remember it, the engine knows something the host check did not.
      if (engineSaid(error, /bridge name/i)) bridgeAttempt++;
      else if (!engineSaid(error, /network name|already exists/i)) refused.push(subnet);
      continue;
    }
    const created = await inspectNetwork(api, name);
    if (created === undefined)
      throw new DriverError("engine", `network ${name} vanished after creation`);
    return created;
  }
  throw new ConflictError(
    `could not create network ${name}: ${MAX_ATTEMPTS} attempts were refused`,
  );
}

/** Engine API clients known to have no libpod API (a Docker daemon). */
const compatOnly = new WeakSet<EngineApi>();

/**
 * A network by name, or undefined when there is none. Podman's own API answers in about a
 * millisecond and names the bridge; its compat answer lists every container on the
 * network, 5-9 ms during a deploy, and this runs in every rollout step (the network
 * check) and container creation (its owner check). A Docker daemon, which has no libpod
 * API, gets the compat one.
 */
export async function inspectNetwork(
  api: EngineApi,
  name: string,
): Promise<NetworkDetails | undefined> {
  const path = `/networks/${encodeURIComponent(name)}`;
  if (!compatOnly.has(api)) {
    try {
      return toPodmanNetworkDetails(await api.json("GET", `${path}/json`, { api: "libpod" }));
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      // Podman's words for a missing network; anything else is an engine without the path.
      if (engineSaid(error, /network not found/i)) return undefined;
      compatOnly.add(api);
    }
  }
  try {
    return toCompatNetworkDetails(await api.json("GET", path));
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

/** Every subnet of every engine network, ours or not. */
async function engineSubnets(api: EngineApi): Promise<Cidr[]> {
  const out: Cidr[] = [];
  for (const network of asArray(await api.json("GET", "/networks"), "networks")) {
    const ipam = objectField(asObject(network, "network"), "IPAM");
    for (const config of asArray(ipam.Config ?? [], "IPAM.Config")) {
      const subnet = optionalString(asObject(config, "IPAM config"), "Subnet");
      if (subnet?.includes(".") === true) out.push(parseCidr(subnet));
    }
  }
  return out;
}
