import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AUDIT_ITEM_IDS, auditContainer, type AuditStatus } from "./container-audit.ts";

/** What Podman 4.3 answers for a Slipway app container (trimmed from a real inspect). */
function goodInspect(): Record<string, unknown> {
  return {
    Id: "4c97c1a85818",
    Name: "/sw-abc-shop-web-v1-aaaaaa",
    AppArmorProfile: "",
    EffectiveCaps: null,
    BoundingCaps: null,
    Config: { User: "1000:1000", Labels: { "io.slipway.role": "app" } },
    Mounts: [],
    NetworkSettings: { Networks: { "sw-abc-shop": { IPAddress: "10.213.27.2" } } },
    HostConfig: {
      SecurityOpt: ["no-new-privileges", "seccomp=/opt/slipway/src/engine/seccomp/slipway.json"],
      CapAdd: [],
      CapDrop: ["AUDIT_WRITE", "CHOWN", "NET_RAW"],
      IpcMode: "shareable",
      PidMode: "private",
      UTSMode: "private",
      UsernsMode: "private",
      CgroupParent: "",
      NetworkMode: "bridge",
      Devices: [],
      Privileged: false,
      ReadonlyRootfs: true,
      PidsLimit: 256,
      Memory: 268435456,
      MemorySwap: 268435456,
      NanoCpus: 500000000,
      CpuQuota: 50000,
      Ulimits: [
        { Name: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024 },
        { Name: "RLIMIT_NPROC", Hard: 512, Soft: 512 },
      ],
      RestartPolicy: { Name: "no", MaximumRetryCount: 0 },
      Binds: [],
      Tmpfs: { "/tmp": "rw,noexec,nosuid,nodev,size=67108864,rprivate,tmpcopyup" },
      PortBindings: {},
      IDMappings: { UidMap: ["0:2147483647:65536"], GidMap: ["0:2147483647:65536"] },
    },
  };
}

type Mutation = (doc: Record<string, unknown>, host: Record<string, unknown>) => void;

function statusOf(mutate: Mutation, id: string): [AuditStatus, string] {
  const doc = goodInspect();
  mutate(doc, doc.HostConfig as Record<string, unknown>);
  const item = auditContainer(doc).items.find((i) => i.id === id);
  assert.ok(item, `item ${id} exists`);
  return [item.status, item.reason];
}

