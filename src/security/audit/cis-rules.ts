import {
  DEFAULT_BRIDGES,
  SENSITIVE_DIRS,
  list,
  noNewPrivileges,
  num,
  obj,
  optValue,
  str,
} from "./inspect-view.ts";
import { capabilities, fail, noPorts, notHost, ok, pass, seccompOn, skip } from "./checks.ts";
import type { Rule } from "./checks.ts";

/** CIS Docker Benchmark v1.6.0, section 5 (container runtime). */
export const CIS_RULES: readonly Rule[] = [
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
];
