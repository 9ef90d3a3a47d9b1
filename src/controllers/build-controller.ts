import type { App } from "../domain/app.ts";
import type { Build } from "../domain/build.ts";
import { SlipwayError } from "../domain/errors.ts";
import type { Logger } from "../domain/logger.ts";
import type { Store } from "../store/store.ts";
import type { AppManifest } from "../domain/app-manifest.ts";
import { newId } from "../store/ids.ts";
import { applyFormationDefaults } from "./formation-defaults.ts";
import type { PreparedContainers, UpcomingRelease } from "./prepared-containers.ts";

/** What a builder needs for one build. */
export interface BuildRequest {
  readonly app: App;
  readonly build: Build;
  /** The validated, normalized source tarball. */
  readonly sourcePath: string;
  /** Appends a line to the build log the user sees. */
  readonly log: (line: string) => void;
  readonly signal: AbortSignal;
  /** The app's config vars, for the buildpacks' ENV_DIR. */
  readonly configVars?: Readonly<Record<string, string>>;
  /**
   * Called when the builder stored, before the build's end, the image it will most likely
   * make (its id: BuildResult.imageRef if so). A hint; optional for builders.
   */
  readonly onImage?: (imageRef: string) => void;
}

/** What a successful build produced. */
export interface BuildResult {
  readonly imageRef: string;
  readonly imageDigest: string;
  readonly processTypes: Readonly<Record<string, string>>;
  readonly buildpacks: readonly string[];
  readonly stack: string;
  /** What the app's app.json says, if it has one. */
  readonly manifest?: AppManifest | null;
  /**
   * When the builder left its build container for later: removes it. The controller calls
   * it once the release serves (rolledOut), so that the removal does not compete with the
   * rollout for the engine.
   */
  readonly cleanUp?: () => Promise<void>;
}

/** The builder port: turns source into an image (buildpacks in a build container). */
export interface Builder {
  build(request: BuildRequest): Promise<BuildResult>;
  /**
   * Removes what builds of an earlier run of the daemon left behind (build containers,
   * which may still be running, and their workspaces). Called once at start, before any
   * build runs.
   */
  removeLeftovers?(): Promise<void>;
  /**
   * Prepares the app's next build ahead (starts its build container), in the background:
   * called once a build of the app is over and its release serves, and only while no
   * build of the app is pending or running.
   */
  prepareNext?(app: App): void;
  /**
   * Drops what prepareNext made for the app: called before the app or its build cache
   * goes.
   */
  forget?(appName: string): Promise<void>;
  /**
   * A build of the app is likely soon (a push began): look up ahead what it will need.
   * A hint, in the background; what is looked up must still hold when the build uses it.
   */
  expect?(app: Pick<App, "name">): void;
  /** Removes what it keeps for next builds; called once, when the platform stops. */
  stop?(): Promise<void>;
}

/**
 * Where a build's source and log live. Sources are stored by checksum (the same upload
 * twice is one file), so a source may only be removed once no other build still needs it.
 */
export interface BuildFiles {
  sourcePath(build: Build): string;
  /** Opens the build's log for appending; close() flushes it. */
  openLog(buildId: string): { write(line: string): void; close(): Promise<void> };
  removeSource(build: Build): Promise<void>;
}

export interface BuildControllerDeps {
  readonly store: Store;
  readonly builder: Builder;
  readonly files: BuildFiles;
  readonly logger: Logger;
  /** The app's current config vars and their version (absent: none). */
  readonly configVars?: (
    appId: string,
  ) => Promise<{ version: number | null; vars: Record<string, string> }>;
  /**
   * Resolves once the app's traffic goes to this release or a newer one, or the app is
   * gone; rejects when the signal aborts. What a build left behind is removed then (or
   * after CLEANUP_WAIT_MS). Absent: at once.
   */
  readonly rolledOut?: (appId: string, version: number, signal: AbortSignal) => Promise<void>;
  /**
   * Makes the release's first web container ahead when the builder says which image it
   * will most likely make (PreparedContainers); the release then gets the id and version
   * it was made for, if no other release took that version meanwhile.
   */
  readonly prepared?: Pick<PreparedContainers, "prepare" | "discard">;
}

