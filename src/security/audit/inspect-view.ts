/**
 * What the audit reads from a container's inspect document (the engine's compat answer,
 * with Podman's IDMappings and EffectiveCaps merged in), as one typed view. Pure.
 */
/** CIS 5.5: host directories no container may mount. */
export const SENSITIVE_DIRS = ["/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr"];
/** PSS baseline "Sysctls": the safe set. */
export const SAFE_SYSCTLS = new Set([
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
export const ALLOWED_CAPS = new Set(["NET_BIND_SERVICE", "CAP_NET_BIND_SERVICE"]);
export const DEFAULT_BRIDGES = new Set(["bridge", "podman", "docker0", "default"]);

export type Json = Readonly<Record<string, unknown>>;

export function obj(value: unknown): Json {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Json)
    : {};
}
export function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}
export function num(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}
export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}
export function strings(value: unknown): string[] {
  return list(value).filter((v): v is string => typeof v === "string");
}

/** A parsed view of what the audit reads; everything optional is normalised. */
export interface View {
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

export function view(inspect: unknown): View {
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

export function optValue(v: View, key: string): string | undefined {
  for (const opt of v.securityOpt) {
    const match = new RegExp(`^${key}[=:](.*)$`, "s").exec(opt);
    if (match) return match[1] ?? "";
  }
  return undefined;
}

export function noNewPrivileges(v: View): boolean {
  return v.securityOpt.some((o) => /^no-new-privileges(?:[=:]true)?$/.test(o));
}
