import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { DriverError } from "../../domain/errors.ts";
import { BRIDGE_PREFIX } from "./subnets.ts";

/**
 * Slipway's own rules that keep app bridges apart. Podman's `isolate` option is not
 * enough on its own: netavark 1.4 puts one shared `FORWARD -j NETAVARK_ISOLATION_1` jump
 * in front of every isolated network and deletes it when *any* isolated network on the
 * host loses its last container, leaving all the others open until the next container
 * starts somewhere. These rules belong to Slipway, are never removed as a side effect,
 * and also cover bridges of other engines on the host.
 *
 *   FORWARD (first): -i sw+ -j SLIPWAY-ISOLATION   (Slipway's bridges only: sw..., subnets.ts)
 *   SLIPWAY-ISOLATION: -i <app bridge> ! -o <app bridge> -j SLIPWAY-ISOLATION-DROP  (one per network)
 *   SLIPWAY-ISOLATION-DROP: -o sw+ -j DROP, -o podman+ -j DROP, ...   (container bridges)
 *
 * Traffic from an app to the internet, and from the host to an app, does not match.
 * Forwarded traffic from anywhere else never walks the per-bridge rules (one per network,
 * so as many as the host has apps); an earlier installation's jump for every packet
 * (`-A FORWARD -j SLIPWAY-ISOLATION`) is replaced. The
 * chains and the jump stay when the last network goes (like netavark's own): other
 * installations on the host share them.
 */
export interface BridgeFirewall {
  /** Makes sure the bridge cannot forward to any other container bridge. Idempotent. */
  isolate(bridge: string): Promise<void>;
  /** Removes the bridge's rule (after its network is gone). Idempotent. */
  release(bridge: string): Promise<void>;
}

/** Runs `iptables` with these arguments; resolves with stdout, rejects on failure. */
export type IptablesRunner = (args: readonly string[]) => Promise<string>;

export const ISOLATION_CHAIN = "SLIPWAY-ISOLATION";
export const DROP_CHAIN = "SLIPWAY-ISOLATION-DROP";
/** Interface patterns of container bridges: Slipway's own, Podman's, Docker's, CNI's. */
export const CONTAINER_BRIDGES = [
  `${BRIDGE_PREFIX}+`,
  "podman+",
  "docker+",
  "br-+",
  "cni+",
] as const;
/** The FORWARD rule that sends Slipway's bridges' traffic to the chain (after `-A FORWARD`). */
export const ISOLATION_JUMP = ["-i", `${BRIDGE_PREFIX}+`, "-j", ISOLATION_CHAIN] as const;

/** The per-bridge rule, as iptables prints it after `-A SLIPWAY-ISOLATION`. */
export function bridgeRule(bridge: string): string[] {
  if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(bridge)) {
    throw new DriverError("firewall", `"${bridge}" is not an interface name`);
  }
  return ["-i", bridge, "!", "-o", bridge, "-j", DROP_CHAIN];
}

/**
 * The iptables commands that isolate a bridge, given the filter table as `iptables -S`
 * prints it: only what is missing, so a converged table needs none. Pure.
 */
export function isolationCommands(table: string, bridge: string): string[][] {
  const lines = new Set(table.split("\n"));
  const commands: string[][] = [];
  for (const chain of [ISOLATION_CHAIN, DROP_CHAIN]) {
    if (!lines.has(`-N ${chain}`)) commands.push(["-N", chain]);
  }
  for (const pattern of CONTAINER_BRIDGES) {
    const rule = ["-o", pattern, "-j", "DROP"];
    if (!lines.has(`-A ${DROP_CHAIN} ${rule.join(" ")}`))
      commands.push(["-A", DROP_CHAIN, ...rule]);
  }
  const rule = bridgeRule(bridge);
  if (!lines.has(`-A ${ISOLATION_CHAIN} ${rule.join(" ")}`)) {
    commands.push(["-A", ISOLATION_CHAIN, ...rule]);
  }
  const forward = table.split("\n").filter((line) => line.startsWith("-A FORWARD "));
  const jump = `-A FORWARD ${ISOLATION_JUMP.join(" ")}`;
  const ours = forward.indexOf(jump);
  // An accepting rule before the jump (netavark's NETAVARK_FORWARD accepts everything a
  // subnet sends) would let packets through before they reach our chain.
  const shadowed =
    ours < 0 ||
    forward.slice(0, ours).some((line) => / -j (ACCEPT|NETAVARK_FORWARD|DOCKER\S*)$/.test(line));
  if (shadowed) {
    if (ours >= 0) commands.push(["-D", "FORWARD", ...ISOLATION_JUMP]);
    commands.push(["-I", "FORWARD", "1", ...ISOLATION_JUMP]);
  }
  // Other jumps to the chain (an earlier form), removed once ours is in place.
  for (const line of forward) {
    if (line !== jump && line.endsWith(` -j ${ISOLATION_CHAIN}`)) {
      commands.push(["-D", ...line.split(" ").slice(1)]);
    }
  }
  return commands;
}

/** The commands that remove a bridge's rule (every copy of it). Pure. */
export function releaseCommands(table: string, bridge: string): string[][] {
  const line = `-A ${ISOLATION_CHAIN} ${bridgeRule(bridge).join(" ")}`;
  return table
    .split("\n")
    .filter((l) => l === line)
    .map(() => ["-D", ISOLATION_CHAIN, ...bridgeRule(bridge)]);
}

/** The firewall through the iptables command: one read of the table, then what is missing. */
export class IptablesBridgeFirewall implements BridgeFirewall {
  readonly #run: IptablesRunner;

  constructor(run: IptablesRunner = runIptables) {
    this.#run = run;
  }

  async isolate(bridge: string): Promise<void> {
    try {
      await this.#apply(isolationCommands(await this.#run(["-S"]), bridge));
    } catch (error) {
      // Another installation may have changed the table meanwhile (a chain created
      // twice): plan again from what is there now.
      if (!(error instanceof DriverError)) throw error;
      await this.#apply(isolationCommands(await this.#run(["-S"]), bridge));
    }
  }

  async release(bridge: string): Promise<void> {
    await this.#apply(releaseCommands(await this.#run(["-S"]), bridge));
  }

  async #apply(commands: readonly string[][]): Promise<void> {
    for (const command of commands) await this.#run(command);
  }
}

/** Runs `iptables -w` (the one on PATH, as netavark does) with the arguments. */
export async function runIptables(args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)("iptables", ["-w", ...args], {
      timeout: 30_000,
    });
    return stdout;
  } catch (error) {
    const { code, stderr } = error as { code?: unknown; stderr?: unknown };
    const detail = typeof stderr === "string" ? stderr.trim() : "";
    throw new DriverError(
      "firewall",
      `iptables ${args.join(" ")} failed (exit code ${String(code)}): ${detail}`,
      { cause: error },
    );
  }
}
