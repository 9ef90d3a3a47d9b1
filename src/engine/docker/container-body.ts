import { ValidationError } from "../../domain/errors.ts";
import type { ContainerSpec, VolumeMount } from "../engine.ts";
import { SECCOMP_PROFILE_PATH } from "../seccomp/profile.ts";

/**
 * The security baseline (docs: SECURITY.md, "Containers"), as the body of
 * POST /containers/create. Pure and total: every container Slipway creates goes through
 * here, and nothing in ContainerSpec can ask for privileges, host namespaces, host paths,
 * devices, published ports or capabilities — those fields are simply never written.
 *
 * Written for Podman's Docker-compatible API: `UsernsMode: "auto:..."` and the `U` volume
 * option are Podman's (a Docker daemon isolates users with daemon-wide userns-remap).
 */
export interface ContainerCreateBody {
  readonly Image: string;
  readonly Cmd?: readonly string[];
  readonly Entrypoint?: readonly string[];
  readonly Env: readonly string[];
  readonly Labels: Readonly<Record<string, string>>;
  readonly WorkingDir?: string;
  readonly User?: string;
  /** An interactive one-off's terminal and stdin, or a build container's stdin alone. */
  readonly Tty?: boolean;
  readonly OpenStdin?: boolean;
  readonly StdinOnce?: boolean;
  readonly AttachStdin?: boolean;
  readonly AttachStdout?: boolean;
  readonly AttachStderr?: boolean;
  readonly HostConfig: HostConfig;
  readonly NetworkingConfig: {
    readonly EndpointsConfig: Readonly<Record<string, { readonly Aliases: readonly string[] }>>;
  };
}

export interface HostConfig {
  /** Its own namespace, or the one of the network sandbox it joins (joinSandbox). */
  readonly UsernsMode: typeof USERNS_MODE | `container:${string}`;
  readonly ReadonlyRootfs: true;
  readonly Privileged: false;
  readonly CapDrop: readonly ["ALL"];
  readonly CapAdd: readonly [];
  /** no-new-privileges, and Slipway's seccomp profile as JSON text (Docker API form). */
  readonly SecurityOpt: readonly ["no-new-privileges", `seccomp=${string}`];
  readonly Memory: number;
  readonly MemorySwap: number;
  readonly NanoCpus: number;
  readonly PidsLimit: number;
  readonly Ulimits: readonly {
    readonly Name: string;
    readonly Soft: number;
    readonly Hard: number;
  }[];
  readonly Tmpfs: Readonly<Record<string, string>>;
  readonly Init: true;
  /** "none": no IPC namespace mount (/dev/shm) at all; a network sandbox needs none. */
  readonly IpcMode?: "none";
  readonly RestartPolicy: { readonly Name: "no" };
  readonly NetworkMode: string;
  readonly Binds: readonly string[];
  readonly PublishAllPorts: false;
  readonly LogConfig: {
    readonly Type: "json-file";
    readonly Config: { readonly "max-size": string };
  };
}

/**
 * A private user namespace of 65536 ids from the host's `containers` subordinate range.
 * The explicit size matters: without it Podman sizes the namespace from the highest id
 * found in the image, and Podman 4.3 commits a user-namespaced container's files with
 * their host ids (2^31 and up), so an image committed from a container could never run
 * again. With a fixed size such files appear as "nobody" and their permission bits decide.
 */
export const USERNS_MODE = "auto:size=65536";
/** Podman's floor for a container's memory; below it the runtime refuses to start. */
const MIN_MEMORY_BYTES = 6 * 1024 * 1024;
/**
 * Output kept per container before the log file is truncated: a chatty or hostile app
 * must not fill the disk. (Podman's log_size_max in containers.conf does not reach
 * containers created through the compat API; this does, and Docker reads it too.)
 */
const LOG_MAX_SIZE = "16m";
/** /run and /var/tmp: room for pid files and sockets, not for data. */
const SMALL_TMPFS_BYTES = 16 * 1024 * 1024;
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/**
 * Builds the create body for a spec; labels must already include the instance label.
 * `seccomp` is the profile as the engine takes it: Podman 4.3's compat API reads a path
 * on the engine's host (it opens the value as a file), a Docker daemon takes the JSON text.
 */
