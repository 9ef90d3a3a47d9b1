import { DriverError } from "../../domain/errors.ts";
import { allOrFirstError } from "./all-or-first-error.ts";
import {
  chainRules,
  checkSlipwayBridge,
  commentOf,
  ruleComment,
  sameRule,
  type RuleOwner,
  runFamily,
  type Family,
  type FamilyRunner,
} from "./iptables.ts";
import { BRIDGE_WILDCARD } from "./subnets.ts";

/**
 * Slipway's INPUT rules: what an app's containers may reach on the host itself. The
 * FORWARD rules (bridge-firewall.ts) keep apps apart; traffic from a container to any of
 * the host's own addresses (the bridge gateway, the host's LAN address, ...) is INPUT and
 * would reach every host service listening on 0.0.0.0 or [::].
 *
 *   iptables  INPUT:         -i sw+ -j SLIPWAY-INPUT  (first; only Slipway's bridges enter)
 *             SLIPWAY-INPUT: established/related             ACCEPT  (answers; shared, first)
 *             per app bridge: -i BR -d GATEWAY udp/tcp 53     ACCEPT  (aardvark-dns)
 *                             -i BR tcp to the router's ports ACCEPT
 *                             -i BR                           DROP
 *   ip6tables INPUT and FORWARD: -i sw+ -j SLIPWAY-INPUT / SLIPWAY-FORWARD, where
 *             per app bridge: -i BR DROP
 *
 * Every packet the host receives crosses INPUT, and the chain grows with the number of
 * apps: the jump matches Slipway's bridges only (all are named "sw..."; subnets.ts), so
 * the router's own traffic (clients on loopback or the LAN) never walks the app rules,
 * and the shared first rule lets an app's answers to the router (the bulk of what its
 * bridge carries) through after one conntrack lookup instead of every other app's rules.
 *
 * App networks have no IPv6 (EnableIPv6 false), but the kernel still gives every
 * interface a link-local fe80:: address, so a container could reach host services
 * listening on [::] through the bridge's link-local address: IPv6 from app bridges is
 * dropped outright. Every per-bridge rule carries the comment `slipway:<instance>:<network>`;
 * the rules of a network are found, replaced and removed by that comment alone. The jumps
 * and the shared rule stay, like the chains.
 */
export interface HostGuardNetwork extends RuleOwner {
  readonly bridge: string;
  /** The bridge's IPv4 address, where aardvark-dns answers. */
  readonly gateway: string;
}

export const INPUT_CHAIN = "SLIPWAY-INPUT";
export const FORWARD6_CHAIN = "SLIPWAY-FORWARD";
/** The shared first rule of the IPv4 chain: answers to connections the host opened. */
export const ANSWERS_RULE = [
  "-m",
  "conntrack",
  "--ctstate",
  "RELATED,ESTABLISHED",
  "-m",
  "comment",
  "--comment",
  "slipway:answers",
  "-j",
  "ACCEPT",
] as const;

/** The rules (arguments after `-A CHAIN`) a network needs, by family and chain. Pure. */
export function guardRules(
  net: HostGuardNetwork,
  routerPorts: readonly number[],
): { family: Family; chain: string; rule: string[] }[] {
  checkSlipwayBridge(net.bridge);
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(net.gateway)) {
    throw new DriverError("firewall", `"${net.gateway}" is not an IPv4 address`);
  }
  const tag = ["-m", "comment", "--comment", ruleComment(net)];
  const input = (rule: string[]): { family: Family; chain: string; rule: string[] } => ({
    family: "ipv4",
    chain: INPUT_CHAIN,
    rule: ["-i", net.bridge, ...rule.slice(0, -2), ...tag, ...rule.slice(-2)],
  });
  const ports = [...new Set(routerPorts)].filter((p) => Number.isInteger(p) && p > 0 && p < 65536);
  return [
    input(["-d", `${net.gateway}/32`, "-p", "udp", "-m", "udp", "--dport", "53", "-j", "ACCEPT"]),
    input(["-d", `${net.gateway}/32`, "-p", "tcp", "-m", "tcp", "--dport", "53", "-j", "ACCEPT"]),
    ...(ports.length === 0
      ? []
      : [input(["-p", "tcp", "-m", "multiport", "--dports", ports.join(","), "-j", "ACCEPT"])]),
    input(["-j", "DROP"]),
    { family: "ipv6", chain: INPUT_CHAIN, rule: ["-i", net.bridge, ...tag, "-j", "DROP"] },
    { family: "ipv6", chain: FORWARD6_CHAIN, rule: ["-i", net.bridge, ...tag, "-j", "DROP"] },
  ];
}

