import { createHash } from "node:crypto";
import { ValidationError } from "../../domain/errors.ts";

/**
 * IPv4 arithmetic for carving one /24 per app network out of the configured pool, and
 * the bridge interface names that go with them. Pure.
 */
export interface Cidr {
  /** Network address as an unsigned 32-bit number. */
  readonly base: number;
  readonly prefix: number;
}

/** Parses "10.213.0.0/16"; the host bits are cleared. Throws ValidationError. */
export function parseCidr(text: string): Cidr {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text.trim());
  const octets = match?.slice(1, 5).map(Number) ?? [];
  const prefix = Number(match?.[5]);
  if (octets.length !== 4 || octets.some((o) => o > 255) || !(prefix >= 0 && prefix <= 32)) {
    throw new ValidationError(`"${text}" is not an IPv4 CIDR like 10.213.0.0/16`);
  }
  const address = octets.reduce((acc, octet) => acc * 256 + octet, 0);
  return { base: (address & maskOf(prefix)) >>> 0, prefix };
}

/** Formats a number as a dotted quad. */
export function formatIpv4(address: number): string {
  return [24, 16, 8, 0].map((shift) => (address >>> shift) & 255).join(".");
}

/** Formats a CIDR as text. */
export function formatCidr(cidr: Cidr): string {
  return `${formatIpv4(cidr.base)}/${cidr.prefix}`;
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** True when the two ranges share at least one address. */
export function overlaps(a: Cidr, b: Cidr): boolean {
  const mask = maskOf(Math.min(a.prefix, b.prefix));
  return (a.base & mask) >>> 0 === (b.base & mask) >>> 0;
}

/**
 * The first /24 of the pool that overlaps none of `used`, searching from a start that
 * depends on the seed. Seeding by instance keeps two installations sharing a pool in
 * different regions of it, so they rarely even try the same subnet; the host check and
 * the engine's own refusal catch the rest. Undefined when the pool is exhausted.
 */
export function pickSubnet(pool: Cidr, seed: number, used: readonly Cidr[]): Cidr | undefined {
  if (pool.prefix > 24)
    throw new ValidationError(`network pool /${pool.prefix} is smaller than a /24`);
  const count = 2 ** (24 - pool.prefix);
  const start = seed % count;
  for (let i = 0; i < count; i++) {
    const candidate: Cidr = { base: (pool.base + ((start + i) % count) * 256) >>> 0, prefix: 24 };
    if (!used.some((range) => overlaps(range, candidate))) return candidate;
  }
  return undefined;
}

/** The gateway of a subnet: its first address. */
export function gatewayOf(subnet: Cidr): string {
  return formatIpv4(subnet.base + 1);
}

/** A stable number from text, to seed subnet searches. */
export function seedOf(text: string): number {
  return createHash("sha256").update(text).digest().readUInt32BE(0);
}

/** Every bridge Slipway creates is named with this prefix (the firewall's jumps rely on it). */
export const BRIDGE_PREFIX = "sw";
/** The iptables interface pattern that matches every bridge Slipway creates. */
export const BRIDGE_WILDCARD = `${BRIDGE_PREFIX}+`;

/**
 * The bridge interface name of a network: "sw" and 12 hex digits of a hash of instance
 * and network name (14 characters; Linux allows 15). Unique per instance even where two
 * installations use the same network names; `attempt` varies it if a name is taken.
 */
export function bridgeName(instance: string, network: string, attempt = 0): string {
  const hash = createHash("sha256").update(`${instance}\0${network}\0${attempt}`).digest("hex");
  return `${BRIDGE_PREFIX}${hash.slice(0, 12)}`;
}

/**
 * The destinations of /proc/net/route (hex, little-endian), skipping the default route.
 * Pure: takes the file's text.
 */
export function routesFromProcNetRoute(text: string): Cidr[] {
  const out: Cidr[] = [];
  for (const line of text.split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    const [destination, mask] = [fields[1], fields[7]];
    if (destination === undefined || mask === undefined) continue;
    const base = Buffer.from(destination, "hex").readUInt32LE(0);
    const maskBits = Buffer.from(mask, "hex").readUInt32LE(0);
    const prefix = popCount(maskBits);
    if (prefix === 0) continue;
    out.push({ base, prefix });
  }
  return out;
}

function popCount(value: number): number {
  let count = 0;
  for (let v = value >>> 0; v !== 0; v = v >>> 1) count += v & 1;
  return count;
}
