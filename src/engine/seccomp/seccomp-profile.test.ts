import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SECCOMP_PROFILE } from "./profile.ts";
import {
  allowedSyscalls,
  CLONE_NAMESPACE_FLAGS,
  DENIED_SYSCALLS,
  strictProfile,
  type SeccompProfile,
} from "./strict-profile.ts";

/** What issue 4 and SECURITY.md name, at least: escape and kernel-attack primitives. */
const MUST_DENY = [
  "unshare",
  "mount",
  "umount2",
  "setns",
  "keyctl",
  "add_key",
  "request_key",
  "ptrace",
  "bpf",
  "perf_event_open",
  "userfaultfd",
  "kexec_load",
  "kexec_file_load",
  "open_by_handle_at",
  "init_module",
  "finit_module",
  "delete_module",
  "pivot_root",
  "swapon",
  "swapoff",
  "reboot",
];

describe("the shipped seccomp profile (slipway.json)", () => {
  it("denies by default", () => {
    assert.equal(SECCOMP_PROFILE.defaultAction, "SCMP_ACT_ERRNO");
  });

  it("denies every listed syscall with EPERM and allows none of them anywhere", () => {
    const deny = SECCOMP_PROFILE.syscalls.find(
      (rule) => rule.action === "SCMP_ACT_ERRNO" && rule.names.includes("unshare"),
    );
    assert.equal(deny?.errnoRet, 1);
    for (const name of MUST_DENY) {
      assert.ok(deny.names.includes(name), `${name} is denied`);
      for (const rule of SECCOMP_PROFILE.syscalls) {
        if (rule.action === "SCMP_ACT_ALLOW") assert.ok(!rule.names.includes(name), name);
      }
    }
  });

  it("allows clone only without namespace flags, and sends clone3 to ENOSYS", () => {
    const clones = SECCOMP_PROFILE.syscalls.filter((rule) => rule.names.includes("clone"));
    assert.ok(clones.length > 0);
    for (const rule of clones) {
      assert.equal(rule.action, "SCMP_ACT_ALLOW");
      assert.deepEqual(
        rule.args?.map((a) => [a.op, a.value, a.valueTwo]),
        [["SCMP_CMP_MASKED_EQ", CLONE_NAMESPACE_FLAGS, 0]],
      );
    }
    const clone3 = SECCOMP_PROFILE.syscalls.filter((rule) => rule.names.includes("clone3"));
    assert.deepEqual(
      clone3.map((r) => [r.action, r.errnoRet]),
      [["SCMP_ACT_ERRNO", 38]],
    );
  });

  it("still lets ordinary programs run", () => {
    const allowed = allowedSyscalls(SECCOMP_PROFILE);
    for (const name of ["read", "write", "openat", "execve", "epoll_wait", "futex", "mmap"]) {
      assert.ok(allowed.has(name), name);
    }
  });

  it("lets in each architecture's native system call ABI alone (no i386, x32 or arm32)", () => {
    const arches = SECCOMP_PROFILE.archMap ?? [];
    assert.ok(arches.some((a) => a.architecture === "SCMP_ARCH_X86_64"));
    assert.ok(arches.some((a) => a.architecture === "SCMP_ARCH_AARCH64"));
    for (const arch of arches) assert.deepEqual(arch.subArchitectures, [], arch.architecture);
  });

  it("equals what the generator makes of it (idempotent)", () => {
    assert.deepEqual(strictProfile(SECCOMP_PROFILE), SECCOMP_PROFILE);
  });
});

describe("strictProfile", () => {
  const base: SeccompProfile = {
    defaultAction: "SCMP_ACT_ERRNO",
    syscalls: [
      { names: ["read", "unshare", "clone", "clone3", "ptrace"], action: "SCMP_ACT_ALLOW" },
      { names: ["bpf"], action: "SCMP_ACT_ALLOW", includes: { caps: ["CAP_SYS_ADMIN"] } },
      { names: ["swapon", "nice"], action: "SCMP_ACT_ERRNO", errnoRet: 1 },
    ],
  };

  it("takes denied names out of allow rules and drops capability-only allows", () => {
    const profile = strictProfile(base);
    assert.deepEqual([...allowedSyscalls(profile)], ["read"]);
    assert.ok(!profile.syscalls.some((r) => r.includes?.caps !== undefined));
    assert.deepEqual(DENIED_SYSCALLS.includes("swapon"), true);
    assert.ok(profile.syscalls.some((r) => r.names.length === 1 && r.names[0] === "nice"));
  });

  it("keeps the base's architectures without their sub-architectures", () => {
    const profile = strictProfile({
      ...base,
      archMap: [
        { architecture: "SCMP_ARCH_X86_64", subArchitectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"] },
        { architecture: "SCMP_ARCH_AARCH64", subArchitectures: ["SCMP_ARCH_ARM"] },
      ],
    });
    assert.deepEqual(profile.archMap, [
      { architecture: "SCMP_ARCH_X86_64", subArchitectures: [] },
      { architecture: "SCMP_ARCH_AARCH64", subArchitectures: [] },
    ]);
    assert.equal(strictProfile({ ...base }).archMap, undefined);
  });
});
