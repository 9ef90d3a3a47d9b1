import { setTimeout as sleep } from "node:timers/promises";
import { DriverError } from "../../domain/errors.ts";
import { parseShowStat, runtimeCommand, type StatRow } from "../metrics/show-stat.ts";
import type { EndpointChange, ServerRef } from "./runtime-diff.ts";

/** How long new servers may take to pass their first checks, and old ones to drain. */
export interface RuntimeTimeouts {
  readonly upMs: number;
  readonly drainMs: number;
}

/**
 * Applies an endpoint-only change through HAProxy's runtime API, without a reload: adds
 * the new servers (with the backend's default-server options, which dynamic servers do not
 * inherit), enables them and waits until they are UP, then puts the old ones in
 * maintenance (no new requests; in-flight ones finish) and deletes them once idle. A server
 * that keeps connections stays in maintenance; the next reload drops it. Throws
 * DriverError when a step fails, so the caller can fall back to a reload.
 */
export async function applyEndpointChange(
  statsSocket: string,
  config: string,
  change: EndpointChange,
  timeouts: RuntimeTimeouts,
): Promise<void> {
  const options = defaultServerOptions(config);
  const run = async (command: string, expect: RegExp | null): Promise<void> => {
    const answer = (await runtimeCommand(statsSocket, command)).trim();
    if (expect === null ? answer !== "" : !expect.test(answer)) {
      throw new DriverError("haproxy", `runtime API "${command}": ${answer || "no answer"}`);
    }
  };
  for (const server of change.add) {
    const ref = `${server.backend}/${server.name}`;
    const added = (
      await runtimeCommand(statsSocket, `add server ${ref} ${server.address}${options}`)
    ).trim();
    if (/already exists/i.test(added)) {
      // Removed earlier but kept in maintenance (it had idle connections): reuse it.
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
      await run(`enable health ${ref}`, null);
    }
    await run(`enable server ${ref}`, null);
  }
  await waitUntil(statsSocket, change.add, (status) => status.startsWith("UP"), timeouts.upMs);
  for (const server of change.remove) {
    await run(`disable server ${server.backend}/${server.name}`, null);
  }
  // Deleting needs the server idle; in-flight requests finish first.
  await waitUntil(
    statsSocket,
    change.remove,
    (_, current) => current === 0,
    timeouts.drainMs,
  ).catch(() => undefined);
  for (const server of change.remove) {
    const answer = await runtimeCommand(statsSocket, `del server ${server.backend}/${server.name}`);
    if (!/Server deleted/.test(answer)) {
      // Still holding (idle) connections: it stays in maintenance until the next reload.
      continue;
    }
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
  ok: (status: string, currentSessions: number) => boolean,
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
      return row === undefined || !ok(row.status ?? "", Number(row.scur ?? "0"));
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