/**
 * How long the removal of a build's container waits for its release to serve. A release
 * that takes longer to boot (or has no web process) does not keep it longer than that.
 */
export const CLEANUP_WAIT_MS = 10_000;

/**
 * Runs pending builds. A build that succeeds becomes the app's next release (which the
 * app controller then rolls out); one that fails records why and changes nothing else, so
 * the running release keeps serving.
 */
export class BuildController {
  readonly #deps: BuildControllerDeps;
  /** What runs after each build (#afterBuild), until done. */
  readonly #afterBuilds = new Set<Promise<void>>();
  readonly #stopping = new AbortController();

  constructor(deps: BuildControllerDeps) {
    this.#deps = deps;
  }

  /**
   * A daemon that died mid-build left builds "running": they will never finish. Their
   * containers go too.
   */
  async failInterrupted(): Promise<void> {
    const { store } = this.#deps;
    await this.#deps.builder.removeLeftovers?.();
    for (const app of await store.listApps()) {
      for (const build of await store.listBuilds(app.id)) {
        if (build.status === "running") {
          await store.updateBuild(build.id, {
            status: "failed",
            error: "interrupted by a platform restart; deploy again",
            finishedAt: new Date().toISOString(),
          });
        }
      }
    }
  }

  /**
   * Removes what finished builds left behind at once, without waiting for their releases,
   * then stops the builder.
   */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await Promise.all(this.#afterBuilds);
    await this.#deps.builder.stop?.();
  }

  /**
   * Runs the app's pending builds one after another, oldest first. One app's builds never
   * overlap: they share the app's build cache and layer images (a build prunes the layer
   * images it does not stand on), and releases must follow the order of the pushes (a
   * build that finished later must not replace a newer push's release).
   */
  async reconcileApp(appId: string, signal: AbortSignal): Promise<void> {
    const tried = new Set<string>();
    while (!signal.aborted) {
      const builds = await this.#deps.store.listBuilds(appId); // newest first
      const oldest = builds.findLast((build) => build.status === "pending");
      // A build still pending after its turn (its app went away) is not retried here.
      if (oldest === undefined || tried.has(oldest.id)) return;
      tried.add(oldest.id);
      await this.reconcile(oldest.id, signal);
    }
  }

