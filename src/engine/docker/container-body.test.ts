import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ValidationError } from "../../domain/errors.ts";
import type { ContainerSpec } from "../engine.ts";
import { SECCOMP_PROFILE_PATH } from "../seccomp/profile.ts";
import { containerCreateBody, joinSandbox } from "./container-body.ts";

const MiB = 1024 * 1024;

const spec: ContainerSpec = {
  name: "sw-abc-web-1",
  image: "slipway/app:v3",
  cmd: ["/app/.slipway/launch", "web"],
  env: { PORT: "5000", QUOTED: 'a "b" c' },
  labels: { "io.slipway.app": "shop" },
  network: "sw-abc-shop",
  networkAliases: ["web"],
  limits: { memoryBytes: 256 * MiB, cpus: 0.5, pids: 256, tmpBytes: 64 * MiB },
};
const owner = { "io.slipway.app": "shop", "io.slipway.instance": "abc" };

describe("containerCreateBody", () => {
  it("applies the whole security baseline", () => {
    const body = containerCreateBody(spec, owner);
    assert.deepEqual(body.HostConfig, {
      UsernsMode: "auto:size=65536",
      ReadonlyRootfs: true,
      Privileged: false,
      CapDrop: ["ALL"],
      CapAdd: [],
      SecurityOpt: ["no-new-privileges", `seccomp=${SECCOMP_PROFILE_PATH}`],
      Memory: 256 * MiB,
      MemorySwap: 256 * MiB,
      NanoCpus: 500_000_000,
      PidsLimit: 256,
      Ulimits: [
        { Name: "nofile", Soft: 1024, Hard: 1024 },
        { Name: "nproc", Soft: 512, Hard: 512 },
      ],
      Tmpfs: {
        "/tmp": `rw,noexec,nosuid,nodev,size=${64 * MiB}`,
        "/run": `rw,noexec,nosuid,nodev,size=${16 * MiB}`,
        "/var/tmp": `rw,noexec,nosuid,nodev,size=${16 * MiB}`,
      },
      Init: true,
      RestartPolicy: { Name: "no" },
      NetworkMode: "sw-abc-shop",
      Binds: [],
      PublishAllPorts: false,
      LogConfig: { Type: "json-file", Config: { "max-size": "16m" } },
    });
  });

  it("takes the seccomp profile as the engine wants it (a path, or JSON text)", () => {
    const body = containerCreateBody(spec, owner, '{"defaultAction":"SCMP_ACT_ERRNO"}');
    assert.deepEqual(body.HostConfig.SecurityOpt, [
      "no-new-privileges",
      'seccomp={"defaultAction":"SCMP_ACT_ERRNO"}',
    ]);
  });

  it("passes what to run, the environment, labels and the network aliases", () => {
    const body = containerCreateBody(spec, owner);
    assert.equal(body.Image, "slipway/app:v3");
    assert.deepEqual(body.Cmd, ["/app/.slipway/launch", "web"]);
    assert.equal(body.Entrypoint, undefined);
    assert.deepEqual(body.Env, ["PORT=5000", 'QUOTED=a "b" c']);
    assert.deepEqual(body.Labels, owner);
    assert.deepEqual(body.NetworkingConfig, {
      EndpointsConfig: { "sw-abc-shop": { Aliases: ["web"] } },
    });
  });

  it("never writes a field that could grant host access", () => {
    const body = JSON.stringify(containerCreateBody(spec, owner));
    for (const field of [
      'CapAdd":["',
      "PortBindings",
      "Devices",
      "PidMode",
      'IpcMode":"host',
      "UTSMode",
      'Privileged":true',
      "Mounts",
      "VolumesFrom",
    ]) {
      assert.ok(!body.includes(field), field);
    }
  });

  it("allows exec on /tmp only when asked, and caps the small tmpfs by tmpBytes", () => {
    const body = containerCreateBody(
      { ...spec, execTmp: true, limits: { ...spec.limits, tmpBytes: 4 * MiB } },
      owner,
    );
    assert.equal(body.HostConfig.Tmpfs["/tmp"], `rw,exec,nosuid,nodev,size=${4 * MiB}`);
    assert.equal(body.HostConfig.Tmpfs["/run"], `rw,noexec,nosuid,nodev,size=${4 * MiB}`);
  });

  it("mounts named volumes with the U option, read-only when asked", () => {
    const body = containerCreateBody(
      {
        ...spec,
        volumes: [
          { volume: "sw-abc-cache", target: "/cache", readOnly: false },
          { volume: "sw-abc-src", target: "/workspace/src", readOnly: true },
        ],
      },
      owner,
    );
    assert.deepEqual(body.HostConfig.Binds, [
      "sw-abc-cache:/cache:rw,U",
      "sw-abc-src:/workspace/src:ro,U",
    ]);
  });

  const invalid: [string, Partial<ContainerSpec>, RegExp][] = [
    [
      "a host path as volume",
      { volumes: [{ volume: "/etc", target: "/x", readOnly: true }] },
      /volume "\/etc"/,
    ],
    [
      "a target with options",
      { volumes: [{ volume: "v", target: "/x:rw", readOnly: true }] },
      /target/,
    ],
    ["a relative target", { volumes: [{ volume: "v", target: "x", readOnly: true }] }, /target/],
    ["a tiny memory limit", { limits: { ...spec.limits, memoryBytes: 1024 } }, /memoryBytes/],
    ["zero cpus", { limits: { ...spec.limits, cpus: 0 } }, /cpus/],
    ["fractional pids", { limits: { ...spec.limits, pids: 1.5 } }, /pids/],
    ["a network that is a mode", { network: "host:x" }, /network/],
    ["a bad name", { name: "../x" }, /name/],
    ["an env name with =", { env: { "A=B": "c" } }, /environment/],
  ];
  for (const [what, change, detail] of invalid) {
    it(`refuses ${what}`, () => {
      assert.throws(
        () => containerCreateBody({ ...spec, ...change }, owner),
        (error: unknown) =>
          error instanceof ValidationError && error.details.some((d) => detail.test(d)),
      );
    });
  }
});

describe("joinSandbox", () => {
  const sandbox = "a".repeat(64);

  it("enters the sandbox's network and user namespace and keeps the rest of the baseline", () => {
    const own = containerCreateBody(spec, owner);
    const joined = joinSandbox(own, sandbox);
    assert.equal(joined.HostConfig.NetworkMode, `container:${sandbox}`);
    assert.equal(joined.HostConfig.UsernsMode, `container:${sandbox}`);
    assert.deepEqual(joined.NetworkingConfig, { EndpointsConfig: {} });
    const rest = (body: typeof own): unknown => ({
      ...body,
      HostConfig: { ...body.HostConfig, NetworkMode: "", UsernsMode: "" },
      NetworkingConfig: {},
    });
    assert.deepEqual(rest(joined), rest(own));
  });

  it("refuses anything but a full container id", () => {
    const own = containerCreateBody(spec, owner);
    for (const id of ["host", "abc", `${sandbox}:x`, "A".repeat(64)]) {
      assert.throws(() => joinSandbox(own, id), ValidationError);
    }
  });
});
