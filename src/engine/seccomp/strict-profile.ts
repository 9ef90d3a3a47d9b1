/**
 * Slipway's seccomp profile, derived from the default profile of containers-common
 * (Podman's; itself derived from Moby's default profile, moby/profiles/seccomp/default.json).
 * Podman's default allows every container syscalls that Moby's default allows only with
 * CAP_SYS_ADMIN or not at all (unshare, mount, setns, keyctl, ptrace, pivot_root, ...).
 * This takes them out of every allow rule and adds an explicit EPERM rule for them, and
 * restores Moby's clone filter (no namespace flags) and clone3 → ENOSYS (so libc falls back
 * to clone, whose flags seccomp can see). Pure; `generate.ts` writes slipway.json with it.
 */

/** One rule of an OCI / Docker seccomp profile. */
export interface SeccompRule {
  readonly names: readonly string[];
  readonly action: string;
  readonly errnoRet?: number;
  readonly args?: readonly SeccompArg[] | null;
  readonly includes?: SeccompFilter;
  readonly excludes?: SeccompFilter;
  readonly comment?: string;
}

export interface SeccompArg {
  readonly index: number;
  readonly value: number;
  readonly valueTwo: number;
  readonly op: string;
}

export interface SeccompFilter {
  readonly caps?: readonly string[];
  readonly arches?: readonly string[];
  readonly minKernel?: string;
}

/** An architecture the profile applies to, and the other system call ABIs it lets in. */
export interface SeccompArch {
  readonly architecture: string;
  readonly subArchitectures: readonly string[];
}

export interface SeccompProfile {
  readonly defaultAction: string;
  readonly defaultErrnoRet?: number;
  readonly archMap?: readonly SeccompArch[];
  readonly syscalls: readonly SeccompRule[];
}

const EPERM = 1;
const ENOSYS = 38;

/**
 * Denied to every container, whatever its capabilities: namespaces and mounts (escape
 * primitives), the kernel keyring (not namespaced), tracing and other processes' memory,
 * BPF and perf (kernel attack surface), userfaultfd (exploit helper), kernel modules and
 * kexec, raw handles, swap, reboot, clock, and io_uring (a large, frequently exploited
 * surface that Moby's default also dropped). Each name fails with EPERM.
 */
export const DENIED_SYSCALLS: readonly string[] = [
  // namespaces, mounts, root changes
  "unshare",
  "setns",
  "mount",
  "umount",
  "umount2",
  "mount_setattr",
  "move_mount",
  "open_tree",
  "fsopen",
  "fsconfig",
  "fsmount",
  "fspick",
  "pivot_root",
  "chroot",
  // keyring
  "keyctl",
  "add_key",
  "request_key",
  // other processes
  "ptrace",
  "process_vm_readv",
  "process_vm_writev",
  "process_madvise",
  "pidfd_getfd",
  "kcmp",
  // kernel attack surface
  "bpf",
  "perf_event_open",
  "userfaultfd",
  "io_uring_setup",
  "io_uring_enter",
  "io_uring_register",
  "lookup_dcookie",
  "fanotify_init",
  "quotactl",
  "quotactl_fd",
  "syslog",
  "acct",
  "vhangup",
  "iopl",
  "ioperm",
  "nfsservctl",
  "_sysctl",
  "sysfs",
  "uselib",
  "ustat",
  "vm86",
  "vm86old",
  // modules, kexec, power, swap
  "init_module",
  "finit_module",
  "delete_module",
  "create_module",
  "query_module",
  "get_kernel_syms",
  "kexec_load",
  "kexec_file_load",
  "reboot",
  "swapon",
  "swapoff",
  // file handles (the "shocker" escape)
  "open_by_handle_at",
  "name_to_handle_at",
  // host identity and time
  "sethostname",
  "setdomainname",
  "settimeofday",
  "stime",
  "clock_settime",
  "clock_settime64",
  "adjtimex",
  "clock_adjtime",
  "clock_adjtime64",
];

/** CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET (Moby's mask). */
export const CLONE_NAMESPACE_FLAGS = 0x7e020000;

/** The strict profile from a base profile (containers-common's or Moby's default). */
export function strictProfile(base: SeccompProfile): SeccompProfile {
  const denied = new Set([...DENIED_SYSCALLS, "clone", "clone3"]);
  const kept: SeccompRule[] = [];
  for (const rule of base.syscalls) {
    if (rule.action !== "SCMP_ACT_ALLOW") {
      // Deny rules stay, minus names the explicit rule below covers.
      const names = rule.names.filter((name) => !denied.has(name));
      if (names.length > 0) kept.push({ ...rule, names });
      continue;
    }
    // Rules that allow something only with an added capability never apply: Slipway adds
    // none (NET_BIND_SERVICE at most, which unlocks no syscall). Keep the profile simple.
    if ((rule.includes?.caps?.length ?? 0) > 0) continue;
    const names = rule.names.filter((name) => !denied.has(name));
    if (names.length > 0) kept.push({ ...rule, names: [...names].sort() });
  }
  return {
    defaultAction: "SCMP_ACT_ERRNO",
    // ENOSYS for syscalls the profile does not know, so libc falls back to older ones.
    defaultErrnoRet: ENOSYS,
    ...(base.archMap === undefined ? {} : { archMap: base.archMap.map(nativeOnly) }),
    syscalls: [
      {
        names: [...DENIED_SYSCALLS].sort(),
        action: "SCMP_ACT_ERRNO",
        errnoRet: EPERM,
        comment: "slipway: denied to every container",
      },
      ...kept,
      {
        names: ["clone"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }],
        excludes: { arches: ["s390", "s390x"] },
        comment: "slipway: clone without namespace flags (Moby's filter)",
      },
      {
        names: ["clone"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 1, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }],
        includes: { arches: ["s390", "s390x"] },
        comment: "slipway: s390 passes clone's flags second",
      },
      {
        names: ["clone3"],
        action: "SCMP_ACT_ERRNO",
        errnoRet: ENOSYS,
        comment: "slipway: clone3's flags are behind a pointer; ENOSYS makes libc use clone",
      },
    ],
  };
}

/**
 * An architecture with its native system call ABI alone: on x86-64 no i386 (`int 0x80`)
 * and no x32 calls, on arm64 no 32-bit arm ones (the base profile lets those in as
 * "sub-architectures"). The kernel kills a process that makes one (SIGSYS: the filter's
 * action for an architecture it does not name), as systemd's
 * `SystemCallArchitectures=native` does. The compat entry points are a second copy of
 * the kernel's system call surface with a history of their own bugs, and no stack
 * program uses them (every stack is 64-bit). The filter is also a third of the size:
 * runc builds it at every container's init, 14-18 ms less per container start on a
 * 2-core machine (docs/benchmarks.md).
 */
function nativeOnly(arch: SeccompArch): SeccompArch {
  return { architecture: arch.architecture, subArchitectures: [] };
}

/** Names every unconditional allow rule of a profile lets through (for tests and audits). */
export function allowedSyscalls(profile: SeccompProfile): Set<string> {
  const out = new Set<string>();
  for (const rule of profile.syscalls) {
    const conditional =
      (rule.args?.length ?? 0) > 0 ||
      (rule.includes?.caps?.length ?? 0) > 0 ||
      (rule.includes?.arches?.length ?? 0) > 0;
    if (rule.action === "SCMP_ACT_ALLOW" && !conditional) for (const n of rule.names) out.add(n);
  }
  return out;
}
