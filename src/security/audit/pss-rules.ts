import { SAFE_SYSCTLS, noNewPrivileges, obj, optValue, str } from "./inspect-view.ts";
import { capabilities, hostPaths, noPorts, nonRoot, ok, seccompOn } from "./checks.ts";
import type { Rule } from "./checks.ts";

/** Kubernetes Pod Security Standards, restricted (includes baseline), as they map onto one container. */
export const PSS_RULES: readonly Rule[] = [
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
];
