import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConflictError, ForbiddenError } from "../../domain/errors.ts";
import type { RequestOptions } from "./api-client.ts";
import { ApiStub } from "./testing/api-stub.ts";
import { mapEngineError } from "./api-errors.ts";
import {
  ensureIsolatedNetwork,
  inspectNetwork,
  type networkCreateBody,
  type NetworkPlanner,
} from "./docker-networks.ts";
import { parseCidr, pickSubnet, seedOf, type Cidr } from "./subnets.ts";

interface StoredNetwork {
  Name: string;
  Id: string;
  IPAM: { Config: { Subnet: string; Gateway: string }[] };
  Labels: Record<string, string>;
}

/** An engine that knows networks only, refusing creations as scripted. */
class NetworkStub extends ApiStub {
  readonly networks: StoredNetwork[] = [];
  readonly refusals: string[] = [];
  readonly creations: Record<string, unknown>[] = [];
  readonly requests: string[] = [];

  json(method: string, path: string, options: RequestOptions = {}): Promise<unknown> {
    this.requests.push(`${options.api ?? "compat"} ${method} ${path}`);
    if (method === "GET" && path === "/networks") return Promise.resolve(this.networks);
    if (method === "GET") {
      const found = this.networks.find((n) => `/networks/${n.Name}` === path);
      return found === undefined
        ? Promise.reject(mapEngineError(method, path, 404, '{"message":"no such network"}'))
        : Promise.resolve(found);
    }
    const body = options.json as StoredNetwork & {
      IPAM: { Config: { Subnet: string; Gateway: string }[] };
    };
    this.creations.push(body as unknown as Record<string, unknown>);
    const refusal = this.refusals.shift();
    if (refusal !== undefined) {
      return Promise.reject(
        mapEngineError(method, path, 500, JSON.stringify({ message: refusal })),
      );
    }
    this.networks.push({
      Name: body.Name,
      Id: `id-${body.Name}`,
      IPAM: body.IPAM,
      Labels: body.Labels,
    });
    return Promise.resolve({ Id: `id-${body.Name}` });
  }
}

const pool = parseCidr("10.213.0.0/16");
const planner = (host: Cidr[] = []): NetworkPlanner => ({
  instance: "abc",
  pool,
  hostSubnets: () => Promise.resolve(host),
});
const firstFree = (used: Cidr[] = []): string => {
  const subnet = pickSubnet(pool, seedOf("abc"), used);
  assert.ok(subnet);
  return `${[24, 16, 8, 0].map((s) => (subnet.base >>> s) & 255).join(".")}/24`;
};

describe("ensureIsolatedNetwork", () => {
  it("creates an isolated bridge with a subnet, gateway and bridge name", async () => {
    const api = new NetworkStub();
    const info = await ensureIsolatedNetwork(api, planner(), "sw-abc-shop", {
      "io.slipway.app": "shop",
    });
    assert.equal(info.subnet, firstFree());
    assert.deepEqual(info.labels, { "io.slipway.app": "shop", "io.slipway.instance": "abc" });
    const body = api.creations[0] as ReturnType<typeof networkCreateBody>;
    const options = body.Options as Record<string, string>;
    assert.equal(options.isolate, "true");
    assert.match(options["com.docker.network.bridge.name"] ?? "", /^sw[0-9a-f]{12}$/);
    assert.match(JSON.stringify(body.IPAM), /"Gateway":"10\.213\.\d+\.1"/);
  });

  it("returns the existing network without creating another", async () => {
    const api = new NetworkStub();
    const first = await ensureIsolatedNetwork(api, planner(), "sw-abc-shop", {});
    const second = await ensureIsolatedNetwork(api, planner(), "sw-abc-shop", {});
    assert.deepEqual(second, first);
    assert.equal(api.creations.length, 1);
  });

  it("avoids subnets of the host and of other engine networks", async () => {
    const api = new NetworkStub();
    const taken = parseCidr(firstFree());
    const next = firstFree([taken]);
    api.networks.push({
      Name: "someone-else",
      Id: "x",
      IPAM: { Config: [{ Subnet: next, Gateway: "" }] },
      Labels: {},
    });
    const info = await ensureIsolatedNetwork(api, planner([taken]), "sw-abc-shop", {});
    assert.equal(info.subnet, firstFree([taken, parseCidr(next)]));
  });

  it("tries the next subnet when the engine says the subnet is used", async () => {
    const api = new NetworkStub();
    api.refusals.push(`subnet ${firstFree()} is already used on the host or by another config`);
    const info = await ensureIsolatedNetwork(api, planner(), "sw-abc-shop", {});
    assert.equal(info.subnet, firstFree([parseCidr(firstFree())]));
  });

  it("hashes another bridge name when the engine says the bridge name is taken", async () => {
    const api = new NetworkStub();
    api.refusals.push("bridge name swx already in use");
    await ensureIsolatedNetwork(api, planner(), "sw-abc-shop", {});
    const bridges = api.creations.map(
      (body) => (body.Options as Record<string, string>)["com.docker.network.bridge.name"],
    );
    assert.equal(bridges.length, 2);
    assert.notEqual(bridges[0], bridges[1]);
    assert.deepEqual(
      api.creations.map((body) => JSON.stringify(body.IPAM)),
      [JSON.stringify(api.creations[0]?.IPAM), JSON.stringify(api.creations[0]?.IPAM)],
    );
  });

  it("refuses a network of the same name that is not ours", async () => {
    const api = new NetworkStub();
    api.networks.push({ Name: "sw-abc-shop", Id: "x", IPAM: { Config: [] }, Labels: {} });
    await assert.rejects(ensureIsolatedNetwork(api, planner(), "sw-abc-shop", {}), ForbiddenError);
  });

  it("gives up with ConflictError when the pool is exhausted", async () => {
    const api = new NetworkStub();
    await assert.rejects(
      ensureIsolatedNetwork(api, planner([pool]), "sw-abc-shop", {}),
      ConflictError,
    );
  });
});

