import type { App } from "../domain/app.ts";
import type { RuntimeSettings } from "../domain/app-settings.ts";
import { DriverError, NotFoundError } from "../domain/errors.ts";
import type { Release } from "../domain/release.ts";
import type { ContainerInfo, ContainerSpec } from "../engine/engine.ts";
import { auditStarted, failureSummary } from "../security/audit/app-audit.ts";
import type { AppControllerDeps } from "./app-controller.ts";
import type { StartAction } from "./app-plan.ts";
import { APP_PORT, appContainerSpec } from "./container-spec.ts";
import { healthcheckPath } from "./healthcheck-path.ts";
import { startupCpus, type StartupBoost } from "./startup-boost.ts";

/**
 * One container start of a rollout step (AppController): the container made ahead for it
 * (PreparedContainers) or a new one, created while the network's isolation is checked and
 * started only once it passed; the startup CPU boost; the security audit of what started;
 * and the readiness check a web container must pass before it gets traffic.
 */
export class ContainerStarts {
  readonly #deps: AppControllerDeps;
  readonly #boost: StartupBoost;

  constructor(deps: AppControllerDeps, boost: StartupBoost) {
    this.#deps = deps;
    this.#boost = boost;
  }

  /**
   * Creates the container while its network is being ensured, and returns once both are
   * done: created before the isolation check has passed, it runs nothing yet. A network
   * that does not exist yet (the app's first container) is waited for, then the create is
   * tried again; a failed check removes the container.
   */
  async #createOn(spec: ContainerSpec, network: Promise<unknown>): Promise<string> {
    const { engine } = this.#deps;
    let id: string;
    try {
      id = await engine.createContainer(spec);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      await network;
      id = await engine.createContainer(spec);
    }
    try {
      await network;
    } catch (error) {
      await engine.removeContainer(id).catch(() => undefined);
      throw error;
    }
    return id;
  }

  /**
   * The container to start for this spec: the one made ahead for it (PreparedContainers),
   * once the network's check has passed, else a new one (#createOn).
   */
  async #created(
    app: App,
    release: Release,
    spec: ContainerSpec,
    network: Promise<unknown>,
  ): Promise<{ id: string; spec: ContainerSpec }> {
    const { logger, engine } = this.#deps;
    const prepared = await this.#deps.prepared?.take(app.id, spec);
    logger.info(prepared === undefined ? "starting container" : "starting container made ahead", {
      app: app.name,
      release: release.version,
      container: (prepared?.spec ?? spec).name,
    });
    if (prepared === undefined) return { id: await this.#createOn(spec, network), spec };
    try {
      await network;
    } catch (error) {
      await engine.removeContainer(prepared.id).catch(() => undefined);
      throw error;
    }
    return prepared;
  }

  /**
   * Starts one container of the release (made ahead, or new) and waits for its check: null
   * once ready (pushed onto `ready` when it is a web container), else why it failed (it is
   * removed).
   */
  async start(
    app: App,
    release: Release,
    start: StartAction,
    settings: RuntimeSettings,
    signal: AbortSignal,
    network: Promise<unknown>,
    ready: ContainerInfo[],
  ): Promise<string | null> {
    const { engine } = this.#deps;
    const env = (await this.#deps.releaseEnv?.(release)) ?? {};
    const made = appContainerSpec(
      this.#deps.instance,
      app,
      release,
      start.processType,
      start.size,
      env,
    );
    const { id, spec } = await this.#created(app, release, made, network);
    await engine.startContainer(id);
    const cpus = this.#startupCpus(spec);
    if (cpus !== undefined) this.#boost.raise(id, spec, cpus);
    // The audit reads the container's inspect documents while the app boots; its outcome
    // is awaited before the container counts as ready.
    const audited = this.#auditStart(app, spec.name, id).then(
      () => undefined,
      (error: unknown) => ({ error }),
    );
    const failed = await this.#ready(app, release, start, settings, signal, spec, id, ready);
    const audit = await audited;
    if (failed === null && audit !== undefined) throw audit.error;
    return failed;
  }

  /** Waits for the started container's check: null once ready, else why it failed. */
  async #ready(
    app: App,
    release: Release,
    start: StartAction,
    settings: RuntimeSettings,
    signal: AbortSignal,
    spec: ContainerSpec,
    id: string,
    ready: ContainerInfo[],
  ): Promise<string | null> {
    const { engine, state, logger, store } = this.#deps;
    if (start.processType !== "web") {
      state.markReady(id);
      await store.addEvent(
        app.id,
        "container.started",
        `${spec.name} (v${String(release.version)}) started`,
      );
      return null;
    }
    const info = await engine.inspectContainer(id);
    const address = info?.addresses[spec.network];
    const timeoutMs = settings.bootTimeoutSeconds * 1000;
    const healthPath = healthcheckPath(release, start.processType, settings);
    const answered =
      address !== undefined &&
      (await this.#deps.probe(address, APP_PORT, timeoutMs, signal, healthPath));
    if (!answered) {
      if (signal.aborted) throw new DriverError("deploy", "shutting down");
      const tail = await this.#tailLogs(id);
      this.#boost.forget(id);
      await engine.stopContainer(id, 1);
      await engine.removeContainer(id);
      const check =
        healthPath === null
          ? `did not accept connections on PORT ${String(APP_PORT)}`
          : `did not answer GET ${healthPath} with 2xx or 3xx`;
      const message = `v${String(release.version)} ${start.processType} ${check} within ${String(settings.bootTimeoutSeconds)} s`;
      await store.addEvent(
        app.id,
        "release.failed",
        `${message}${tail === "" ? "" : `; last output: ${tail}`}`,
      );
      logger.warn("container failed its check", { app: app.name, container: spec.name });
      return message;
    }
    state.markReady(id);
    if (info !== undefined) ready.push(info);
    await store.addEvent(
      app.id,
      "container.started",
      `${spec.name} (v${String(release.version)}) is ready`,
    );
    return null;
  }

  /**
   * The security check after every start: the container's inspect document against the
   * audit of `slipway doctor`; failed items become a `container.audit` event (the
   * container keeps running: the driver applied the baseline, this proves it held).
   */
  async #auditStart(app: App, name: string, id: string): Promise<void> {
    const failed = await auditStarted(this.#deps.engine, id);
    if (failed.length === 0) return;
    this.#deps.logger.warn("container fails the security audit", {
      app: app.name,
      container: name,
      items: failed.map((i) => i.id),
    });
    await this.#deps.store.addEvent(
      app.id,
      "container.audit",
      `${name} fails ${String(failed.length)} audit item(s): ${failureSummary(failed)}`,
    );
  }

  /** The CPU cap the container boots with, if boosted (startupCpus). */
  #startupCpus(spec: ContainerSpec): number | undefined {
    const boost = this.#deps.startupCpus ?? 0;
    return boost > 0 && this.#boost.available ? startupCpus(spec, boost) : undefined;
  }

  async #tailLogs(id: string): Promise<string> {
    const lines: string[] = [];
    for await (const entry of this.#deps.engine.logs(id, { follow: false, tail: 5 }))
      lines.push(entry.line);
    return lines.join(" | ").slice(0, 500);
  }
}
