import { join } from "node:path";
import { SECCOMP_PROFILE_PATH } from "./seccomp/profile.ts";

/**
 * Where Slipway's own Podman keeps things, and the two configuration files that tell it
 * so. Pure. Everything of one installation lives under its state and run directories,
 * so two installations on one host share nothing but the kernel (and netavark's
 * host-wide /run/containers/networks, which is why network names carry the instance).
 */
export interface PodmanLayout {
  readonly stateDir: string;
  readonly runDir: string;
  readonly containersConf: string;
  readonly storageConf: string;
  /** Images, layers, containers' writable layers, volumes. */
  readonly graphRoot: string;
  readonly networkConfigDir: string;
  /** Scratch space for image imports and commits (Podman's default is /var/tmp). */
  readonly imageCopyTmpDir: string;
  readonly eventsLog: string;
  readonly serviceLog: string;
  /**
   * Runtime state (pid files, locks, mounts). Kept short: the runtime puts sockets below
   * it, and unix socket paths are limited to 107 bytes.
   */
  readonly runRoot: string;
  /** Podman's tmp_dir: exit files, "alive" markers. */
  readonly tmpDir: string;
  readonly socketPath: string;
  readonly pidFile: string;
}

/** The layout for one installation. */
export function podmanLayout(stateDir: string, runDir: string): PodmanLayout {
  return {
    stateDir,
    runDir,
    containersConf: join(stateDir, "containers.conf"),
    storageConf: join(stateDir, "storage.conf"),
    graphRoot: join(stateDir, "storage"),
    networkConfigDir: join(stateDir, "networks"),
    imageCopyTmpDir: join(stateDir, "tmp"),
    eventsLog: join(stateDir, "events.log"),
    serviceLog: join(stateDir, "podman-service.log"),
    runRoot: join(runDir, "podman"),
    tmpDir: join(runDir, "podman-tmp"),
    socketPath: join(runDir, "podman.sock"),
    pidFile: join(runDir, "podman.pid"),
  };
}

/**
 * containers.conf. runc, because crun fails on this kernel; cgroupfs, because there is no
 * systemd to delegate to; file events, because there is no journal; explicit ulimits,
 * because the defaults would inherit the service's own; Slipway's seccomp profile, because
 * Podman's default one allows unshare, mount, setns, keyctl and ptrace.
 */
export function renderContainersConf(layout: PodmanLayout, runtime: string): string {
  return [
    "# Written by Slipway; rewritten at every start.",
    "[containers]",
    'default_ulimits = ["nofile=1024:1024", "nproc=512:512"]',
    // Every container of this service gets Slipway's profile, also one created without
    // the driver's SecurityOpt (the podman CLI in tests and cleanup).
    `seccomp_profile = ${toml(SECCOMP_PROFILE_PATH)}`,
    // Defaults for what the driver does not create itself: the engine builder's RUN steps
    // (Dockerfile apps) get no capabilities at all, not even in their bounding set, so a
    // setuid binary in a base image cannot hand one back. The driver's own containers
    // drop every capability and set no-new-privileges explicitly.
    "no_new_privileges = true",
    "default_capabilities = []",
    "",
    "[engine]",
    `runtime = ${toml(runtime)}`,
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    `events_logfile_path = ${toml(layout.eventsLog)}`,
    // Podman rotates it past this size (the old file is deleted): events are only read live.
    'events_logfile_max_size = "4m"',
    `tmp_dir = ${toml(layout.tmpDir)}`,
    `image_copy_tmp_dir = ${toml(layout.imageCopyTmpDir)}`,
    "",
    "[network]",
    'network_backend = "netavark"',
    `network_config_dir = ${toml(layout.networkConfigDir)}`,
    "",
  ].join("\n");
}

/** storage.conf: overlay under the state directory, runtime state under the run directory. */
export function renderStorageConf(layout: PodmanLayout): string {
  return [
    "# Written by Slipway; rewritten at every start.",
    "[storage]",
    'driver = "overlay"',
    `graphroot = ${toml(layout.graphRoot)}`,
    `runroot = ${toml(layout.runRoot)}`,
    "",
  ].join("\n");
}

/** The environment that points podman (service or CLI) at this installation's files. */
export function podmanEnv(layout: PodmanLayout): Record<string, string> {
  return {
    CONTAINERS_CONF: layout.containersConf,
    CONTAINERS_STORAGE_CONF: layout.storageConf,
  };
}

/** A TOML basic string; JSON's escapes are a subset of TOML's. */
function toml(value: string): string {
  return JSON.stringify(value);
}
