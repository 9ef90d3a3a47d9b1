import { setTimeout as sleep } from "node:timers/promises";
import { ROUTER_LOG_TYPE, type AppLogOptions } from "../api/runtime-deps.ts";
import type { App } from "../domain/app.ts";
import { LABEL } from "../domain/labels.ts";
import type { ContainerInfo, Engine } from "../engine/engine.ts";
import type { AccessLogEntry } from "../router/metrics/access-log.ts";
import type { AppEvent, Store } from "../store/store.ts";

/** How often a followed log looks for new containers (scale up, deploys) and events. */
const LOG_POLL_MS = 2000;

/** The router's access log as the app logs read it (src/router/metrics/access-log.ts). */
export interface AccessLogSource {
  recent(app: string, limit: number): AccessLogEntry[];
  onEntry(listener: (entry: AccessLogEntry) => void): () => void;
}

export interface AppLogDeps {
  readonly store: Store;
  readonly engine: Engine;
  readonly accessLog?: AccessLogSource;
}

/** One line of `slipway logs`: when, which source, what. */
interface Entry {
  readonly time: string;
  readonly source: string;
  readonly text: string;
}

const format = (e: Entry): string => `${e.time} ${e.source}: ${e.text}`;

/** "web.v3-1a2b3c" from "sw-inst-app-web-v3-1a2b3c"; "run.1a2b3c" for a one-off. */
export function containerTag(c: ContainerInfo): string {
  const type = c.labels[LABEL.processType] ?? "?";
  const release = c.labels[LABEL.release] ?? "?";
  const suffix = c.name.slice(c.name.lastIndexOf("-") + 1);
  return c.labels[LABEL.role] === "one-off" ? `run.${suffix}` : `${type}.v${release}-${suffix}`;
}

function eventEntry(e: AppEvent): Entry {
  return { time: e.createdAt, source: "slipway", text: `${e.type} ${e.message}` };
}

function routerEntry(e: AccessLogEntry): Entry {
  return {
    time: e.time,
    source: ROUTER_LOG_TYPE,
    text: `${e.method} ${e.path} ${String(e.status)} ${String(e.durationMs)}ms ${String(e.bytes)}B client=${e.clientIp} request_id=${e.requestId}`,
  };
}

/**
 * An app's log, Heroku style: its containers' output (tagged TYPE.vRELEASE-ID), the
 * router's access log (`router`) and platform events (`slipway`), every line prefixed
 * with its time. The backlog is merged in time order and cut to the last `tail` lines;
 * a followed log then prints lines as they come, picking up new containers as they
 * start. `type` narrows it to one process type, or to the router.
 */
export async function* appLogs(
  deps: AppLogDeps,
  app: App,
  options: AppLogOptions,
): AsyncGenerator<string> {
  const { engine, store, accessLog } = deps;
  const wantRouter = options.type === undefined || options.type === ROUTER_LOG_TYPE;
  const wantEvents = options.type === undefined;
  const wantContainer = (c: ContainerInfo): boolean =>
    c.labels[LABEL.role] !== "build" &&
    options.type !== ROUTER_LOG_TYPE &&
    (options.type === undefined || c.labels[LABEL.processType] === options.type);
  const list = async (): Promise<ContainerInfo[]> =>
    (await engine.listContainers({ [LABEL.appId]: app.id })).filter(wantContainer);

  // Subscribe before reading the backlog, so a request logged in between is not lost.
  const live: Entry[] = [];
  let wake: (() => void) | undefined;
  const push = (entry: Entry): void => {
    live.push(entry);
    wake?.();
  };
  const unsubscribe =
    options.follow && wantRouter && accessLog !== undefined
      ? accessLog.onEntry((e) => {
          if (e.app === app.name) push(routerEntry(e));
        })
      : () => undefined;
  try {
    const backlog: Entry[] = [];
    if (wantEvents) backlog.push(...(await store.listEvents(app.id, options.tail)).map(eventEntry));
    if (wantRouter && accessLog !== undefined)
      backlog.push(...accessLog.recent(app.name, options.tail).map(routerEntry));
    const containers = await list();
    for (const c of containers) {
      const tag = containerTag(c);
      for await (const line of engine.logs(c.id, {
        follow: false,
        tail: options.tail,
        timestamps: true,
      }))
        backlog.push({ time: line.time ?? c.startedAt ?? "", source: tag, text: line.line });
    }
    // A stable sort: lines of one source with the same time keep their order.
    backlog.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
    for (const entry of backlog.slice(-options.tail)) yield format(entry);
    if (!options.follow) return;

    yield* follow(deps, app, options, {
      containers,
      list,
      push,
      wantEvents,
      next: async () => {
        const entry = live.shift();
        if (entry !== undefined) return entry;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
        return undefined;
      },
      wakeUp: () => wake?.(),
    });
  } finally {
    unsubscribe();
  }
}

interface FollowState {
  readonly containers: readonly ContainerInfo[];
  readonly list: () => Promise<ContainerInfo[]>;
  readonly push: (entry: Entry) => void;
  readonly wantEvents: boolean;
  /** The next live entry, or undefined after a wake-up without one. */
  readonly next: () => Promise<Entry | undefined>;
  readonly wakeUp: () => void;
}

/** The live part of a followed log: new lines of every source as they come. */
async function* follow(
  deps: AppLogDeps,
  app: App,
  options: AppLogOptions,
  state: FollowState,
): AsyncGenerator<string> {
  const { engine, store } = deps;
  const { signal } = options;
  const attached = new Set<string>();
  const attach = (c: ContainerInfo): void => {
    if (attached.has(c.id)) return;
    attached.add(c.id);
    const tag = containerTag(c);
    void (async () => {
      try {
        for await (const line of engine.logs(c.id, {
          follow: true,
          tail: 0,
          signal,
          timestamps: true,
        }))
          state.push({ time: line.time ?? new Date().toISOString(), source: tag, text: line.line });
      } catch {
        // The container went away; its lines so far were delivered.
      }
    })();
  };
  for (const c of state.containers) attach(c);
  let lastEvent = (await store.listEvents(app.id, 1))[0]?.id ?? 0;
  // A function, not the property: the sleep below changes it behind the compiler's back.
  const stopped = (): boolean => signal.aborted;
  const poll = async (): Promise<void> => {
    while (!stopped()) {
      await sleep(LOG_POLL_MS, undefined, { signal }).catch(() => undefined);
      if (stopped()) break;
      try {
        for (const c of await state.list()) attach(c);
        if (state.wantEvents) {
          const fresh = (await store.listEvents(app.id, 50))
            .filter((e) => e.id > lastEvent)
            .reverse();
          for (const e of fresh) state.push(eventEntry(e));
          lastEvent = fresh.at(-1)?.id ?? lastEvent;
        }
      } catch {
        // A failed poll is retried on the next tick.
      }
    }
    state.wakeUp();
  };
  void poll();
  while (!stopped()) {
    const entry = await state.next();
    if (entry !== undefined) yield format(entry);
  }
}
