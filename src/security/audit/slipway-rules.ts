import { list, num, obj, optValue, str } from "./inspect-view.ts";
import { fail, hostPaths, ok, pass } from "./checks.ts";
import type { Rule } from "./checks.ts";

/** Slipway's baseline beyond both (docs/security.md). */
export const SLIPWAY_RULES: readonly Rule[] = [
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
