import { readFile } from "node:fs/promises";
import { networkInterfaces } from "node:os";
import { parseCidr, routesFromProcNetRoute, type Cidr } from "./subnets.ts";

/**
 * IPv4 ranges the host already uses: interface addresses and routing-table entries. An
 * app network on one of them would shadow a real network (or another installation's
 * running bridge), so the subnet picker avoids them all.
 */
export async function hostSubnets(procNetRoute = "/proc/net/route"): Promise<Cidr[]> {
  const used: Cidr[] = [];
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === "IPv4" && address.cidr !== null) used.push(parseCidr(address.cidr));
    }
  }
  used.push(...routesFromProcNetRoute(await readFile(procNetRoute, "utf8")));
  return used;
}
