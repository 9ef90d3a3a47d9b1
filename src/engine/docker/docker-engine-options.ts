import type { ProcessLauncher } from "../../process/launcher.ts";
import type { EngineApi } from "./api-client.ts";
import type { BridgeFirewall } from "./bridge-firewall.ts";
import type { HostGuard } from "./host-guard.ts";
import type { Cidr } from "./subnets.ts";

/** How a DockerEngine is made (docker-engine.ts). */
export interface DockerEngineOptions {
  /** The Docker-API socket (Slipway's own Podman service, or a Docker daemon). */
  readonly socketPath: string;
  /** Value of the io.slipway.instance label: what this installation owns. */
  readonly instance: string;
  /** The range app networks are carved from, e.g. "10.213.0.0/16". */
  readonly networkPool: string;
  /** Ranges the host uses; defaults to reading interfaces and /proc/net/route. */
  readonly hostSubnets?: () => Promise<Cidr[]>;
  /** Tests replace the HTTP client. */
  readonly api?: EngineApi;
  /**
   * Host rules that keep app bridges apart; default iptables. null leaves isolation to
   * the engine alone (unit tests; a Docker daemon with its own isolation chains).
   */
  readonly firewall?: BridgeFirewall | null;
  /**
   * Host ports app containers may reach on the host (the router's HTTP and HTTPS ports);
   * everything else on the host is dropped for them (host-guard.ts). Default none.
   */
  readonly routerPorts?: readonly number[];
  /** The INPUT guard; default iptables/ip6tables, null when firewall is null. */
  readonly hostGuard?: HostGuard | null;
  /**
   * The seccomp profile as SecurityOpt takes it: a path on the engine's host (Podman 4.3's
   * compat API opens the value as a file) or the JSON text (a Docker daemon). Default the
   * path of src/engine/seccomp/slipway.json.
   */
  readonly seccomp?: string;
  /**
   * A static pause binary for network sandboxes (network-sandboxes.ts); default Podman's
   * init, /usr/bin/catatonit. null: no sandboxes, every container sets up its own network.
   */
  readonly pauseBinary?: string | null;
  /** Starts the default firewall's and guard's iptables runs (default: plain spawns). */
  readonly launcher?: ProcessLauncher;
}
