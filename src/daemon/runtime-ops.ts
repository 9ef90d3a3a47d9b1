import type { Duplex } from "node:stream";
import type { OneOffInfo, RuntimeDeps, TerminalSize } from "../api/runtime-deps.ts";
import { EXIT_TRAILER } from "../api/runtime-deps.ts";
import { appContainerSpec, appNetworkName } from "../controllers/container-spec.ts";
import type { App } from "../domain/app.ts";
import type { RuntimeDefaults } from "../domain/app-settings.ts";
import { ConflictError, NotFoundError, ValidationError } from "../domain/errors.ts";
import { LABEL } from "../domain/labels.ts";
import type { Logger } from "../domain/logger.ts";
import type { Release } from "../domain/release.ts";
import { outputUntilExit } from "../engine/container-output.ts";
import type { ContainerInfo, Engine, LogLine } from "../engine/engine.ts";
import type { Store } from "../store/store.ts";
import { appLogs, type AccessLogSource } from "./app-logs.ts";
import { OneOffSessions } from "./one-off-sessions.ts";

/** The launcher every release image carries; `-c` runs a shell command after .profile.d. */
const LAUNCHER = "/app/.slipway/launch";
/** How long an interactive one-off waits for its terminal before it is removed. */
const ATTACH_TIMEOUT_MS = 60_000;

export interface RuntimeOpsDeps {
  readonly store: Store;
  readonly engine: Engine;
  readonly instance: string;
  readonly logger: Logger;
  readonly defaults: RuntimeDefaults;
  /** The router's access log, for the `router` lines of `slipway logs`. */
  readonly accessLog?: AccessLogSource;
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

  const sessions = new OneOffSessions();

  /** Stops and removes an interactive one-off and keeps its exit code. */
  async function finish(app: App, info: ContainerInfo): Promise<void> {
    let code = -1;
    try {
      await engine.stopContainer(info.id, 1);
      code = (await engine.inspectContainer(info.id))?.exitCode ?? -1;
      await store.addEvent(app.id, "run.exited", `${info.name} exited with code ${String(code)}`);
    } catch (error) {
      deps.logger.warn("ending one-off failed", { container: info.name, error });
    } finally {
      sessions.close(app.id, info.id, code);
      await engine.removeContainer(info.id).catch((error: unknown) => {
        deps.logger.warn("removing one-off failed", { container: info.name, error });
      });
    }
  }

  async function ownedOneOff(app: App, id: string): Promise<ContainerInfo> {
    const info = await engine.inspectContainer(id);
    if (info?.labels[LABEL.appId] !== app.id || info.labels[LABEL.role] !== "one-off")
      throw new NotFoundError("one-off", id);
    return info;
  }

  return {
    defaults: deps.defaults,

    async runOneOff(app: App, command: string, terminal?: TerminalSize): Promise<OneOffInfo> {
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
      const tty = terminal !== undefined;
      const spec = {
        ...base,
        cmd: [LAUNCHER, "-c", command],
        env: tty ? { TERM: "xterm-256color", ...base.env } : base.env,
        networkAliases: [],
        labels: { ...base.labels, [LABEL.role]: "one-off" },
        tty,
      };
      const id = await engine.createContainer(spec);
      try {
        // An interactive one-off starts once its terminal is attached.
        if (!tty) await engine.startContainer(id);
      } catch (error) {
        await engine.removeContainer(id);
        throw error;
      }
      await store.addEvent(
        app.id,
        "run",
        `${spec.name}${tty ? " (interactive)" : ""}: ${command.slice(0, 200)}`,
      );
      if (tty) {
        sessions.open(app.id, id, terminal);
        // A client that never attaches (it crashed, or lost its connection) leaves nothing.
        setTimeout(() => {
          if (!sessions.isOpen(id)) return;
          void engine.inspectContainer(id).then((info) => info && finish(app, info));
        }, ATTACH_TIMEOUT_MS).unref();
      }
      return { id, name: spec.name, tty };
    },

    async attachOneOff(app: App, id: string): Promise<Duplex> {
      const info = await ownedOneOff(app, id);
      if (info.state !== "created" || !sessions.isOpen(info.id))
        throw new ConflictError(`${info.name} is not waiting for a terminal`);
      sessions.attach(info.id);
      const terminal = await engine.attachContainer(info.id);
      try {
        await engine.startContainer(info.id);
        // The engine sizes a terminal only once it runs (Podman ignores ConsoleSize): at
        // once, before the client's keystrokes flow, like `docker run -it` does.
        const size = sessions.size(info.id);
        if (size !== undefined) await engine.resizeContainer(info.id, size);
      } catch (error) {
        terminal.destroy();
        await finish(app, info);
        throw error;
      }
      // The session ends when either side closes: the command exited, or the client left.
      terminal.once("close", () => void finish(app, info));
      return terminal;
    },

    async resizeOneOff(app: App, id: string, size: TerminalSize): Promise<void> {
      const info = await ownedOneOff(app, id);
      await engine.resizeContainer(info.id, size);
    },

    oneOffExit: (app, id, signal) => sessions.exitCode(app.id, id, signal),

    async *oneOffOutput(app: App, id: string, signal: AbortSignal): AsyncGenerator<string> {
      const info = await ownedOneOff(app, id);
      try {
        const output = outputUntilExit(engine, info.id, signal);
        let next: IteratorResult<LogLine, number>;
        try {
          for (next = await output.next(); next.done !== true; next = await output.next()) {
            yield next.value.line;
          }
        } catch (error) {
          if (signal.aborted) return; // the client went away
          throw error;
        }
        const code = next.value;
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