export function containerCreateBody(
  spec: ContainerSpec,
  labels: Readonly<Record<string, string>>,
  seccomp: string = SECCOMP_PROFILE_PATH,
): ContainerCreateBody {
  const problems = specProblems(spec);
  if (problems.length > 0) {
    throw new ValidationError(`container spec "${spec.name}" is not acceptable`, problems);
  }
  const { limits } = spec;
  const tmp = spec.execTmp === true ? "rw,exec,nosuid,nodev" : "rw,noexec,nosuid,nodev";
  const small = `rw,noexec,nosuid,nodev,size=${Math.min(SMALL_TMPFS_BYTES, limits.tmpBytes)}`;
  return {
    Image: spec.image,
    ...(spec.cmd === undefined ? {} : { Cmd: spec.cmd }),
    ...(spec.entrypoint === undefined ? {} : { Entrypoint: spec.entrypoint }),
    Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
    Labels: labels,
    ...(spec.workingDir === undefined ? {} : { WorkingDir: spec.workingDir }),
    ...(spec.user === undefined ? {} : { User: spec.user }),
    ...(spec.tty === true
      ? {
          Tty: true,
          OpenStdin: true,
          StdinOnce: true,
          AttachStdin: true,
          AttachStdout: true,
          AttachStderr: true,
        }
      : spec.stdin === true
        ? { OpenStdin: true, StdinOnce: false, AttachStdin: true }
        : {}),

    HostConfig: {
      UsernsMode: USERNS_MODE,
      ReadonlyRootfs: true,
      Privileged: false,
      CapDrop: ["ALL"],
      CapAdd: [],
      // Podman's default profile allows unshare, mount, setns, keyctl and ptrace; ours
      // does not (src/engine/seccomp/README.md).
      SecurityOpt: ["no-new-privileges", `seccomp=${seccomp}`],
      // Equal limits mean no swap at all: a container over its memory is killed, not slowed.
      Memory: limits.memoryBytes,
      MemorySwap: limits.memoryBytes,
      NanoCpus: Math.round(limits.cpus * 1e9),
      PidsLimit: limits.pids,
      Ulimits: [
        { Name: "nofile", Soft: 1024, Hard: 1024 },
        { Name: "nproc", Soft: 512, Hard: 512 },
      ],
      // Podman mounts its own unsized, exec-able tmpfs on /run and /var/tmp for read-only
      // containers; naming them here replaces those, so noexec on /tmp is not a formality.
      Tmpfs: { "/tmp": `${tmp},size=${limits.tmpBytes}`, "/run": small, "/var/tmp": small },
      Init: true,
      RestartPolicy: { Name: "no" },
      NetworkMode: spec.network,
      Binds: (spec.volumes ?? []).map(bind),
      PublishAllPorts: false,
      LogConfig: { Type: "json-file", Config: { "max-size": LOG_MAX_SIZE } },
    },
    NetworkingConfig: {
      EndpointsConfig: { [spec.network]: { Aliases: spec.networkAliases ?? [] } },
    },
  };
}

/**
 * The body of a container that joins a started network sandbox (network-sandboxes.ts)
 * instead of getting a network and a user namespace of its own: it enters the sandbox's
 * (its address, its network aliases, its id mapping) and keeps every other part of the
 * baseline. Pure.
 */
export function joinSandbox(body: ContainerCreateBody, sandboxId: string): ContainerCreateBody {
  if (!/^[0-9a-f]{64}$/.test(sandboxId)) {
    throw new ValidationError(`sandbox id "${sandboxId}" is not a full container id`);
  }
  return {
    ...body,
    HostConfig: {
      ...body.HostConfig,
      UsernsMode: `container:${sandboxId}`,
      NetworkMode: `container:${sandboxId}`,
    },
    NetworkingConfig: { EndpointsConfig: {} },
  };
}

/**
 * A named volume in the Binds syntax, which alone carries Podman's `U` option: with
 * UsernsMode auto each container gets its own host uid range, so a volume written by one
 * container belongs to "nobody" in the next; `U` hands it to the new container's user
 * when it starts. The name pattern has no "/", so a bind can never name a host path.
 */
function bind(mount: VolumeMount): string {
  return `${mount.volume}:${mount.target}:${mount.readOnly ? "ro" : "rw"},U`;
}

/** Everything wrong with a spec, as readable sentences (empty when acceptable). */
export function specProblems(spec: ContainerSpec): string[] {
  const problems: string[] = [];
  const { limits } = spec;
  if (!NAME.test(spec.name)) problems.push(`name "${spec.name}" must match ${NAME.source}`);
  if (spec.image.trim() === "") problems.push("image must not be empty");
  if (!NAME.test(spec.network))
    problems.push(`network "${spec.network}" must match ${NAME.source}`);
  for (const alias of spec.networkAliases ?? []) {
    if (!NAME.test(alias)) problems.push(`network alias "${alias}" must match ${NAME.source}`);
  }
  if (!Number.isSafeInteger(limits.memoryBytes) || limits.memoryBytes < MIN_MEMORY_BYTES) {
    problems.push(`memoryBytes must be a whole number of at least ${MIN_MEMORY_BYTES}`);
  }
  if (!Number.isFinite(limits.cpus) || limits.cpus <= 0) problems.push("cpus must be above 0");
  if (!Number.isSafeInteger(limits.pids) || limits.pids < 1)
    problems.push("pids must be at least 1");
  if (!Number.isSafeInteger(limits.tmpBytes) || limits.tmpBytes < 1) {
    problems.push("tmpBytes must be a whole number above 0");
  }
  for (const key of Object.keys(spec.env)) {
    if (!/^[^=\0]+$/.test(key)) problems.push(`environment variable name "${key}" is not valid`);
  }
  for (const mount of spec.volumes ?? []) {
    if (!NAME.test(mount.volume))
      problems.push(`volume "${mount.volume}" must match ${NAME.source}`);
    if (!/^\/[^:,\0]*$/.test(mount.target)) {
      problems.push(`volume target "${mount.target}" must be an absolute path without ":" or ","`);
    }
  }
  return problems;
}
