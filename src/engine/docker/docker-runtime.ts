import { createInterface } from "node:readline";
import type { Duplex, Readable } from "node:stream";
import { NotFoundError } from "../../domain/errors.ts";
import type { ContainerEvent, ContainerStats, LogLine, LogOptions } from "../engine.ts";
import type { EngineApi } from "./api-client.ts";
import { asObject, objectField } from "./json-reader.ts";
import { demultiplexLines } from "./multiplex.ts";
import { withInstanceLabel } from "./ownership.ts";

type Json = Record<string, unknown>;

function obj(value: unknown): Json {
  return typeof value === "object" && value !== null ? (value as Json) : {};
}

function num(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

/**
 * GET /containers/{id}/stats?stream=false: one sample. CPU percent is the container's
 * share of the host's CPU time between the sample and the one before it (precpu_stats),
 * scaled by the number of CPUs, as `docker stats` computes it.
 */
export async function containerStats(api: EngineApi, id: string): Promise<ContainerStats> {
  const answer = obj(
    await api.json("GET", `/containers/${id}/stats`, {
      query: { stream: false },
      timeoutMs: 15_000,
    }),
  );
  const cpu = obj(answer.cpu_stats);
  const pre = obj(answer.precpu_stats);
  const cpuDelta = num(obj(cpu.cpu_usage).total_usage) - num(obj(pre.cpu_usage).total_usage);
  const systemDelta = num(cpu.system_cpu_usage) - num(pre.system_cpu_usage);
  const cpus = num(cpu.online_cpus) || 1;
  const memory = obj(answer.memory_stats);
  return {
    cpuPercent: systemDelta > 0 && cpuDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0,
    memoryBytes: num(memory.usage),
    memoryLimitBytes: num(memory.limit),
  };
}

/**
 * GET /events filtered to container die and oom events of the instance's containers with
 * these labels: one JSON document per line, for as long as the connection lasts.
 */
export async function* containerEvents(
  api: EngineApi,
  instance: string,
  labels: Readonly<Record<string, string>>,
  signal: AbortSignal,
): AsyncGenerator<ContainerEvent> {
  // No "event" filter: Podman 4 matches it against its own names ("died"), Docker against
  // "die"; the few other container events are dropped below.
  const filters = JSON.stringify({
    type: ["container"],
    label: Object.entries(withInstanceLabel(instance, labels)).map(([k, v]) => `${k}=${v}`),
  });
  let body: Awaited<ReturnType<EngineApi["stream"]>> | undefined;
  try {
    body = await api.stream("GET", "/events", { query: { filters }, timeoutMs: null, signal });
    for await (const line of createInterface({ input: body, crlfDelay: Infinity })) {
      if (line.trim() === "") continue;
      let event: Json;
      try {
        event = obj(JSON.parse(line));
      } catch {
        continue;
      }
      const raw = event.Action ?? event.status;
      const action = raw === "died" ? "die" : raw;
      if (action !== "die" && action !== "oom") continue;
      const actor = obj(event.Actor);
      const attributes = Object.fromEntries(
        Object.entries(obj(actor.Attributes)).filter(
          (entry): entry is [string, string] => typeof entry[1] === "string",
        ),
      );
      const id =
        typeof actor.ID === "string" ? actor.ID : typeof event.id === "string" ? event.id : "";
      const exit = Number(attributes.exitCode);
      yield {
        action,
        containerId: id,
        labels: attributes,
        exitCode: Number.isInteger(exit) && attributes.exitCode !== undefined ? exit : null,
      };
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  } finally {
    body?.destroy();
  }
}

/** How often Podman looks at a waited-for container: 1-2% of a core, 25 ms late at most. */
const WAIT_INTERVAL = "25ms";

/**
 * The exit code of a started container once it stopped, or -1. Podman 4.3's compat wait
 * spins on the container's state for as long as it waits (more than a whole core: the
 * build it waits for got less than one of this machine's two), and answers up to 0.7 s
 * late; its own endpoint polls at the interval given. A Docker daemon has no libpod API
 * and waits on events.
 */
export async function waitForExit(
  api: EngineApi,
  id: string,
  signal: AbortSignal | undefined,
): Promise<number> {
  const options = { timeoutMs: null, ...(signal ? { signal } : {}) };
  try {
    const answer = await api.json("POST", `/containers/${id}/wait`, {
      ...options,
      api: "libpod",
      query: { condition: ["stopped", "exited"], interval: WAIT_INTERVAL },
    });
    if (typeof answer === "number") return answer;
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
  }
  const answer = obj(
    await api.json("POST", `/containers/${id}/wait`, {
      ...options,
      query: { condition: "not-running" },
    }),
  );
  return typeof answer.StatusCode === "number" ? answer.StatusCode : -1;
}

/** The lines of an attached container's stream; the signal ends it quietly. */
export async function* attachedLines(
  stream: Duplex,
  signal?: AbortSignal,
): AsyncGenerator<LogLine> {
  // The upgraded socket has left its request: the signal must end it here.
  const end = (): void => {
    stream.destroy();
  };
  signal?.addEventListener("abort", end, { once: true });
  try {
    if (signal?.aborted === true) return;
    yield* demultiplexLines(stream);
  } catch (error) {
    if (signal?.aborted !== true) throw error;
  } finally {
    signal?.removeEventListener("abort", end);
    stream.destroy();
  }
}

/**
 * The compat inspect document, with `HostConfig.IDMappings`, `EffectiveCaps` and
 * `BoundingCaps` from Podman's own API (the compat answer says UsernsMode "private"
 * even under auto, and has no effective capabilities).
 */
export async function rawInspectDocument(
  api: EngineApi,
  id: string,
  inspect: (id: string) => Promise<unknown> = (id) => api.json("GET", `/containers/${id}/json`),
): Promise<unknown> {
  // Both at once: the audit of a container that just started runs while it boots.
  const [found, libpodAnswer] = await Promise.all([
    inspect(id),
    api.json("GET", `/containers/${id}/json`, { api: "libpod" }).catch((error: unknown) => error),
  ]);
  if (found === undefined) throw new NotFoundError("container", id);
  const compat = asObject(found, "container");
  let idMappings: unknown;
  let podman: Record<string, unknown> = {};
  try {
    if (libpodAnswer instanceof Error) throw libpodAnswer;
    const libpod = asObject(libpodAnswer, "container");
    idMappings = objectField(libpod, "HostConfig").IDMappings;
    // The capabilities the process really has (null: none); the compat answer only
    // lists CapAdd/CapDrop.
    podman = {
      EffectiveCaps: libpod.EffectiveCaps ?? null,
      BoundingCaps: libpod.BoundingCaps ?? null,
    };
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error; // a Docker daemon has no libpod API
  }
  return {
    ...compat,
    ...podman,
    HostConfig: { ...objectField(compat, "HostConfig"), IDMappings: idMappings },
  };
}

/**
 * GET /containers/{id}/logs of a container the caller checked is ours: lines as the
 * engine delivers them. With follow the iteration ends when the container exits or the
 * signal aborts (quietly: it is how callers stop).
 */
export async function* containerLogs(
  api: EngineApi,
  id: string,
  options: LogOptions,
): AsyncGenerator<LogLine> {
  const { signal } = options;
  let body: Readable | undefined;
  try {
    body = await api.stream("GET", `/containers/${id}/logs`, {
      query: {
        stdout: true,
        stderr: true,
        follow: options.follow,
        tail: options.tail ?? "all",
        ...(options.timestamps === true ? { timestamps: true } : {}),
      },
      timeoutMs: options.follow ? null : 120_000,
      ...(signal ? { signal } : {}),
    });
    if (options.timestamps === true) {
      for await (const line of demultiplexLines(body)) yield withTime(line);
    } else {
      yield* demultiplexLines(body);
    }
  } catch (error) {
    if (signal?.aborted !== true) throw error;
  } finally {
    body?.destroy();
  }
}

/** "2026-11-29T21:30:44.123456789Z text": the engine's timestamp prefix, taken off. */
const TIMESTAMPED = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) ?(.*)$/s;

/** A log line with the engine's timestamp prefix moved into LogLine.time. */
export function withTime(line: LogLine): LogLine {
  const match = TIMESTAMPED.exec(line.line);
  if (match === null) return line;
  const time = new Date(match[1] ?? "");
  if (Number.isNaN(time.getTime())) return line;
  return { stream: line.stream, line: match[2] ?? "", time: time.toISOString() };
}