describe("auditContainer", () => {
  it("passes Slipway's baseline on every decidable item", () => {
    const audit = auditContainer(goodInspect());
    const failed = audit.items.filter((i) => i.status === "fail");
    assert.deepEqual(failed, []);
    assert.equal(audit.name, "sw-abc-shop-web-v1-aaaaaa");
    assert.equal(audit.passed + audit.skipped, audit.items.length);
    assert.ok(audit.passed >= 40, `passed ${String(audit.passed)}`);
    for (const item of audit.items) assert.ok(item.reason.length > 0, item.id);
  });

  it("covers CIS Docker 1.6 items 5.1 to 5.31 and the PSS restricted controls", () => {
    for (let n = 1; n <= 31; n++)
      assert.ok(AUDIT_ITEM_IDS.includes(`5.${String(n)}`), `5.${String(n)}`);
    for (const id of [
      "PSS-privilegeEscalation",
      "PSS-runAsNonRoot",
      "PSS-seccomp",
      "PSS-capabilities",
    ]) {
      assert.ok(AUDIT_ITEM_IDS.includes(id), id);
    }
  });

  const failures: [string, string, Mutation][] = [
    ["added capability", "5.3", (_, h) => (h.CapAdd = ["SYS_ADMIN"])],
    ["effective capability", "PSS-capabilities", (d) => (d.EffectiveCaps = ["CAP_CHOWN"])],
    ["privileged", "5.4", (_, h) => (h.Privileged = true)],
    [
      "/etc mounted",
      "5.5",
      (d) => (d.Mounts = [{ Type: "bind", Source: "/etc", Destination: "/x" }]),
    ],
    [
      "port 80 mapped",
      "5.7",
      (_, h) => (h.PortBindings = { "80/tcp": [{ HostIp: "", HostPort: "80" }] }),
    ],
    [
      "port on all interfaces",
      "5.13",
      (_, h) => (h.PortBindings = { "5000/tcp": [{ HostIp: "0.0.0.0", HostPort: "5000" }] }),
    ],
    ["host network", "5.9", (_, h) => (h.NetworkMode = "host")],
    ["no memory limit", "5.10", (_, h) => (h.Memory = 0)],
    ["no CPU limit", "5.11", (_, h) => ((h.NanoCpus = 0), (h.CpuQuota = 0))],
    ["writable root", "5.12", (_, h) => (h.ReadonlyRootfs = false)],
    ["restart always", "5.14", (_, h) => (h.RestartPolicy = { Name: "always" })],
    ["host PID", "5.15", (_, h) => (h.PidMode = "host")],
    ["host IPC", "5.16", (_, h) => (h.IpcMode = "host")],
    ["devices", "5.17", (_, h) => (h.Devices = [{ PathOnHost: "/dev/kvm" }])],
    ["no ulimits", "5.18", (_, h) => (h.Ulimits = [])],
    [
      "shared propagation",
      "5.19",
      (d) =>
        (d.Mounts = [{ Type: "volume", Source: "v", Destination: "/d", Propagation: "rshared" }]),
    ],
    ["host UTS", "5.20", (_, h) => (h.UTSMode = "host")],
    [
      "seccomp unconfined",
      "5.21",
      (_, h) => (h.SecurityOpt = ["no-new-privileges", "seccomp=unconfined"]),
    ],
    ["custom cgroup parent", "5.24", (_, h) => (h.CgroupParent = "/host")],
    ["privileges may grow", "5.25", (_, h) => (h.SecurityOpt = [])],
    ["no pids limit", "5.28", (_, h) => (h.PidsLimit = 0)],
    ["default bridge", "5.29", (d) => (d.NetworkSettings = { Networks: { podman: {} } })],
    ["host userns", "5.30", (_, h) => (h.UsernsMode = "host")],
    [
      "engine socket",
      "5.31",
      (d) => (d.Mounts = [{ Type: "bind", Source: "/run/podman/podman.sock", Destination: "/s" }]),
    ],
    ["host path", "PSS-hostPath", (_, h) => (h.Binds = ["/srv/data:/data:rw"])],
    ["unsafe sysctl", "PSS-sysctls", (_, h) => (h.Sysctls = { "kernel.msgmax": "1" })],
    [
      "unmasked /proc",
      "PSS-procMount",
      (_, h) => (h.SecurityOpt = ["no-new-privileges", "unmask=ALL"]),
    ],
    [
      "root without userns",
      "PSS-runAsNonRoot",
      (d, h) => (((d.Config as Record<string, unknown>).User = ""), (h.IDMappings = null)),
    ],
    ["uid 0 is host root", "SW-userns", (_, h) => (h.IDMappings = { UidMap: ["0:0:65536"] })],
    ["Podman's default seccomp", "SW-seccomp", (_, h) => (h.SecurityOpt = ["no-new-privileges"])],
    ["swap allowed", "SW-swap", (_, h) => (h.MemorySwap = -1)],
    ["exec /tmp on an app", "SW-tmpfs", (_, h) => (h.Tmpfs = { "/tmp": "rw,exec,size=1" })],
    ["unsized /tmp", "SW-tmpfs", (_, h) => (h.Tmpfs = { "/tmp": "rw,noexec" })],
  ];
  for (const [what, id, mutate] of failures) {
    it(`fails ${id} on ${what}`, () => {
      assert.equal(statusOf(mutate, id)[0], "fail");
    });
  }

  it("passes root inside a user namespace, and exec /tmp in a build container", () => {
    const root: Mutation = (d) => ((d.Config as Record<string, unknown>).User = "");
    assert.deepEqual(statusOf(root, "PSS-runAsNonRoot"), [
      "pass",
      "root inside is host uid 2147483647 (user namespace)",
    ]);
    const build: Mutation = (d, h) => {
      d.Config = { User: "", Labels: { "io.slipway.role": "build" } };
      h.Tmpfs = { "/tmp": "rw,exec,nosuid,nodev,size=1024" };
    };
    assert.equal(statusOf(build, "SW-tmpfs")[0], "pass");
  });

  it("falls back to CapDrop ALL where the engine has no effective capabilities (Docker)", () => {
    const docker: Mutation = (d, h) => {
      delete d.EffectiveCaps;
      h.CapDrop = ["ALL"];
    };
    assert.equal(statusOf(docker, "5.3")[0], "pass");
    const partial: Mutation = (d) => delete d.EffectiveCaps;
    assert.equal(statusOf(partial, "5.3")[0], "fail");
  });

  it("never throws on a malformed document", () => {
    const audit = auditContainer({ HostConfig: "nope", Mounts: 3 });
    assert.ok(audit.failed > 0);
    assert.equal(auditContainer(null).items.length, AUDIT_ITEM_IDS.length);
  });
});