  async reconcile(buildId: string, signal: AbortSignal): Promise<void> {
    const { store, builder, files, logger } = this.#deps;
    const build = await store.getBuild(buildId);
    if (build?.status !== "pending") return;
    const app = await store.getAppById(build.appId);
    if (app === undefined) return;

    await store.updateBuild(build.id, { status: "running" });
    const log = files.openLog(build.id);
    const started = Date.now();
    let cleanUp: (() => Promise<void>) | undefined;
    let released: number | undefined;
    try {
      const config = (await this.#deps.configVars?.(app.id)) ?? { version: null, vars: {} };
      const upcoming = await this.#upcoming(app.id, config.version);
      const { prepared } = this.#deps;
      const result = await builder.build({
        app,
        build,
        sourcePath: files.sourcePath(build),
        log: (line) => {
          log.write(line);
        },
        signal,
        configVars: config.vars,
        ...(upcoming === undefined || prepared === undefined
          ? {}
          : { onImage: (imageRef) => void prepared.prepare(app, { ...upcoming, imageRef }) }),
      });
      ({ cleanUp } = result);
      const release = await store.createRelease({
        ...(upcoming === undefined ? {} : { id: upcoming.id }),
        appId: app.id,
        imageDigest: result.imageDigest,
        imageRef: result.imageRef,
        buildId: build.id,
        processTypes: result.processTypes,
        stack: result.stack,
        buildpacks: result.buildpacks,
        description: `Deploy of build ${build.id}`,
        // A release process type runs first (release phase); until it passed, nothing moves.
        status: "release" in result.processTypes ? "pending" : "succeeded",
        configVersion: config.version,
        deployedBy: build.createdBy ?? null,
        source: build.sourceCommit ?? build.sourceChecksum,
        manifest: result.manifest ?? null,
      });
      released = release.version;
      await applyFormationDefaults(store, app.id, release.version, result.manifest);
      await store.addEvent(
        app.id,
        "release.created",
        `v${String(release.version)} by ${build.createdBy ?? "unknown"}: ${release.description}${release.status === "pending" ? " (release phase pending)" : ""}`,
      );
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      log.write(
        `-----> Build succeeded in ${seconds} s: release v${release.version} (${result.imageDigest})`,
      );
      await store.updateBuild(build.id, {
        status: "succeeded",
        releaseId: release.id,
        finishedAt: new Date().toISOString(),
      });
      await store.addEvent(
        app.id,
        "build.succeeded",
        `build ${build.id} created release v${release.version}`,
      );
    } catch (error) {
      const reason =
        error instanceof SlipwayError ? error.message : `internal error: ${String(error)}`;
      if (!(error instanceof SlipwayError))
        logger.error("build crashed", { build: build.id, error });
      log.write(`!      Build failed: ${reason}`);
      // No rollout follows: the app's next container gets its network prepared again.
      await this.#deps.prepared?.discard(app.id, { renetwork: true });
      await store.updateBuild(build.id, {
        status: "failed",
        error: reason,
        finishedAt: new Date().toISOString(),
      });
      await store.addEvent(app.id, "build.failed", `build ${build.id} failed: ${reason}`);
    } finally {
      this.#afterBuild(build, app, cleanUp, released);
      await log.close();
      // The file is shared by every build of the same source, of any app (two apps
      // deployed from one tree at once): the last one to finish removes it.
      const waiting = (await store.unfinishedBuildsOfSource(build.sourceChecksum)).some(
        (b) => b.id !== build.id,
      );
      if (!waiting) await files.removeSource(build);
    }
  }

  /**
   * The id and version the build's release will most likely get, chosen now so that its
   * container can be made while the build runs; undefined without PreparedContainers.
   */
  async #upcoming(
    appId: string,
    configVersion: number | null,
  ): Promise<Omit<UpcomingRelease, "imageRef"> | undefined> {
    if (this.#deps.prepared === undefined) return undefined;
    const [newest] = await this.#deps.store.listReleases(appId);
    return { id: newId("rel"), appId, version: (newest?.version ?? 0) + 1, configVersion };
  }

  /**
   * After a build, in the background (the app's next build need not wait): once its
   * release serves (or at once without a release), removes what the build left and has
   * the builder prepare the app's next build, unless the app went meanwhile or the
   * controller stops. Failures are logged; the build containers a daemon left behind are
   * removed at its next start.
   */
  #afterBuild(
    build: Build,
    app: App,
    cleanUp: (() => Promise<void>) | undefined,
    version: number | undefined,
  ): void {
    const { store, builder, rolledOut, logger } = this.#deps;
    const task = (async () => {
      if (version !== undefined && rolledOut !== undefined && !this.#stopping.signal.aborted) {
        const until = AbortSignal.any([
          AbortSignal.timeout(CLEANUP_WAIT_MS),
          this.#stopping.signal,
        ]);
        await rolledOut(app.id, version, until).catch(() => undefined);
      }
      await cleanUp?.().catch((error: unknown) => {
        logger.warn("removing a build's container and workspace failed", {
          build: build.id,
          error,
        });
      });
      if (this.#stopping.signal.aborted || (await store.getAppById(app.id)) === undefined) return;
      // A build of the app that is due or under way prepares its own container.
      const builds = await store.listBuilds(app.id);
      if (builds.some((b) => b.status === "pending" || b.status === "running")) return;
      builder.prepareNext?.(app);
    })().finally(() => this.#afterBuilds.delete(task));
    this.#afterBuilds.add(task);
  }
}
