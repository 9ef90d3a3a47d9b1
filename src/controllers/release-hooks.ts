import { processCommand } from "../build/app-image.ts";
import type { App } from "../domain/app.ts";
import { LABEL } from "../domain/labels.ts";
import type { Logger } from "../domain/logger.ts";
import { releaseStatus, type Release } from "../domain/release.ts";
import type { ContainerSpec, Engine } from "../engine/engine.ts";
import type { Store } from "../store/store.ts";
import { appContainerSpec, appNetworkName } from "./container-spec.ts";
import { collectAppImages } from "./image-gc.ts";

/** App setting recording that app.json's postdeploy script ran ("v3 succeeded"). */
export const POSTDEPLOY_SETTING = "postdeploy";

export interface ReleaseHooksDeps {
  readonly store: Store;
  readonly engine: Engine;
  readonly instance: string;
  readonly logger: Logger;
  /** The config vars of one config version of an app. */
  readonly configVars: (
    appId: string,
    version: number | null | undefined,
  ) => Promise<Record<string, string>>;
  /** How many of the newest releases keep their images (SLIPWAY_KEEP_RELEASES). */
  readonly keepReleases: number;
  /** Longest a release phase or postdeploy script may run. */
  readonly timeoutMs: number;
  /** The release version the router serves for an app (RuntimeState.routedRelease). */
  readonly servingVersion: (appId: string) => number | undefined;
}

/** The outcome of a one-off container. */
interface OneOffResult {
  readonly exitCode: number;
  readonly tail: string;
}

/**
 * What happens around a rollout, called by the app controller (one app at a time):
 * before it, the release phase of a pending release runs in a one-off container with the
 * app containers' isolation (its success lets the release roll out, its failure marks the
 * release failed and the previous one keeps serving); after it, app.json's postdeploy
 * script runs once after the app's first successful deploy, and images of old releases are
 * garbage-collected.
 */
export class ReleaseHooks {
  readonly #deps: ReleaseHooksDeps;
  /** Per app, the serving version images were last collected for. */
  readonly #collected = new Map<string, number>();

  constructor(deps: ReleaseHooksDeps) {
    this.#deps = deps;
  }

