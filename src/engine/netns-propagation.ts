import { execFile } from "node:child_process";
import { mkdir, readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { DriverError } from "../domain/errors.ts";

/**
 * Where Podman (netavark) keeps a container's network namespace: a file that the
 * namespace is bind-mounted on. Each container's conmon runs in a mount namespace of its
 * own, and when the container's process exits by itself it runs the container's cleanup
 * (`podman container cleanup`: the network teardown) there. On a host whose mounts do
 * not propagate (no systemd, which makes `/` shared at boot: containers, minimal VMs),
 * the namespace's mount was not visible in conmon's namespace (seen in its mountinfo);
 * the cleanup found a plain file, said "unknown FS magic", and Podman 4.3 recorded the
 * network as torn down without tearing it down. Every container that exits on its own
 * (one-offs, release phases, crashes) then left its veth, its namespace, its firewall
 * rules and its aardvark-dns entry behind (a name on the app's network answering with a
 * dead address): about thirty per run of the tests, and an aardvark-dns busy with
 * hundreds of dead networks. Making the directory a shared mount point, as `ip netns`
 * does, lets those mounts reach conmon's namespaces (the test in docker-engine.test.ts
 * fails without it on such a host).
 */
export const NETNS_DIR = "/run/netns";

/**
 * Whether `path` is a mount point with shared propagation, per /proc/self/mountinfo
 * (fields: id, parent, dev, root, mount point, options, optional fields..., "-", ...).
 * Pure.
 */
export function isSharedMountPoint(mountinfo: string, path: string): boolean {
  // The last mount on a path is the one lookups see.
  const mounts = mountinfo.split("\n").filter((line) => line.split(" ")[4] === path);
  const top = mounts.at(-1);
  if (top === undefined) return false;
  const fields = top.split(" ");
  const optional = fields.slice(6, fields.indexOf("-"));
  return optional.some((field) => field.startsWith("shared:"));
}

export interface SharedNetnsDeps {
  readonly readMountinfo: () => Promise<string>;
  /** Runs mount(8) with these arguments. */
  readonly mount: (args: readonly string[]) => Promise<void>;
  readonly mkdir: (path: string) => Promise<void>;
}

const realDeps: SharedNetnsDeps = {
  readMountinfo: () => readFile("/proc/self/mountinfo", "utf8"),
  mount: async (args) => {
    await promisify(execFile)("mount", [...args], { timeout: 10_000 });
  },
  mkdir: async (path) => {
    await mkdir(path, { recursive: true, mode: 0o755 });
  },
};

/**
 * Makes NETNS_DIR a shared mount point unless it is one: bound onto itself with what is
 * mounted below it (a recursive bind, so namespaces already there stay reachable), then
 * marked shared. Idempotent; for root only (rootless Podman keeps its namespaces
 * elsewhere). Returns whether it changed anything.
 */
export async function ensureSharedNetnsDir(
  deps: SharedNetnsDeps = realDeps,
  dir = NETNS_DIR,
): Promise<boolean> {
  if (isSharedMountPoint(await deps.readMountinfo(), dir)) return false;
  try {
    await deps.mkdir(dir);
    if (!(await deps.readMountinfo()).split("\n").some((line) => line.split(" ")[4] === dir)) {
      await deps.mount(["--rbind", dir, dir]);
    }
    await deps.mount(["--make-rshared", dir]);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new DriverError("podman", `cannot make ${dir} a shared mount point: ${message}`, {
      cause: error,
    });
  }
  return true;
}