/** The rules of `chain` that carry exactly this comment, as arguments after `-A CHAIN`. */
function taggedRules(table: string, chain: string, comment: string): string[][] {
  return chainRules(table, chain).filter((rule) => commentOf(rule) === comment);
}

/**
 * The commands for one family that make its table hold exactly the network's rules, given
 * the table as `-S` prints it. A network whose tagged rules are all there (same count,
 * same chain) costs nothing; otherwise its rules are deleted and appended again in order,
 * since the DROP must come last. The chains and their jumps (first in INPUT/FORWARD) are
 * created when missing. Pure.
 */
export function guardCommands(
  table: string,
  family: Family,
  net: HostGuardNetwork,
  routerPorts: readonly number[],
): string[][] {
  const wanted = guardRules(net, routerPorts).filter((r) => r.family === family);
  const comment = ruleComment(net);
  const lines = table.split("\n");
  const commands: string[][] = [];
  const chains =
    family === "ipv4"
      ? [["INPUT", INPUT_CHAIN]]
      : [
          ["INPUT", INPUT_CHAIN],
          ["FORWARD", FORWARD6_CHAIN],
        ];
  for (const [parent = "", chain = ""] of chains) {
    if (!lines.includes(`-N ${chain}`)) commands.push(["-N", chain]);
    commands.push(...firstRuleCommands(table, parent, ["-i", BRIDGE_WILDCARD, "-j", chain]));
    if (family === "ipv4" && chain === INPUT_CHAIN) {
      commands.push(...firstRuleCommands(table, chain, ANSWERS_RULE));
    }
    const mine = wanted.filter((r) => r.chain === chain);
    const present = taggedRules(table, chain, comment);
    const drops = present.filter((rule) => rule.at(-1) === "DROP").length;
    const converged =
      present.length === mine.length && drops === 1 && present.at(-1)?.at(-1) === "DROP";
    if (converged) continue;
    for (const rule of present) commands.push(["-D", chain, ...rule]);
    for (const { rule } of mine) commands.push(["-A", chain, ...rule]);
  }
  return commands;
}

/**
 * Makes `rule` the first of `chain`: nothing when it is, else deletes it (and any other
 * jump to the same target, such as an earlier form of it) and inserts it first. Pure.
 */
function firstRuleCommands(table: string, chain: string, rule: readonly string[]): string[][] {
  const present = chainRules(table, chain);
  if (present[0] !== undefined && sameRule(present[0], rule)) return [];
  const target = rule.at(-1);
  const stale = present.filter(
    (args) =>
      sameRule(args, rule) || (target?.startsWith("SLIPWAY-") === true && args.at(-1) === target),
  );
  return [...stale.map((args) => ["-D", chain, ...args]), ["-I", chain, "1", ...rule]];
}

/** The commands that remove every rule carrying the network's comment, in one family. Pure. */
export function unguardCommands(table: string, instance: string, network: string): string[][] {
  const comment = ruleComment({ instance, network });
  return [INPUT_CHAIN, FORWARD6_CHAIN].flatMap((chain) =>
    taggedRules(table, chain, comment).map((rule) => ["-D", chain, ...rule]),
  );
}

/** Applies the guard through iptables and ip6tables. */
export class HostGuard {
  readonly #run: FamilyRunner;
  readonly #routerPorts: readonly number[];

  constructor(routerPorts: readonly number[], run: FamilyRunner = runFamily) {
    this.#routerPorts = routerPorts;
    this.#run = run;
  }

  /** Both families at once: they are separate tables (each read and change takes 5-10 ms). */
  async guard(net: HostGuardNetwork): Promise<void> {
    await allOrFirstError(
      (["ipv4", "ipv6"] as const).map(async (family) => {
        try {
          await this.#apply(family, (t) => guardCommands(t, family, net, this.#routerPorts));
        } catch (error) {
          // Another installation changed the table meanwhile: plan again from what is there.
          if (!(error instanceof DriverError)) throw error;
          await this.#apply(family, (t) => guardCommands(t, family, net, this.#routerPorts));
        }
      }),
    );
  }

  async unguard(instance: string, network: string): Promise<void> {
    for (const family of ["ipv4", "ipv6"] as const) {
      await this.#apply(family, (t) => unguardCommands(t, instance, network));
    }
  }

  async #apply(family: Family, plan: (table: string) => string[][]): Promise<void> {
    const commands = plan(await this.#run(family, ["-S"]));
    for (const command of commands) await this.#run(family, command);
  }
}
