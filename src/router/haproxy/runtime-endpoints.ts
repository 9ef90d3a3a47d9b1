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
  const enabling: string[] = [];
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
      enabling.push(`enable health ${ref}`);
    }
    enabling.push(`enable server ${ref}`);
  }
  // Enabled and looked at in one exchange: a new server is UP at once, its checks pending.
  await waitUntil(statsSocket, change.add, (status) => status.startsWith("UP"), {
    timeoutMs: timeouts.upMs,
    first: enabling,
  });
  await runSilently(
    statsSocket,
    change.remove.map((server) => `disable server ${server.backend}/${server.name}`),
  );
}

/**
 * Commands that answer nothing when they succeed, sent together (";"-separated, as many
 * to a line as fit); DriverError with what HAProxy said when one did not.
 */
async function runSilently(statsSocket: string, commands: readonly string[]): Promise<void> {
  for (const line of lines(commands)) {
    const answer = (await runtimeCommand(statsSocket, line)).trim();
    if (answer !== "") throw new DriverError("haproxy", `runtime API "${line}": ${answer}`);
  }
}

/** The longest command line sent (HAProxy reads up to its bufsize, 16 KB by default). */
const MAX_LINE = 8192;

/** The commands joined by "; " into lines of at most MAX_LINE. */
function lines(commands: readonly string[]): string[] {
  const out: string[] = [];
  let line = "";
  for (const command of commands) {
    if (line !== "" && line.length + command.length + 2 > MAX_LINE) {
      out.push(line);
      line = "";
    }
    line = line === "" ? command : `${line}; ${command}`;
  }
  if (line !== "") out.push(line);
  return out;
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

/**
 * Waits until every server's status passes `ok`. The first look also sends `first`,
 * commands that answer nothing when they succeed, ahead of its `show stat`s.
 */
async function waitUntil(
  statsSocket: string,
  servers: readonly ServerRef[],
  ok: (status: string) => boolean,
  options: { readonly timeoutMs: number; readonly first: readonly string[] },
): Promise<void> {
  if (servers.length === 0) return;
  const deadline = Date.now() + options.timeoutMs;
  // Only the backends concerned: a full `show stat` with 1,000 apps costs ~100 ms.
  const looks = [...new Set(servers.map((s) => s.backend))].map((b) => `show stat ${b} -1 -1`);
  let ahead = options.first;
  if (ahead.join("; ").length > MAX_LINE) {
    await runSilently(statsSocket, ahead);
    ahead = [];
  }
  for (;;) {
    const command = [...ahead, ...looks].join("; ");
    const answer = await runtimeCommand(statsSocket, command);
    // What came before the first table is what the commands sent ahead of it answered.
    const header = answer.search(/^# /m);
    const before = header < 0 ? answer : answer.slice(0, header);
    if (before.trim() !== "") {
      throw new DriverError("haproxy", `runtime API "${command}": ${before.trim()}`);
    }
    const rows = parseStatTables(header < 0 ? "" : answer.slice(header));
    ahead = [];
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

/** The rows of one or more `show stat` tables, each after its own "# " header. */
function parseStatTables(text: string): StatRow[] {
  return text
    .split(/^(?=# )/m)
    .filter((table) => table.trim() !== "")
    .flatMap((table) => parseShowStat(table));
}
