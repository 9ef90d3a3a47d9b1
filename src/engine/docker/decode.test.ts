import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DriverError } from "../../domain/errors.ts";
import {
  toCompatNetworkDetails,
  toContainerInfo,
  toImageInfo,
  toNetworkInfo,
  toVolumeInfo,
} from "./decode.ts";

// Trimmed from real answers of Podman 4.3's compat API.
const container = {
  Id: "a7672dd81d52",
  Name: "/c1",
  Image: "sha256:6dd1a056733c",
  Config: { Image: "docker.io/slipway/bb:1", Labels: { "io.slipway.instance": "abc" } },
  State: {
    Status: "exited",
    ExitCode: 3,
    OOMKilled: false,
    StartedAt: "2026-11-29T18:40:06.727132657Z",
  },
  NetworkSettings: {
    Networks: { "swx-a": { IPAddress: "10.213.50.9" }, "swx-b": { IPAddress: "" } },
  },
};

describe("toContainerInfo", () => {
  it("maps an exited container", () => {
    assert.deepEqual(toContainerInfo(container), {
      id: "a7672dd81d52",
      name: "c1",
      image: "docker.io/slipway/bb:1",
      imageId: "sha256:6dd1a056733c",
      labels: { "io.slipway.instance": "abc" },
      state: "exited",
      exitCode: 3,
      oomKilled: false,
      startedAt: "2026-11-29T18:40:06.727132657Z",
      addresses: { "swx-a": "10.213.50.9" },
    });
  });

  it("has no exit code and no start time before the container ran", () => {
    const info = toContainerInfo({
      ...container,
      State: { Status: "created", ExitCode: 0, StartedAt: "0001-01-01T00:00:00Z" },
      Config: { Labels: null },
    });
    assert.equal(info.state, "created");
    assert.equal(info.exitCode, null);
    assert.equal(info.startedAt, null);
    assert.deepEqual(info.labels, {});
  });

  it("maps unknown states to unknown", () => {
    assert.equal(
      toContainerInfo({ ...container, State: { Status: "restarting" } }).state,
      "unknown",
    );
  });

  it("throws DriverError on a document without an id", () => {
    assert.throws(() => toContainerInfo({ Name: "/x" }), DriverError);
    assert.throws(() => toContainerInfo("nope"), DriverError);
  });
});

describe("toImageInfo", () => {
  it("uses the id as digest and short tags", () => {
    const info = toImageInfo({
      Id: "sha256:341dea45",
      RepoTags: ["docker.io/slipway/app:v1", "<none>:<none>"],
      RepoDigests: ["docker.io/slipway/app@sha256:f02925dd"],
      Config: { Labels: { a: "b" }, User: "1000:1000" },
      Size: 2018176,
      Created: "2026-11-29T18:41:12.063340051Z",
    });
    assert.deepEqual(info, {
      id: "sha256:341dea45",
      digest: "sha256:341dea45",
      tags: ["slipway/app:v1"],
      labels: { a: "b" },
      sizeBytes: 2018176,
      createdAt: "2026-11-29T18:41:12.063340051Z",
      user: "1000:1000",
    });
    assert.equal(toImageInfo({ Id: "1", Config: {} }).user, "", "unset: the default, root");
  });

  it("adds the algorithm to bare ids", () => {
    assert.equal(toImageInfo({ Id: "341dea45" }).id, "sha256:341dea45");
  });
});

describe("toNetworkInfo and toVolumeInfo", () => {
  it("takes the IPv4 subnet", () => {
    const info = toNetworkInfo({
      Name: "swx-a",
      Id: "df8e29f9",
      IPAM: {
        Config: [{ Subnet: "fd00::/64" }, { Subnet: "10.213.50.0/24", Gateway: "10.213.50.1" }],
      },
      Labels: { "io.slipway.instance": "abc" },
    });
    assert.deepEqual(info, {
      name: "swx-a",
      id: "df8e29f9",
      subnet: "10.213.50.0/24",
      labels: { "io.slipway.instance": "abc" },
    });
  });

  it("reads a Docker daemon's bridge from the options (Podman's compat answer has none)", () => {
    const doc = { Name: "n", Id: "i", IPAM: { Config: [] }, Labels: null };
    const docker = { ...doc, Options: { "com.docker.network.bridge.name": "br-1" } };
    assert.equal(toCompatNetworkDetails(docker).bridge, "br-1");
    assert.equal(toCompatNetworkDetails({ ...doc, Options: {} }).bridge, undefined);
    assert.equal(toCompatNetworkDetails(doc).subnet, "");
  });

  it("reads a volume", () => {
    assert.deepEqual(toVolumeInfo({ Name: "v", Labels: null, Driver: "local" }), {
      name: "v",
      labels: {},
    });
  });
});
