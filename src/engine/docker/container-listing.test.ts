import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DriverError, NotFoundError } from "../../domain/errors.ts";
import type { ContainerInfo } from "../engine.ts";
import type { RequestOptions } from "./api-client.ts";
import { mapEngineError } from "./api-errors.ts";
import { ContainerListing } from "./container-listing.ts";
import { ApiStub } from "./testing/api-stub.ts";

interface Entry {
  Id: string;
  State: string;
  Pid: number;
  StartedAt: number;
  ExitedAt: number;
  ExitCode: number;
  Names: string[];
  Networks: string[];
}

const running = (id: string): Entry => ({
  Id: id,
  State: "running",
  Pid: 100,
  StartedAt: 1796063416,
  ExitedAt: -62135596800,
  ExitCode: 0,
  Names: [`web-${id}`],
  Networks: ["sw-abc-shop"],
});

/** Podman's list (libpod, with sync), or a Docker daemon's (compat only). */
class ListStub extends ApiStub {
  readonly requests: string[] = [];
  entries: Entry[];
  /** Listed, but gone by the time they are inspected. */
  ghosts: Entry[] = [];
  readonly podman: boolean;
  failure: Error | undefined;

  constructor(entries: Entry[], podman: boolean) {
    super();
    this.entries = entries;
    this.podman = podman;
  }

  json(method: string, path: string, options: RequestOptions = {}): Promise<unknown> {
    const api = options.api ?? "compat";
    this.requests.push(`${api} ${method} ${path}`);
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (api === "libpod" && !this.podman) {
      return Promise.reject(mapEngineError(method, path, 404, '{"message":"page not found"}'));
    }
    if (api === "libpod") assert.equal(options.query?.sync, true, "the list checks the runtime");
    return Promise.resolve([...this.entries, ...this.ghosts]);
  }
}

/**
 * A driver's inspect over what the list says: it counts, decodes, and hands the compat
 * document to the listing as DockerEngine does.
 */
function driver(api: ListStub): {
  listing: ContainerListing;
  inspected: string[];
  inspect: (id: string) => Promise<ContainerInfo | undefined>;
} {
  const inspected: string[] = [];
  const inspect = (id: string): Promise<ContainerInfo | undefined> => {
    inspected.push(id);
    const entry = api.entries.find((e) => e.Id === id);
    if (entry === undefined) return Promise.resolve(undefined);
    const document = {
      Id: id,
      Name: `/${entry.Names[0] ?? ""}`,
      State: {
        Status: entry.State,
        Pid: entry.Pid,
        ExitCode: entry.ExitCode,
        StartedAt: new Date(entry.StartedAt * 1000 + 292).toISOString(),
      },
    };
    const info: ContainerInfo = {
      id,
      name: entry.Names[0] ?? "",
      image: "x",
      imageId: "sha256:1",
      labels: {},
      state: entry.State === "running" ? "running" : "exited",
      exitCode: entry.State === "running" ? null : entry.ExitCode,
      oomKilled: false,
      startedAt: document.State.StartedAt,
      addresses: { "sw-abc-shop": "10.213.0.2" },
    };
    listing.remember(document, info);
    return Promise.resolve(info);
  };
  const listing = new ContainerListing(api, inspect);
  return { listing, inspected, inspect };
}

const FILTERS = '{"label":["io.slipway.instance=abc"]}';

describe("ContainerListing", () => {
  it("on Podman, inspects a container again only once the runtime says it changed", async () => {
    const api = new ListStub([running("a"), running("b")], true);
    const { listing, inspected } = driver(api);

    assert.deepEqual(
      (await listing.list(FILTERS)).map((c) => c.id),
      ["a", "b"],
    );
    assert.deepEqual(inspected, ["a", "b"]);

    await listing.list(FILTERS);
    assert.deepEqual(inspected, ["a", "b"], "nothing changed: no inspect");

    // Killed: the list (synced with the runtime) says so, and that one is inspected.
    api.entries = [{ ...running("a"), State: "exited", ExitCode: 137 }, running("b")];
    const after = await listing.list(FILTERS);
    assert.deepEqual(inspected, ["a", "b", "a"]);
    assert.deepEqual(
      after.map((c) => [c.id, c.state, c.exitCode]),
      [
        ["a", "exited", 137],
        ["b", "running", null],
      ],
    );

    // Gone between the list and its inspect: left out.
    api.ghosts = [running("c")];
    assert.deepEqual(
      (await listing.list(FILTERS)).map((x) => x.id),
      ["a", "b"],
    );
    api.ghosts = [];

    // Removed and forgotten: the next look inspects again.
    listing.forget("b");
    await listing.list(FILTERS);
    assert.deepEqual(inspected, ["a", "b", "a", "c", "b"]);
    assert.ok(api.requests.every((r) => r === "libpod GET /containers/json"));
  });

  it("counts an inspect made for another reason (a readiness check) as the last look", async () => {
    const api = new ListStub([running("new")], true);
    const { listing, inspected, inspect } = driver(api);
    await inspect("new"); // the rollout asking for its new container's address
    await listing.list(FILTERS); // the route update right after
    assert.deepEqual(inspected, ["new"]);
  });

  it("on a Docker daemon (no libpod API), lists and inspects each every time", async () => {
    const api = new ListStub([running("a")], false);
    const { listing, inspected } = driver(api);
    await listing.list(FILTERS);
    await listing.list(FILTERS);
    assert.deepEqual(inspected, ["a", "a"]);
    assert.deepEqual(api.requests, [
      "libpod GET /containers/json",
      "compat GET /containers/json",
      "compat GET /containers/json",
    ]);
  });

  it("passes other failures on, and keeps using Podman's list after one", async () => {
    const api = new ListStub([running("a")], true);
    const { listing } = driver(api);
    await listing.list(FILTERS);
    api.failure = new DriverError("engine", "the engine is restarting");
    await assert.rejects(listing.list(FILTERS), DriverError);
    api.failure = mapEngineError("GET", "/containers/json", 404, '{"message":"page not found"}');
    await assert.rejects(listing.list(FILTERS), NotFoundError);
  });
});
