/**
 * The container audit behind `slipway doctor` and the check after every container start:
 * one running container's inspect document (the engine's compat answer, with Podman's
 * `HostConfig.IDMappings` and `EffectiveCaps` merged in by the driver's rawInspect) judged
 * against the CIS Docker Benchmark v1.6.0 section 5 (container runtime), the Kubernetes
 * Pod Security Standards "restricted" profile (as it maps onto one container) and
 * Slipway's own baseline (docs/security.md). Pure: no I/O, table-tested.
 *
 * An item the inspect document cannot decide (an sshd inside, how `exec` was called) is
 * "skip" with the reason, never a silent pass.
 */

export type AuditStatus = "pass" | "fail" | "skip";
export type AuditStandard = "CIS Docker 1.6" | "PSS restricted" | "Slipway";

export interface AuditItem {
  /** e.g. "5.12", "PSS-privilegeEscalation", "SW-userns" */
  readonly id: string;
  readonly standard: AuditStandard;
  readonly title: string;
  readonly status: AuditStatus;
  /** One line: why it passed, failed or could not be judged. */
  readonly reason: string;
}

export interface ContainerAudit {
  readonly id: string;
  readonly name: string;
  readonly items: readonly AuditItem[];
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
}

/** CIS 5.5: host directories no container may mount. */
const SENSITIVE_DIRS = ["/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr"];
/** PSS baseline "Sysctls": the safe set. */
const SAFE_SYSCTLS = new Set([
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
]);
/** Capabilities PSS restricted lets a container add. */
const ALLOWED_CAPS = new Set(["NET_BIND_SERVICE", "CAP_NET_BIND_SERVICE"]);
const DEFAULT_BRIDGES = new Set(["bridge", "podman", "docker0", "default"]);

type Json = Readonly<Record<string, unknown>>;

function obj(value: unknown): Json {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Json)
    : {};
}
function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}
function num(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}
function list(value: unknown): unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}
function strings(value: unknown): string[] {
  return list(value).filter((v): v is string => typeof v === "string");
}

/** A parsed view of what the audit reads; everything optional is normalised. */
interface View {
  readonly id: string;
  readonly name: string;
  readonly role: string;
  readonly user: string;
  readonly host: Json;
  readonly securityOpt: string[];
  readonly mounts: { type: string; source: string; destination: string; propagation: string }[];
  readonly portBindings: { hostIp: string; hostPort: number }[];
  readonly networks: string[];
  /** Effective capabilities from Podman's inspect; undefined when the engine did not say. */
  readonly effectiveCaps: string[] | undefined;
  /** Host id that the container's uid 0 maps to; undefined without a mapping. */
  readonly rootHostUid: number | undefined;
  readonly appArmor: string;
}

