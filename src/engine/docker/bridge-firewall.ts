import { DriverError } from "../../domain/errors.ts";
import {
  chainRules,
  checkInterface,
  checkSlipwayBridge,
  commentOf,
  ruleComment,
  sameRule,
  type RuleOwner,
  runFamily,
} from "./iptables.ts";
import { BRIDGE_WILDCARD } from "./subnets.ts";

/**
 * Slipway's own rules that keep app bridges apart. Podman's `isolate` option is not
 * enough on its own: netavark 1.4 puts one shared `FORWARD -j NETAVARK_ISOLATION_1` jump
 * in front of every isolated network and deletes it when *any* isolated network on the
 * host loses its last container, leaving all the others open until the next container
 * starts somewhere. These rules belong to Slipway, are never removed as a side effect,
 * and also cover bridges of other engines on the host.
 *
 *   FORWARD (first): -i sw+ -j SLIPWAY-ISOLATION   (Slipway's bridges only: sw..., subnets.ts)
 *   SLIPWAY-ISOLATION: -i <app bridge> ! -o <app bridge> -j SLIPWAY-ISOLATION-DROP  (one per network,
 *                      comment slipway:<instance>:<network>)
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
  /** Makes sure the network's bridge cannot forward to any other container bridge. Idempotent. */
  isolate(net: IsolatedBridge): Promise<void>;
  /**
   * Removes the network's rule (after the network is gone), found by its comment; with the
   * bridge, also a rule an earlier version wrote without a comment. Idempotent.
   */
  release(net: RuleOwner & { readonly bridge?: string | undefined }): Promise<void>;
}

/** A network's bridge, and whose rule it is. */
export interface IsolatedBridge extends RuleOwner {
  readonly bridge: string;
}

/** Runs `iptables` with these arguments; resolves with stdout, rejects on failure. */
export type IptablesRunner = (args: readonly string[]) => Promise<string>;

export const ISOLATION_CHAIN = "SLIPWAY-ISOLATION";
export const DROP_CHAIN = "SLIPWAY-ISOLATION-DROP";
/** Interface patterns of container bridges: Slipway's own, Podman's, Docker's, CNI's. */
export const CONTAINER_BRIDGES = [BRIDGE_WILDCARD, "podman+", "docker+", "br-+", "cni+"] as const;
/** The FORWARD rule that sends Slipway's bridges' traffic to the chain (after `-A FORWARD`). */
export const ISOLATION_JUMP = ["-i", BRIDGE_WILDCARD, "-j", ISOLATION_CHAIN] as const;

/** The per-bridge rule, as arguments after `-A SLIPWAY-ISOLATION`. */
export function bridgeRule(net: IsolatedBridge): string[] {
  checkSlipwayBridge(net.bridge);
  const tag = ["-m", "comment", "--comment", ruleComment(net)];
  return ["-i", net.bridge, "!", "-o", net.bridge, ...tag, "-j", DROP_CHAIN];
}

/** The rule as versions before 30 Nov 2026 wrote it, without a comment. */
function untaggedRule(bridge: string): string[] {
  checkInterface(bridge);
  return ["-i", bridge, "!", "-o", bridge, "-j", DROP_CHAIN];
}

/**
 * The iptables commands that isolate a bridge, given the filter table as `iptables -S`
 * prints it: only what is missing, so a converged table needs none. Pure.
 */
export function isolationCommands(table: string, net: IsolatedBridge): string[][] {
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
  const rule = bridgeRule(net);
  const present = chainRules(table, ISOLATION_CHAIN);
  if (!present.some((r) => sameRule(r, rule))) commands.push(["-A", ISOLATION_CHAIN, ...rule]);
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
  // Earlier forms (a jump for every packet, the bridge's rule without a comment), removed
  // once ours are in place.
  for (const line of forward) {
    if (line !== jump && line.endsWith(` -j ${ISOLATION_CHAIN}`)) {
      commands.push(["-D", ...line.split(" ").slice(1)]);
    }
  }
  const untagged = untaggedRule(net.bridge);
  for (const r of present) if (sameRule(r, untagged)) commands.push(["-D", ISOLATION_CHAIN, ...r]);
  return commands;
}

/**
 * The commands that remove a network's rules (every copy): those with its comment, and
 * with the bridge, the same rule without a comment (an earlier version's). Pure.
 */
export function releaseCommands(
  table: string,
  net: RuleOwner & { readonly bridge?: string | undefined },
): string[][] {
  const comment = ruleComment(net);
  const untagged = net.bridge === undefined ? undefined : untaggedRule(net.bridge);
  return chainRules(table, ISOLATION_CHAIN)
    .filter((r) => commentOf(r) === comment || (untagged !== undefined && sameRule(r, untagged)))
    .map((r) => ["-D", ISOLATION_CHAIN, ...r]);
}

/** The firewall through the iptables command: one read of the table, then what is missing. */
export class IptablesBridgeFirewall implements BridgeFirewall {
  readonly #run: IptablesRunner;

  constructor(run: IptablesRunner = runIptables) {
    this.#run = run;
  }

  async isolate(net: IsolatedBridge): Promise<void> {
    try {
      await this.#apply(isolationCommands(await this.#run(["-S"]), net));
    } catch (error) {
      // Another installation may have changed the table meanwhile (a chain created
      // twice): plan again from what is there now.
      if (!(error instanceof DriverError)) throw error;
      await this.#apply(isolationCommands(await this.#run(["-S"]), net));
    }
  }

  async release(net: RuleOwner & { readonly bridge?: string | undefined }): Promise<void> {
    await this.#apply(releaseCommands(await this.#run(["-S"]), net));
  }

  async #apply(commands: readonly string[][]): Promise<void> {
    for (const command of commands) await this.#run(command);
  }
}

/** Runs `iptables -w` (the one on PATH, as netavark does) with the arguments. */
export function runIptables(args: readonly string[]): Promise<string> {
  return runFamily("ipv4", args);
}
