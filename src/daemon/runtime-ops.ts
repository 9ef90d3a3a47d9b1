import { setTimeout as sleep } from "node:timers/promises";
import type { AppLogOptions, OneOffInfo, RuntimeDeps } from "../api/runtime-deps.ts";
import { EXIT_TRAILER } from "../api/runtime-deps.ts";
import { appContainerSpec, appNetworkName } from "../controllers/container-spec.ts";
import type { App } from "../domain/app.ts";
import type { RuntimeDefaults } from "../domain/app-settings.ts";
import { NotFoundError, ValidationError } from "../domain/errors.ts";
import { LABEL } from "../domain/labels.ts";
import type { Logger } from "../domain/logger.ts";
import type { Release } from "../domain/release.ts";
import type { ContainerInfo, Engine } from "../engine/engine.ts";
import type { Store } from "../store/store.ts";

/** The launcher every release image carries; `-c` runs a shell command after .profile.d. */
const LAUNCHER = "/app/.slipway/launch";
/** How often a followed log looks for new containers (scale up, deploys). */
const LOG_POLL_MS = 2000;

export interface RuntimeOpsDeps {
  readonly store: Store;
  readonly engine: Engine;
  readonly instance: string;
  readonly logger: Logger;
  readonly defaults: RuntimeDefaults;
  /** The environment of a release's containers (its config vars). */
  readonly releaseEnv?: (release: Release) => Promise<Readonly<Record<string, string>>>;
}

/**
 * One-off containers and app logs for the API. A one-off runs the current release's image
 * with the same environment, limits and network as the app's processes (the driver applies
 * the same baseline), labelled role "one-off" so the app controller leaves it alone.
 */
export function runtimeOps(deps: RuntimeOpsDeps): RuntimeDeps {
  const { store, engine } = deps;

  async function ownedOneOff(app: App, id: string): Promise<ContainerInfo> {
    const info = await engine.inspectContainer(id);
    if (info?.labels[LABEL.appId] !== app.id || info.labels[LABEL.role] !== "one-off")
      throw new NotFoundError("one-off", id);
    return info;
  }

  return {
    defaults: deps.defaults,

    async runOneOff(app: App, command: string): Promise<OneOffInfo> {
      const release = await store.currentRelease(app.id);
      if (release === undefined)
        throw new ValidationError(
          `${app.name} has no release yet: deploy it before running commands`,
        );
      const env = (await deps.releaseEnv?.(release)) ?? {};
      const base = appContainerSpec(deps.instance, app, release, "run", "S", env);
      await engine.ensureNetwork(appNetworkName(deps.instance, app), {
        [LABEL.app]: app.name,
        [LABEL.appId]: app.id,
      });
      const spec = {
        ...base,
        cmd: [LAUNCHER, "-c", command],
        networkAliases: [],
        labels: { ...base.labels, [LABEL.role]: "one-off" },
      };
      const id = await engine.createContainer(spec);
      try {
        await engine.startContainer(id);
      } catch (error) {
        await engine.removeContainer(id);
        throw error;
      }
      await store.addEvent(app.id, "run", `${spec.name}: ${command.slice(0, 200)}`);
      return { id, name: spec.name };
    },

    async *oneOffOutput(app: App, id: string, signal: AbortSignal): AsyncGenerator<string> {
      const info = await ownedOneOff(app, id);
      try {
        for await (const line of engine.logs(info.id, { follow: true, signal })) yield line.line;
        if (signal.aborted) return;
        const code = await engine.waitContainer(info.id, signal);
        await store.addEvent(app.id, "run.exited", `${info.name} exited with code ${String(code)}`);
        yield `${EXIT_TRAILER}${String(code)}`;
      } finally {
        // Done, or the client went away: a one-off never outlives its session.
        await engine.stopContainer(info.id, 1).catch(() => undefined);
        await engine.removeContainer(info.id).catch((error: unknown) => {
          deps.logger.warn("removing one-off failed", { container: info.name, error });
        });
      }
    },

    appLogs: (app, options) => appLogs(deps, app, options),
  };
}

/** "web.v3-1a2b3c" from "sw-inst-app-web-v3-1a2b3c". */
function tag(c: ContainerInfo): string {
  const type = c.labels[LABEL.processType] ?? "?";
  const role = c.labels[LABEL.role];
  const release = c.labels[LABEL.release] ?? "?";
  const suffix = c.name.slice(c.name.lastIndexOf("-") + 1);
  return role === "one-off" ? `run.${suffix}` : `${type}.v${release}-${suffix}`;
}

async function* appLogs(
  deps: RuntimeOpsDeps,
  app: App,
  options: AppLogOptions,
): AsyncGenerator<string> {
  const { engine, store } = deps;
  const wanted = (c: ContainerInfo): boolean =>
    options.type === undefined || c.labels[LABEL.processType] === options.type;
  const list = async (): Promise<ContainerInfo[]> =>
    (await engine.listContainers({ [LABEL.appId]: app.id })).filter(
      (c) => c.labels[LABEL.role] !== "build" && wanted(c),
    );

  if (options.type === undefined) {
    const events = (await store.listEvents(app.id, options.tail)).reverse();
    for (const e of events) yield `${e.createdAt} slipway: ${e.type} ${e.message}`;
  }
  const containers = await list();
  if (!options.follow) {
    for (const c of containers) {
      for await (const line of engine.logs(c.id, { follow: false, tail: options.tail }))
        yield `${tag(c)}: ${line.line}`;
    }
    return;
  }

  // Follow: merge every container's stream, attaching new containers as they appear.
  const queue: string[] = [];
  let wake: (() => void) | undefined;
  const push = (line: string): void => {
    queue.push(line);
    wake?.();
  };
  const attached = new Set<string>();
  const attach = (c: ContainerInfo, tail: number): void => {
    if (attached.has(c.id)) return;
    attached.add(c.id);
    void (async () => {
      try {
        for await (const line of engine.logs(c.id, { follow: true, tail, signal: options.signal }))
          push(`${tag(c)}: ${line.line}`);
      } catch {
        // The container went away; its lines so far were delivered.
      }
    })();
  };
  for (const c of containers) attach(c, options.tail);
  let lastEvent = (await store.listEvents(app.id, 1))[0]?.id ?? 0;
  const stopped = (): boolean => options.signal.aborted;
  const poll = async (): Promise<void> => {
    while (!stopped()) {
      await sleep(LOG_POLL_MS, undefined, { signal: options.signal }).catch(() => undefined);
      if (stopped()) break;
      try {
        for (const c of await list()) attach(c, 0);
        if (options.type === undefined) {
          const fresh = (await store.listEvents(app.id, 50))
            .filter((e) => e.id > lastEvent)
            .reverse();
          for (const e of fresh) push(`${e.createdAt} slipway: ${e.type} ${e.message}`);
          lastEvent = fresh.at(-1)?.id ?? lastEvent;
        }
      } catch {
        // A failed poll is retried on the next tick.
      }
    }
    wake?.();
  };
  void poll();
  while (!options.signal.aborted) {
    const line = queue.shift();
    if (line !== undefined) {
      yield line;
      continue;
    }
    await new Promise<void>((resolve) => {
      wake = resolve;
    });
    wake = undefined;
  }
}
