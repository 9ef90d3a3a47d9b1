import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { DriverError } from "../../domain/errors.ts";

/**
 * Slipway's own rule that keeps app bridges apart. Podman's `isolate` option is not
 * enough on its own: netavark 1.4 puts one shared `FORWARD -j NETAVARK_ISOLATION_1` jump
 * in front of every isolated network and deletes it when *any* isolated network on the
 * host loses its last container, leaving all the others open until the next container
 * starts somewhere. These rules belong to Slipway, are never removed as a side effect,
 * and also cover bridges of other engines on the host.
 *
 *   FORWARD 1: -j SLIPWAY-ISOLATION
 *   SLIPWAY-ISOLATION: -i <app bridge> ! -o <app bridge> -j SLIPWAY-ISOLATION-DROP  (one per network)
 *   SLIPWAY-ISOLATION-DROP: -o sw+ -j DROP, -o podman+ -j DROP, ...   (container bridges)
 *
 * Traffic from an app to the internet, and from the host to an app, does not match.
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
export const CONTAINER_BRIDGES = ["sw+", "podman+", "docker+", "br-+", "cni+"] as const;

/** The per-bridge rule, as iptables arguments after the chain name. */
export function bridgeRule(bridge: string): string[] {
  if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(bridge)) {
    throw new DriverError("firewall", `"${bridge}" is not an interface name`);
  }
  return ["-i", bridge, "!", "-o", bridge, "-j", DROP_CHAIN];
}

/**
 * Whether the FORWARD jump to our chain must be (re)inserted at the top: when it is
 * missing, or when a rule that accepts traffic (netavark's NETAVARK_FORWARD accepts all
 * of a subnet's outgoing packets) comes before it. Pure: takes `iptables -S FORWARD`.
 */
export function jumpNeedsInsert(forwardRules: string): boolean {
  const rules = forwardRules.split("\n").filter((line) => line.startsWith("-A FORWARD"));
  const ours = rules.findIndex((rule) => rule === `-A FORWARD -j ${ISOLATION_CHAIN}`);
  if (ours < 0) return true;
  return rules
    .slice(0, ours)
    .some((rule) => / -j (ACCEPT|NETAVARK_FORWARD|DOCKER|DOCKER-USER)\b/.test(rule));
}

/** The firewall through the iptables command (with -w: wait for the xtables lock). */
export class IptablesBridgeFirewall implements BridgeFirewall {
  readonly #run: IptablesRunner;

  constructor(run: IptablesRunner = runIptables) {
    this.#run = run;
  }

  async isolate(bridge: string): Promise<void> {
    const rule = bridgeRule(bridge);
    await this.#ensureChain(ISOLATION_CHAIN);
    await this.#ensureChain(DROP_CHAIN);
    for (const pattern of CONTAINER_BRIDGES) {
      await this.#ensureRule(DROP_CHAIN, ["-o", pattern, "-j", "DROP"]);
    }
    await this.#ensureRule(ISOLATION_CHAIN, rule);
    if (jumpNeedsInsert(await this.#run(["-S", "FORWARD"]))) {
      while (await this.#has("FORWARD", ["-j", ISOLATION_CHAIN])) {
        await this.#run(["-D", "FORWARD", "-j", ISOLATION_CHAIN]);
      }
      await this.#run(["-I", "FORWARD", "1", "-j", ISOLATION_CHAIN]);
    }
  }

  async release(bridge: string): Promise<void> {
    const rule = bridgeRule(bridge);
    if (!(await this.#chainExists(ISOLATION_CHAIN))) return;
    while (await this.#has(ISOLATION_CHAIN, rule)) await this.#run(["-D", ISOLATION_CHAIN, ...rule]);
  }

  async #ensureChain(chain: string): Promise<void> {
    if (await this.#chainExists(chain)) return;
    try {
      await this.#run(["-N", chain]);
    } catch (error) {
      // Another installation may have created it in between; that is the same result.
      if (!(await this.#chainExists(chain))) throw error;
    }
  }

  async #ensureRule(chain: string, rule: readonly string[]): Promise<void> {
    if (!(await this.#has(chain, rule))) await this.#run(["-A", chain, ...rule]);
  }

  async #chainExists(chain: string): Promise<boolean> {
    return (await this.#run(["-S"])).split("\n").includes(`-N ${chain}`);
  }

  /** `iptables -C` answers 1 when the rule is absent; anything else is a real failure. */
  async #has(chain: string, rule: readonly string[]): Promise<boolean> {
    try {
      await this.#run(["-C", chain, ...rule]);
      return true;
    } catch (error) {
      if (error instanceof DriverError && /exit code 1\b/.test(error.message)) return false;
      throw error;
    }
  }
}

/** Runs /usr/sbin/iptables -w with the arguments. */
export async function runIptables(args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)("iptables", ["-w", ...args], { timeout: 30_000 });
    return stdout;
  } catch (error) {
    const { code, stderr } = error as { code?: unknown; stderr?: unknown };
    const detail = typeof stderr === "string" ? stderr.trim() : "";
    throw new DriverError(
      "firewall",
      `iptables ${args.join(" ")} failed with exit code ${String(code)}: ${detail}`,
      { cause: error },
    );
  }
}