  /** Settles pending releases: runs the newest one's release phase. */
  async beforeRollout(app: App, signal: AbortSignal): Promise<void> {
    const { store } = this.#deps;
    const releases = await store.listReleases(app.id);
    const pending = pendingToRun(releases);
    for (const r of pending.superseded) {
      await store.setReleaseStatus(r.id, "failed", "superseded before its release phase ran");
    }
    if (pending.run === undefined) return;
    const release = pending.run;
    const command = release.processTypes.release ?? "";
    this.#deps.logger.info("running the release phase", {
      app: app.name,
      release: release.version,
    });
    await store.addEvent(
      app.id,
      "release.phase",
      `v${String(release.version)}: running ${command}`,
    );
    const result = await this.#oneOff(app, release, "release", processCommand("release"), signal);
    if (result.exitCode === 0) {
      await store.addEvent(
        app.id,
        "release.phase",
        `v${String(release.version)}: release phase succeeded`,
      );
      await store.setReleaseStatus(release.id, "succeeded");
      return;
    }
    const detail = `release phase ${exitText(result.exitCode)}${result.tail === "" ? "" : `; last output: ${result.tail}`}`;
    await store.setReleaseStatus(release.id, "failed", detail);
    await store.addEvent(
      app.id,
      "release.failed",
      `v${String(release.version)} ${detail}; the previous release keeps serving`,
    );
  }

  /** Once the current release serves: postdeploy (first deploy only) and image GC. */
  async afterRollout(app: App, signal: AbortSignal): Promise<void> {
    const { store } = this.#deps;
    const current = await store.currentRelease(app.id);
    if (current === undefined || this.#deps.servingVersion(app.id) !== current.version) return;
    const releases = await store.listReleases(app.id);
    await this.#postdeploy(app, current, releases, signal);
    if (this.#collected.get(app.id) !== current.version) {
      const removed = await collectAppImages(
        this.#deps.engine,
        app,
        releases,
        this.#deps.keepReleases,
      );
      this.#collected.set(app.id, current.version);
      if (removed.length > 0)
        this.#deps.logger.info("removed old release images", { app: app.name, removed });
    }
  }

  async #postdeploy(
    app: App,
    current: Release,
    releases: readonly Release[],
    signal: AbortSignal,
  ): Promise<void> {
    const { store } = this.#deps;
    const script = current.manifest?.postdeploy;
    if (script === undefined || script === null) return;
    const first = releases.every(
      (r) => r.version >= current.version || releaseStatus(r) !== "succeeded",
    );
    if (!first) return;
    if ((await store.getAppSettings(app.id))[POSTDEPLOY_SETTING] !== undefined) return;
    await store.addEvent(app.id, "postdeploy", `v${String(current.version)}: running ${script}`);
    const result = await this.#oneOff(
      app,
      current,
      "postdeploy",
      ["/app/.slipway/launch", "-c", script],
      signal,
    );
    const outcome = result.exitCode === 0 ? "succeeded" : exitText(result.exitCode);
    // Recorded either way: postdeploy runs once, it is not retried.
    await store.setAppSetting(app.id, POSTDEPLOY_SETTING, `v${String(current.version)} ${outcome}`);
    await store.addEvent(
      app.id,
      result.exitCode === 0 ? "postdeploy" : "postdeploy.failed",
      `v${String(current.version)}: postdeploy ${outcome}${result.exitCode === 0 || result.tail === "" ? "" : `; last output: ${result.tail}`}`,
    );
  }

  /** Runs cmd from the release's image in a one-off container and removes it afterwards. */
  async #oneOff(
    app: App,
    release: Release,
    kind: string,
    cmd: readonly string[],
    signal: AbortSignal,
  ): Promise<OneOffResult> {
    const { engine, instance } = this.#deps;
    // Leftovers of a crash mid-run: the phase is run again (release phases are idempotent).
    for (const c of await engine.listContainers({ [LABEL.role]: "one-off", [LABEL.appId]: app.id }))
      await engine.removeContainer(c.id);
    await engine.ensureNetwork(appNetworkName(instance, app), {
      [LABEL.app]: app.name,
      [LABEL.appId]: app.id,
    });
    const vars = await this.#deps.configVars(app.id, release.configVersion);
    const base = appContainerSpec(instance, app, release, kind, "S", vars);
    const spec: ContainerSpec = {
      ...base,
      cmd,
      labels: { ...base.labels, [LABEL.role]: "one-off" },
      networkAliases: [],
    };
    const id = await engine.createContainer(spec);
    try {
      await engine.startContainer(id);
      const timeout = AbortSignal.timeout(this.#deps.timeoutMs);
      let exitCode: number;
      try {
        exitCode = await engine.waitContainer(id, AbortSignal.any([signal, timeout]));
      } catch (error) {
        if (signal.aborted) throw error;
        await engine.stopContainer(id, 5);
        exitCode = TIMED_OUT;
      }
      return { exitCode, tail: await this.#tail(id) };
    } finally {
      await engine.removeContainer(id);
    }
  }

  async #tail(id: string): Promise<string> {
    const lines: string[] = [];
    for await (const entry of this.#deps.engine.logs(id, { follow: false, tail: 10 }))
      lines.push(entry.line);
    return lines.join(" | ").slice(-1000);
  }
}

const TIMED_OUT = -1;

function exitText(code: number): string {
  return code === TIMED_OUT ? "timed out" : `exited with code ${String(code)}`;
}

/**
 * Which pending release's phase to run: the newest pending one if no newer release was
 * settled since; every other pending release is superseded. Pure.
 */
export function pendingToRun(releases: readonly Release[]): {
  run: Release | undefined;
  superseded: Release[];
} {
  const sorted = [...releases].sort((a, b) => b.version - a.version);
  const newestSettled = sorted.find((r) => releaseStatus(r) !== "pending")?.version ?? 0;
  const pending = sorted.filter((r) => releaseStatus(r) === "pending");
  const [first, ...rest] = pending;
  if (first === undefined) return { run: undefined, superseded: [] };
  if (first.version < newestSettled) return { run: undefined, superseded: pending };
  return { run: first, superseded: rest };
}
