import { randomBytes } from "node:crypto";
import { ConflictError, ValidationError } from "../domain/errors.ts";
import { assertOwned, withInstanceLabel, type Labels } from "./docker/ownership.ts";
import { formatCidr, parseCidr, pickSubnet, type Cidr } from "./docker/subnets.ts";
import type { NetworkInfo } from "./engine.ts";

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** The fake engine's networks: one /24 each from the pool, handed out in order. */
export class FakeNetworkStore {
  readonly #instance: string;
  readonly #pool: Cidr;
  readonly #networks = new Map<string, NetworkInfo>();

  constructor(instance: string, pool: Cidr) {
    this.#instance = instance;
    this.#pool = pool;
  }

  get(name: string): NetworkInfo | undefined {
    return this.#networks.get(name);
  }

  all(): NetworkInfo[] {
    return [...this.#networks.values()];
  }

  /** A network without the instance label, as another tool would have made it. */
  addForeign(name: string): void {
    this.#networks.set(name, { name, id: randomBytes(32).toString("hex"), subnet: "", labels: {} });
  }

  /** Returns the network if it is ours, creates it if missing; true in `created` when new. */
  ensure(name: string, labels: Labels): { info: NetworkInfo; created: boolean } {
    const existing = this.#networks.get(name);
    if (existing !== undefined) {
      assertOwned(this.#instance, "network", name, existing.labels);
      return { info: existing, created: false };
    }
    if (!NAME.test(name))
      throw new ValidationError(`network name "${name}" must match ${NAME.source}`);
    const used = this.all()
      .filter((network) => network.subnet !== "")
      .map((network) => parseCidr(network.subnet));
    const subnet = pickSubnet(this.#pool, 0, used);
    if (subnet === undefined) {
      throw new ConflictError(`network pool ${formatCidr(this.#pool)} has no free /24 left`);
    }
    const info: NetworkInfo = {
      name,
      id: randomBytes(32).toString("hex"),
      subnet: formatCidr(subnet),
      labels: withInstanceLabel(this.#instance, labels),
    };
    this.#networks.set(name, info);
    return { info, created: true };
  }

  /** Removes an owned network; refuses while containers use it. False when missing. */
  remove(name: string, inUse: boolean): boolean {
    const network = this.#networks.get(name);
    if (network === undefined) return false;
    assertOwned(this.#instance, "network", name, network.labels);
    if (inUse) throw new ConflictError(`network "${name}" still has containers`);
    return this.#networks.delete(name);
  }
}