/** Podman as inspectNetwork sees it: its own API for networks, and a log of the requests. */
class PodmanNetworkStub extends ApiStub {
  readonly requests: string[] = [];
  readonly known: Record<string, unknown>;
  constructor(known: Record<string, unknown>) {
    super();
    this.known = known;
  }

  json(method: string, path: string, options: RequestOptions = {}): Promise<unknown> {
    this.requests.push(`${options.api ?? "compat"} ${method} ${path}`);
    const name = /^\/networks\/([^/]+)\/json$/.exec(path)?.[1];
    if (options.api !== "libpod" || name === undefined) {
      return Promise.reject(new Error(`not used: ${method} ${path}`));
    }
    const found = this.known[name];
    return found === undefined
      ? Promise.reject(mapEngineError(method, path, 404, '{"message":"network not found"}'))
      : Promise.resolve(found);
  }
}

describe("inspectNetwork", () => {
  it("asks Podman's own API alone: labels, subnet and bridge in one answer", async () => {
    const api = new PodmanNetworkStub({
      "sw-abc-shop": {
        name: "sw-abc-shop",
        id: "0684818b",
        network_interface: "swe87942c83b98",
        subnets: [{ subnet: "10.213.245.0/24", gateway: "10.213.245.1" }],
        labels: { "io.slipway.instance": "abc" },
      },
    });
    assert.deepEqual(await inspectNetwork(api, "sw-abc-shop"), {
      name: "sw-abc-shop",
      id: "0684818b",
      subnet: "10.213.245.0/24",
      labels: { "io.slipway.instance": "abc" },
      bridge: "swe87942c83b98",
    });
    assert.equal(await inspectNetwork(api, "sw-abc-gone"), undefined);
    assert.deepEqual(api.requests, [
      "libpod GET /networks/sw-abc-shop/json",
      "libpod GET /networks/sw-abc-gone/json",
    ]);
  });

  it("falls back to the compat API on an engine without Podman's, and remembers it", async () => {
    const api = new NetworkStub();
    await ensureIsolatedNetwork(api, planner(), "sw-abc-shop", {});
    // Its first look asked Podman's API once; the engine said it has no such path.
    assert.deepEqual(
      api.requests.filter((r) => r.startsWith("libpod")),
      ["libpod GET /networks/sw-abc-shop/json"],
    );
    api.requests.length = 0;
    assert.equal((await inspectNetwork(api, "sw-abc-shop"))?.name, "sw-abc-shop");
    assert.equal(await inspectNetwork(api, "sw-abc-gone"), undefined);
    assert.deepEqual(api.requests, [
      "compat GET /networks/sw-abc-shop",
      "compat GET /networks/sw-abc-gone",
    ]);
  });
});
