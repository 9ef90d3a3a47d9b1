import { setTimeout as sleep } from "node:timers/promises";
import { DriverError } from "../../domain/errors.ts";
import { parseShowStat, runtimeCommand, type StatRow } from "../metrics/show-stat.ts";
import type { EndpointChange, ServerRef } from "./runtime-diff.ts";

/** How long new servers may take to pass their first checks. */
export interface RuntimeTimeouts {
  readonly upMs: number;
}

/**
 * Applies an endpoint-only change through HAProxy's runtime API, without a reload: adds
 * the new servers (with the backend's default-server options, which dynamic servers do not
 * inherit), enables them and waits until they are UP, then puts the old ones in
 * maintenance: no new request goes to them, in-flight ones finish. It returns there: a dead
 * container's server may hold a request until its connect timeout, which no caller should
 * wait for. The old servers are never deleted (`del server`): HAProxy 2.6 can corrupt its
 * heap deleting a server some stream or connection still refers to (seen here right after
 * a container kill: "malloc(): unaligned tcache chunk detected", the worker aborted and
 * the master with it). A reload drops them (HaproxyRouter counts them). Throws
 * DriverError when a step fails, so the caller can fall back to a reload.
 */
export async function applyEndpointChange(
  statsSocket: string,
  config: string,
  change: EndpointChange,
  timeouts: RuntimeTimeouts,
): Promise<void> {
  const options = defaultServerOptions(config);
  const run = async (command: string): Promise<void> => {
    const answer = (await runtimeCommand(statsSocket, command)).trim();
    if (answer !== "") {
      throw new DriverError("haproxy", `runtime API "${command}": ${answer}`);
    }
  };
  for (const server of change.add) {
    const ref = `${server.backend}/${server.name}`;
    const added = (
      await runtimeCommand(statsSocket, `add server ${ref} ${server.address}${options}`)
    ).trim();
    if (/already exists/i.test(added)) {
      // Retired by an earlier change and still in maintenance: reuse it.
      const { host, port } = splitAddress(server.address);
      const answer = await runtimeCommand(
        statsSocket,
        `set server ${ref} addr ${host} port ${port}`,
      );
      if (!/no need to change|changed from|^\s*$/.test(answer)) {
        throw new DriverError("haproxy", `runtime API "set server ${ref} addr": ${answer.trim()}`);
      }
    } else if (!/New server registered/.test(added)) {
      throw new DriverError("haproxy", `runtime API "add server ${ref}": ${added || "no answer"}`);
    } else if (/\bcheck\b/.test(options)) {
      await run(`enable health ${ref}`);
    }
    await run(`enable server ${ref}`);
  }
  await waitUntil(statsSocket, change.add, (status) => status.startsWith("UP"), timeouts.upMs);
  for (const server of change.remove) {
    await run(`disable server ${server.backend}/${server.name}`);
  }
}

function splitAddress(address: string): { host: string; port: string } {
  const colon = address.lastIndexOf(":");
  return { host: address.slice(0, colon).replace(/^\[|\]$/g, ""), port: address.slice(colon + 1) };
}

/** ` check inter 2s ...` from the defaults' default-server line (empty if none). */
function defaultServerOptions(config: string): string {
  const line = /^ {4}default-server (.+)$/m.exec(config)?.[1];
  return line === undefined ? "" : ` ${line}`;
}

async function waitUntil(
  statsSocket: string,
  servers: readonly ServerRef[],
  ok: (status: string) => boolean,
  timeoutMs: number,
): Promise<void> {
  if (servers.length === 0) return;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // Only the backends concerned: a full `show stat` with 1,000 apps costs ~100 ms.
    const rows: StatRow[] = [];
    for (const backend of new Set(servers.map((s) => s.backend))) {
      rows.push(...parseShowStat(await runtimeCommand(statsSocket, `show stat ${backend} -1 -1`)));
    }
    const pending = servers.filter((s) => {
      const row = rows.find((r) => r.pxname === s.backend && r.svname === s.name);
      return row === undefined || !ok(row.status ?? "");
    });
    if (pending.length === 0) return;
    if (Date.now() > deadline) {
      throw new DriverError(
        "haproxy",
        `servers not ready in time: ${pending.map((s) => `${s.backend}/${s.name}`).join(", ")}`,
      );
    }
    await sleep(20);
  }
}
