import { DriverError } from "../../domain/errors.ts";
import { runProgram, spawnLauncher, type ProcessLauncher } from "../../process/launcher.ts";
import { BRIDGE_PREFIX, BRIDGE_WILDCARD } from "./subnets.ts";

/**
 * iptables as Slipway drives it: the command itself, the comment that marks a network's
 * rules, and the arguments of a line of `iptables -S`. Shared by the FORWARD
 * (bridge-firewall.ts) and INPUT (host-guard.ts) rules.
 */
export type Family = "ipv4" | "ipv6";
/** Runs iptables (ipv4) or ip6tables (ipv6) with these arguments; resolves with stdout. */
export type FamilyRunner = (family: Family, args: readonly string[]) => Promise<string>;

/** A network's rules: the comment `slipway:<instance>:<network>`. */
export interface RuleOwner {
  readonly instance: string;
  readonly network: string;
}

/** The comment that marks a network's rules. */
export function ruleComment(owner: RuleOwner): string {
  const comment = `slipway:${owner.instance}:${owner.network}`;
  if (!/^[a-zA-Z0-9_.:-]{1,200}$/.test(comment)) {
    throw new DriverError("firewall", `"${comment}" is not a usable rule comment`);
  }
  return comment;
}

/** Splits one line of `iptables -S` into arguments (it quotes comments). */
export function splitRuleLine(line: string): string[] {
  const out: string[] = [];
  for (const match of line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) {
    out.push(match[1] !== undefined ? match[1].replace(/\\(.)/g, "$1") : (match[2] ?? ""));
  }
  return out;
}

/** The rules of `chain` in `-S` output, each as its arguments after `-A CHAIN`. */
export function chainRules(table: string, chain: string): string[][] {
  return table
    .split("\n")
    .filter((line) => line.startsWith(`-A ${chain} `))
    .map((line) => splitRuleLine(line).slice(2));
}

/** The comment a rule carries, if any. */
export function commentOf(rule: readonly string[]): string | undefined {
  const at = rule.indexOf("--comment");
  return at >= 0 ? rule[at + 1] : undefined;
}

/** True when two rules have the same arguments. */
export function sameRule(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((arg, i) => arg === b[i]);
}

/** Refuses what is not an interface name (it would become iptables arguments). */
export function checkInterface(bridge: string): void {
  if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(bridge)) {
    throw new DriverError("firewall", `"${bridge}" is not an interface name`);
  }
}

/** Refuses a bridge the chains' jumps (`-i sw+`) would never send to its rules. */
export function checkSlipwayBridge(bridge: string): void {
  checkInterface(bridge);
  if (!bridge.startsWith(BRIDGE_PREFIX)) {
    throw new DriverError("firewall", `"${bridge}" is not a Slipway bridge (${BRIDGE_WILDCARD})`);
  }
}

/** The environment iptables runs with: a system PATH (it is looked up there) and no locale. */
const IPTABLES_ENV = {
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  LANG: "C",
};

/**
 * Runs `iptables -w` or `ip6tables -w` (the ones on PATH, as netavark does), through the
 * launcher when given (src/process/launcher.ts: the daemon's are started ahead).
 */
export async function runFamily(
  family: Family,
  args: readonly string[],
  launcher: ProcessLauncher = spawnLauncher,
): Promise<string> {
  const command = family === "ipv4" ? "iptables" : "ip6tables";
  const what = `${command} ${args.join(" ")}`;
  let done;
  try {
    done = await runProgram(launcher, command, ["-w", ...args], {
      env: IPTABLES_ENV,
      timeoutMs: 30_000,
    });
  } catch (error) {
    throw new DriverError("firewall", `${what} could not run: ${String(error)}`, { cause: error });
  }
  if (done.code !== 0) {
    const ended =
      done.code === null ? `signal ${String(done.signal)}` : `exit code ${String(done.code)}`;
    throw new DriverError("firewall", `${what} failed (${ended}): ${done.stderr.trim()}`);
  }
  return done.stdout;
}

/** runFamily on the launcher. */
export function familyRunner(launcher: ProcessLauncher): FamilyRunner {
  return (family, args) => runFamily(family, args, launcher);
}