function view(inspect: unknown): View {
  const doc = obj(inspect);
  const host = obj(doc.HostConfig);
  const config = obj(doc.Config);
  const mounts = list(doc.Mounts).map((m) => {
    const mount = obj(m);
    return {
      type: str(mount.Type),
      source: str(mount.Source),
      destination: str(mount.Destination),
      propagation: str(mount.Propagation),
    };
  });
  // Binds may name host paths without a Mounts entry on some engines.
  for (const bind of strings(host.Binds)) {
    const [source = "", destination = ""] = bind.split(":");
    if (source.startsWith("/") && !mounts.some((m) => m.destination === destination)) {
      mounts.push({ type: "bind", source, destination, propagation: "" });
    }
  }
  const portBindings: { hostIp: string; hostPort: number }[] = [];
  for (const bindings of Object.values(obj(host.PortBindings))) {
    for (const b of list(bindings)) {
      portBindings.push({ hostIp: str(obj(b).HostIp), hostPort: Number(str(obj(b).HostPort)) });
    }
  }
  const uidMap = strings(obj(host.IDMappings).UidMap);
  let rootHostUid: number | undefined;
  for (const entry of uidMap) {
    const [inside, outside, size] = entry.split(":").map(Number);
    if (inside !== undefined && outside !== undefined && size !== undefined && inside === 0) {
      rootHostUid = outside;
    }
  }
  const caps = doc.EffectiveCaps;
  return {
    id: str(doc.Id),
    name: str(doc.Name).replace(/^\//, ""),
    role: str(obj(config.Labels)["io.slipway.role"]),
    user: str(config.User),
    host,
    securityOpt: strings(host.SecurityOpt),
    mounts,
    portBindings,
    networks: Object.keys(obj(obj(doc.NetworkSettings).Networks)),
    effectiveCaps: caps === null ? [] : Array.isArray(caps) ? strings(caps) : undefined,
    rootHostUid,
    appArmor: str(doc.AppArmorProfile),
  };
}

function optValue(v: View, key: string): string | undefined {
  for (const opt of v.securityOpt) {
    const match = new RegExp(`^${key}[=:](.*)$`, "s").exec(opt);
    if (match) return match[1] ?? "";
  }
  return undefined;
}

function noNewPrivileges(v: View): boolean {
  return v.securityOpt.some((o) => /^no-new-privileges(?:[=:]true)?$/.test(o));
}

function isRootUser(user: string): boolean {
  const name = user.split(":")[0] ?? "";
  return name === "" || name === "0" || name === "root";
}

type Check = (v: View) => [AuditStatus, string];

interface Rule {
  readonly id: string;
  readonly standard: AuditStandard;
  readonly title: string;
  readonly check: Check;
}

const pass = (reason: string): [AuditStatus, string] => ["pass", reason];
const fail = (reason: string): [AuditStatus, string] => ["fail", reason];
const skip = (reason: string): [AuditStatus, string] => ["skip", reason];
const ok = (good: boolean, yes: string, no: string): [AuditStatus, string] =>
  good ? pass(yes) : fail(no);

const notHost =
  (field: string, what: string): Check =>
  (v) => {
    const mode = str(v.host[field]);
    return ok(mode !== "host", `${what} namespace is ${mode || "private"}`, `${field} is host`);
  };

const capabilities: Check = (v) => {
  const added = strings(v.host.CapAdd).filter((c) => !ALLOWED_CAPS.has(c.toUpperCase()));
  if (added.length > 0) return fail(`adds ${added.join(", ")}`);
  if (v.effectiveCaps !== undefined) {
    const extra = v.effectiveCaps.filter((c) => !ALLOWED_CAPS.has(c.toUpperCase()));
    return ok(
      extra.length === 0,
      "no effective capabilities",
      `effective capabilities: ${extra.join(", ")}`,
    );
  }
  const dropped = strings(v.host.CapDrop).map((c) => c.toUpperCase());
  return ok(
    dropped.includes("ALL") || dropped.includes("CAP_ALL"),
    "all capabilities dropped",
    "capabilities are not all dropped",
  );
};

const hostPaths: Check = (v) => {
  const binds = v.mounts.filter((m) => m.type === "bind");
  return ok(
    binds.length === 0,
    "no host paths mounted",
    `host paths mounted: ${binds.map((m) => m.source).join(", ")}`,
  );
};

const seccompOn: Check = (v) => {
  const profile = optValue(v, "seccomp");
  if (profile === "unconfined") return fail("seccomp=unconfined");
  return pass(profile === undefined ? "the engine's default profile" : "a profile is set");
};

const nonRoot: Check = (v) => {
  if (!isRootUser(v.user)) return pass(`runs as user ${v.user}`);
  if (v.rootHostUid !== undefined && v.rootHostUid !== 0) {
    // PSS skips runAsNonRoot/runAsUser for pods with hostUsers: false (user namespaces).
    return pass(`root inside is host uid ${String(v.rootHostUid)} (user namespace)`);
  }
  return fail("runs as root without a user namespace");
};

const noPorts: Check = (v) =>
  ok(
    v.portBindings.length === 0,
    "no published ports (traffic comes through the router)",
    `publishes host ports ${v.portBindings.map((p) => p.hostPort).join(", ")}`,
  );

const RULES: readonly Rule[] = [
  // CIS Docker Benchmark v1.6.0, section 5 (container runtime)
  {
    id: "5.1",
    standard: "CIS Docker 1.6",
    title: "AppArmor profile is enabled, if applicable",
    check: (v) =>
      v.appArmor === "unconfined"
        ? fail("AppArmor profile is unconfined")
        : v.appArmor === ""
          ? skip("no AppArmor on this host (seccomp, capabilities and userns confine instead)")
          : pass(`AppArmor profile ${v.appArmor}`),
  },
  {
    id: "5.2",
    standard: "CIS Docker 1.6",
    title: "SELinux security options are set, if applicable",
    check: (v) =>
      optValue(v, "label") === "disable"
        ? fail("SELinux labeling disabled")
        : v.securityOpt.some((o) => o.startsWith("label"))
          ? pass("SELinux options set")
          : skip("no SELinux on this host"),
  },
  {
    id: "5.3",
    standard: "CIS Docker 1.6",
    title: "Capabilities are restricted",
    check: capabilities,
  },
  {
    id: "5.4",
    standard: "CIS Docker 1.6",
    title: "Privileged containers are not used",
    check: (v) => ok(v.host.Privileged !== true, "not privileged", "privileged"),
  },
  {
    id: "5.5",
    standard: "CIS Docker 1.6",
    title: "Sensitive host directories are not mounted",
    check: (v) => {
      const bad = v.mounts.filter(
        (m) =>
          m.type === "bind" &&
          SENSITIVE_DIRS.some((d) => m.source === d || (d !== "/" && m.source.startsWith(`${d}/`))),
      );
      return ok(
        bad.length === 0,
        "no sensitive host directory mounted",
        `mounts ${bad.map((m) => m.source).join(", ")}`,
      );
    },
  },
  {
    id: "5.6",
    standard: "CIS Docker 1.6",
    title: "sshd is not run within containers",
    check: () => skip("needs the process list; inspect does not show it"),
  },
  {
    id: "5.7",
    standard: "CIS Docker 1.6",
    title: "Privileged ports are not mapped",
    check: (v) => {
      const low = v.portBindings.filter((p) => p.hostPort > 0 && p.hostPort < 1024);
      return ok(
        low.length === 0,
        "no host port below 1024",
        `maps ${low.map((p) => p.hostPort).join(", ")}`,
      );
    },
  },
  { id: "5.8", standard: "CIS Docker 1.6", title: "Only needed ports are open", check: noPorts },
  {
    id: "5.9",
    standard: "CIS Docker 1.6",
    title: "Host network namespace is not shared",
    check: notHost("NetworkMode", "network"),
  },
  {
    id: "5.10",
    standard: "CIS Docker 1.6",
    title: "Memory usage is limited",
    check: (v) =>
      ok(
        num(v.host.Memory) > 0,
        `memory limit ${String(num(v.host.Memory))} bytes`,
        "no memory limit",
      ),
  },
  {
    id: "5.11",
    standard: "CIS Docker 1.6",
    title: "CPU priority is set",
    check: (v) => {
      const set = num(v.host.NanoCpus) > 0 || num(v.host.CpuQuota) > 0 || num(v.host.CpuShares) > 0;
      return ok(set, "CPU limit set", "no CPU shares, quota or NanoCpus");
    },
  },
  {
    id: "5.12",
    standard: "CIS Docker 1.6",
    title: "Root filesystem is read-only",
    check: (v) =>
      ok(
        v.host.ReadonlyRootfs === true,
        "read-only root filesystem",
        "root filesystem is writable",
      ),
  },
  {
    id: "5.13",
    standard: "CIS Docker 1.6",
    title: "Incoming traffic is bound to a specific host interface",
    check: (v) => {
      const wild = v.portBindings.filter(
        (p) => p.hostIp === "" || p.hostIp === "0.0.0.0" || p.hostIp === "::",
      );
      return ok(
        wild.length === 0,
        "no port bound on all interfaces",
        `ports on all interfaces: ${wild.map((p) => p.hostPort).join(", ")}`,
      );
    },
  },
  {
    id: "5.14",
    standard: "CIS Docker 1.6",
    title: "Restart policy is on-failure with at most 5 retries (or none)",
    check: (v) => {
      const policy = obj(v.host.RestartPolicy);
      const name = str(policy.Name);
      if (name === "" || name === "no")
        return pass("no engine restarts (Slipway's controller replaces containers)");
      if (
        name === "on-failure" &&
        num(policy.MaximumRetryCount) <= 5 &&
        num(policy.MaximumRetryCount) > 0
      ) {
        return pass(`on-failure:${String(num(policy.MaximumRetryCount))}`);
      }
      return fail(`restart policy ${name}`);
    },
  },
  {
    id: "5.15",
    standard: "CIS Docker 1.6",
    title: "Host PID namespace is not shared",
    check: notHost("PidMode", "PID"),
  },
  {
    id: "5.16",
    standard: "CIS Docker 1.6",
    title: "Host IPC namespace is not shared",
    check: notHost("IpcMode", "IPC"),
  },
  {
    id: "5.17",
    standard: "CIS Docker 1.6",
    title: "Host devices are not exposed",
    check: (v) => {
      const devices = list(v.host.Devices);
      return ok(devices.length === 0, "no host devices", `${String(devices.length)} host devices`);
    },
  },
  {
    id: "5.18",
    standard: "CIS Docker 1.6",
    title: "Default ulimits are overwritten",
    check: (v) => {
      const names = list(v.host.Ulimits).map((u) =>
        str(obj(u).Name)
          .toLowerCase()
          .replace(/^rlimit_/, ""),
      );
      return ok(
        names.includes("nofile") && names.includes("nproc"),
        "nofile and nproc set",
        `ulimits set: ${names.join(", ") || "none"}`,
      );
    },
  },
  {
    id: "5.19",
    standard: "CIS Docker 1.6",
    title: "Mount propagation is not shared",
    check: (v) => {
      const shared = v.mounts.filter((m) => /^r?shared$/.test(m.propagation));
      return ok(
        shared.length === 0,
        "no shared mount propagation",
        `shared: ${shared.map((m) => m.destination).join(", ")}`,
      );
    },
  },
  {
    id: "5.20",
    standard: "CIS Docker 1.6",
    title: "Host UTS namespace is not shared",
    check: notHost("UTSMode", "UTS"),
  },
  { id: "5.21", standard: "CIS Docker 1.6", title: "Seccomp is not disabled", check: seccompOn },
  {
    id: "5.22",
    standard: "CIS Docker 1.6",
    title: "exec is not used with --privileged",
    check: () =>
      skip("exec options are not in the container's inspect; Slipway never execs privileged"),
  },
  {
    id: "5.23",
    standard: "CIS Docker 1.6",
    title: "exec is not used with --user=root",
    check: () => skip("exec options are not in the container's inspect"),
  },
  {
    id: "5.24",
    standard: "CIS Docker 1.6",
    title: "cgroup usage is confirmed",
    check: (v) => {
      const parent = str(v.host.CgroupParent);
      return ok(parent === "", "default cgroup parent", `custom cgroup parent ${parent}`);
    },
  },
  {
    id: "5.25",
    standard: "CIS Docker 1.6",
    title: "Container cannot acquire additional privileges",
    check: (v) => ok(noNewPrivileges(v), "no-new-privileges", "no-new-privileges is not set"),
  },
  {
    id: "5.26",
    standard: "CIS Docker 1.6",
    title: "Container health is checked at runtime",
    check: () => skip("Slipway's app controller probes health (TCP on PORT), not the engine"),
  },
  {
    id: "5.27",
    standard: "CIS Docker 1.6",
    title: "Commands use the latest version of their image",
    check: () => skip("not decidable from inspect; releases pin images by id"),
  },
  {
    id: "5.28",
    standard: "CIS Docker 1.6",
    title: "PIDs cgroup limit is used",
    check: (v) =>
      ok(num(v.host.PidsLimit) > 0, `pids limit ${String(num(v.host.PidsLimit))}`, "no pids limit"),
  },
  {
    id: "5.29",
    standard: "CIS Docker 1.6",
    title: "The default bridge is not used",
    check: (v) => {
      const shared = v.networks.filter((n) => DEFAULT_BRIDGES.has(n));
      return ok(
        shared.length === 0,
        `networks: ${v.networks.join(", ") || "none"}`,
        `on the default bridge ${shared.join(", ")}`,
      );
    },
  },
  {
    id: "5.30",
    standard: "CIS Docker 1.6",
    title: "Host user namespace is not shared",
    check: (v) => ok(str(v.host.UsernsMode) !== "host", "own user namespace", "UsernsMode is host"),
  },
  {
    id: "5.31",
    standard: "CIS Docker 1.6",
    title: "The engine socket is not mounted",
    check: (v) => {
      const sockets = v.mounts.filter(
        (m) => /(docker|podman)\.sock$/.test(m.source) || /\/run\/(docker|podman)/.test(m.source),
      );
      return ok(
        sockets.length === 0,
        "no engine socket mounted",
        `mounts ${sockets.map((m) => m.source).join(", ")}`,
      );
    },
  },
  // Kubernetes Pod Security Standards, restricted (includes baseline)
  {
    id: "PSS-hostNamespaces",
    standard: "PSS restricted",
    title: "No host network, PID or IPC namespace",
    check: (v) => {
      const shared = ["NetworkMode", "PidMode", "IpcMode"].filter((f) => str(v.host[f]) === "host");
      return ok(shared.length === 0, "no host namespaces", `host: ${shared.join(", ")}`);
    },
  },
  {
    id: "PSS-privileged",
    standard: "PSS restricted",
    title: "Not privileged",
    check: (v) => ok(v.host.Privileged !== true, "not privileged", "privileged"),
  },
  {
    id: "PSS-capabilities",
    standard: "PSS restricted",
    title: "Drop ALL; add only NET_BIND_SERVICE",
    check: capabilities,
  },
  {
    id: "PSS-hostPath",
    standard: "PSS restricted",
    title: "No hostPath volumes",
    check: hostPaths,
  },
  { id: "PSS-hostPorts", standard: "PSS restricted", title: "No host ports", check: noPorts },
  {
    id: "PSS-appArmor",
    standard: "PSS restricted",
    title: "AppArmor not set to unconfined",
    check: (v) => ok(v.appArmor !== "unconfined", "not unconfined", "AppArmor unconfined"),
  },
  {
    id: "PSS-seLinux",
    standard: "PSS restricted",
    title: "No custom SELinux user or role, no disabled labeling",
    check: (v) => {
      const bad = v.securityOpt.filter((o) => /^label[=:](user|role|disable)/.test(o));
      return ok(bad.length === 0, "no custom SELinux user or role", bad.join(", "));
    },
  },
  {
    id: "PSS-procMount",
    standard: "PSS restricted",
    title: "/proc keeps its default masks",
    check: (v) => {
      const unmask = optValue(v, "unmask");
      return ok(
        unmask === undefined && v.host.Privileged !== true,
        "default /proc masks",
        `unmasked: ${unmask ?? "all (privileged)"}`,
      );
    },
  },
  {
    id: "PSS-seccomp",
    standard: "PSS restricted",
    title: "Seccomp profile is RuntimeDefault or Localhost",
    check: seccompOn,
  },
  {
    id: "PSS-sysctls",
    standard: "PSS restricted",
    title: "Only safe sysctls",
    check: (v) => {
      const unsafe = Object.keys(obj(v.host.Sysctls)).filter((k) => !SAFE_SYSCTLS.has(k));
      return ok(unsafe.length === 0, "no unsafe sysctls", `unsafe: ${unsafe.join(", ")}`);
    },
  },
  {
    id: "PSS-volumeTypes",
    standard: "PSS restricted",
    title: "Only ephemeral and claimed volume types",
    check: (v) => {
      const other = v.mounts.filter((m) => m.type !== "volume" && m.type !== "tmpfs");
      return ok(
        other.length === 0,
        "named volumes and tmpfs only",
        `mount types: ${other.map((m) => m.type).join(", ")}`,
      );
    },
  },
  {
    id: "PSS-privilegeEscalation",
    standard: "PSS restricted",
    title: "allowPrivilegeEscalation is false",
    check: (v) => ok(noNewPrivileges(v), "no-new-privileges", "no-new-privileges is not set"),
  },
  { id: "PSS-runAsNonRoot", standard: "PSS restricted", title: "Runs as non-root", check: nonRoot },
  { id: "PSS-runAsUser", standard: "PSS restricted", title: "runAsUser is not 0", check: nonRoot },
  // Slipway's baseline beyond both (docs/security.md)
  {
    id: "SW-userns",
    standard: "Slipway",
    title: "Root inside maps to an unprivileged host uid",
    check: (v) =>
      v.rootHostUid === undefined
        ? fail("no user namespace mapping in inspect (IDMappings)")
        : ok(
            v.rootHostUid !== 0,
            `uid 0 is host uid ${String(v.rootHostUid)}`,
            "uid 0 is host root",
          ),
  },
  {
    id: "SW-seccomp",
    standard: "Slipway",
    title: "Slipway's seccomp profile (stricter than Podman's default)",
    check: (v) => {
      const profile = optValue(v, "seccomp") ?? "";
      const ours = profile.endsWith("/slipway.json") || profile.includes("slipway: denied");
      return ok(
        ours,
        "slipway.json",
        profile === "" ? "the engine's default profile" : "another profile",
      );
    },
  },
  {
    id: "SW-swap",
    standard: "Slipway",
    title: "No swap beyond the memory limit",
    check: (v) =>
      ok(
        num(v.host.Memory) > 0 && num(v.host.MemorySwap) === num(v.host.Memory),
        "MemorySwap equals Memory",
        `Memory ${String(num(v.host.Memory))}, MemorySwap ${String(num(v.host.MemorySwap))}`,
      ),
  },
  {
    id: "SW-tmpfs",
    standard: "Slipway",
    title: "/tmp is a size-capped noexec tmpfs (exec allowed for builds)",
    check: (v) => {
      const tmp = str(obj(v.host.Tmpfs)["/tmp"]);
      if (tmp === "") return fail("/tmp is not a tmpfs");
      const options = tmp.split(",");
      if (!options.some((o) => /^size=\d+/.test(o))) return fail("/tmp has no size limit");
      if (!options.includes("noexec") && v.role !== "build") return fail("/tmp allows exec");
      return pass(`/tmp: ${tmp}`);
    },
  },
  {
    id: "SW-hostPaths",
    standard: "Slipway",
    title: "No host paths, devices or sockets",
    check: (v) => {
      const [status, reason] = hostPaths(v);
      if (status === "fail") return [status, reason];
      return ok(list(v.host.Devices).length === 0, reason, "host devices exposed");
    },
  },
];

/** Audits one container from its inspect document. */
export function auditContainer(inspect: unknown): ContainerAudit {
  const v = view(inspect);
  const items = RULES.map((rule): AuditItem => {
    const [status, reason] = rule.check(v);
    return { id: rule.id, standard: rule.standard, title: rule.title, status, reason };
  });
  return {
    id: v.id,
    name: v.name,
    items,
    passed: items.filter((i) => i.status === "pass").length,
    failed: items.filter((i) => i.status === "fail").length,
    skipped: items.filter((i) => i.status === "skip").length,
  };
}

/** The ids of every item the audit reports, in order (docs and tests list them). */
export const AUDIT_ITEM_IDS: readonly string[] = RULES.map((rule) => rule.id);
