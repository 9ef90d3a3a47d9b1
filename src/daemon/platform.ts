import { rename, rm } from "node:fs/promises";
import type { ReleaseOps } from "../api/release-ops.ts";
import type { ApiDeps, ProcessInfo, RolloutStatus, SubmitBuildOptions } from "../api/deps.ts";
import { buildCacheVolume } from "../build/builder.ts";
import { openSourceArchive } from "../build/source-archive.ts";
import { APP_PORT, appNetworkName } from "../controllers/container-spec.ts";
import type { Builder } from "../controllers/build-controller.ts";
import type { ControllerManager } from "../controllers/manager.ts";
import type { RuntimeState } from "../controllers/runtime-state.ts";
import { listAppContainers } from "../controllers/observe.ts";
import type { PreparedContainers } from "../controllers/prepared-containers.ts";
import type { App } from "../domain/app.ts";
import type { Build } from "../domain/build.ts";
import { LABEL } from "../domain/labels.ts";
import type { Engine } from "../engine/engine.ts";
import type { GitServer } from "../git/git-server.ts";
import type { Store } from "../store/store.ts";
import { buildLogFile, readBuildLog, sourceFile } from "./build-files.ts";
import { SOURCE_OPTIONS } from "./builder.ts";
import type { ValidatedSources } from "./validated-sources.ts";

export interface PlatformDeps {
  readonly store: Store;
  readonly engine: Engine;
  readonly controllers: ControllerManager;
  readonly state: RuntimeState;
  readonly instance: string;
  readonly maxUploadBytes: number;
  readonly uploadsDir: string;
  readonly sourcesDir: string;
  /** Where submitBuild leaves the archives it checked for their builds. */
  readonly validatedSources?: ValidatedSources;
  readonly buildLogsDir: string;
  /** The git host: its repositories go with their apps. */
  readonly git?: GitServer;
  /** What it keeps for an app's next build goes before the app's build cache. */
  readonly builder?: Pick<Builder, "forget">;
  /** Containers made ahead for releases not yet made: not processes of the app yet. */
  readonly prepared?: Pick<PreparedContainers, "holds">;
}

/**
 * The API's view of the rest of the platform. It writes desired state (a pending build, a
 * deleted app) and reads observed state (containers); the controllers do the work.
 */
export function platformApiDeps(
  deps: PlatformDeps,
): Omit<ApiDeps, "onInternalError" | keyof ReleaseOps> {
  const { store, engine } = deps;
  return {
    store,
    maxUploadBytes: deps.maxUploadBytes,
    uploadDir: deps.uploadsDir,
    ...(deps.git === undefined ? {} : { git: deps.git }),

    async submitBuild(app: App, uploadPath: string, options = {}): Promise<Build> {
      // Refuses a bad archive before anything exists; its build takes what was checked.
      const archive = await openSourceArchive(uploadPath, SOURCE_OPTIONS);
      const stored = sourceFile(deps.sourcesDir, archive.checksum);
      await rename(uploadPath, stored);
      deps.validatedSources?.remember(stored, archive.at(stored));
      try {
        const { commit, createdBy }: SubmitBuildOptions = options;
        return await store.createBuild(app.id, archive.checksum, createdBy ?? null, commit ?? null);
      } catch (error) {
        // Another app's build may be waiting for the same source (one file per checksum);
        // when that cannot be told, the file stays.
        const waiting = await store.unfinishedBuildsOfSource(archive.checksum).then(
          (builds) => builds.length > 0,
          () => true,
        );
        if (!waiting) await rm(stored, { force: true });
        throw error;
      }
    },

    buildLog: (build, options) => readBuildLog(store, deps.buildLogsDir, build, options),

    async processes(app: App): Promise<ProcessInfo[]> {
      const network = appNetworkName(deps.instance, app);
      const crashes = deps.state.crashes(app.id);
      const infos = await Promise.all(
        (await listAppContainers(engine, app.id))
          .filter((c) => deps.prepared?.holds(c.name) !== true)
          .map(async (c): Promise<ProcessInfo> => {
            const address = c.addresses[network];
            const type = c.labels[LABEL.processType] ?? "";
            // A container that stops meanwhile simply has no numbers.
            const stats =
              c.state === "running" ? await engine.stats(c.id).catch(() => undefined) : undefined;
            return {
              id: c.id,
              type,
              release: Number(c.labels[LABEL.release] ?? 0),
              state: c.state,
              startedAt: c.startedAt,
              address: address === undefined ? null : `${address}:${String(APP_PORT)}`,
              ready: deps.state.isReady(c.id),
              unresponsive: deps.state.isUnresponsive(c.id),
              size: c.labels[LABEL.size] ?? "",
              restarts: crashes.get(type)?.restarts ?? 0,
              crashLoop: deps.state.crashLooping(app.id, type),
              cpuPercent: stats?.cpuPercent ?? null,
              memoryBytes: stats?.memoryBytes ?? null,
              memoryLimitBytes: stats?.memoryLimitBytes ?? null,
            };
          }),
      );
      // A type backing off after crashes may have no container at all: still show it.
      for (const [type, record] of crashes) {
        if (infos.some((p) => p.type === type) || !deps.state.crashLooping(app.id, type)) continue;
        infos.push({
          id: "",
          type,
          release: 0,
          state: "crash-loop",
          startedAt: null,
          address: null,
          ready: false,
          restarts: record.restarts,
          crashLoop: true,
        });
      }
      return infos.sort(
        (a, b) => a.type.localeCompare(b.type) || a.release - b.release || a.id.localeCompare(b.id),
      );
    },

    async rollout(app: App): Promise<RolloutStatus> {
      const release = await store.currentRelease(app.id);
      return {
        desired: release?.version ?? null,
        serving: deps.state.routedRelease(app.id) ?? null,
      };
    },

    async destroyApp(app: App): Promise<void> {
      const builds = await store.listBuilds(app.id);
      // Desired state first: the app is gone. The app controller then removes its
      // containers and network (and would again after a crash, from the resync).
      await store.deleteApp(app.id);
      await deps.controllers.reconcileApp(app.id);
      const images = await engine.listImages({ [LABEL.app]: app.name });
      // Newest first: app images stand on the app's layer images (src/build/layer-images.ts).
      images.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
      for (const image of images) {
        await engine.removeImage(image.id);
      }
      await deps.builder?.forget?.(app.name);
      await engine.removeVolume(buildCacheVolume(app.name));
      await deps.git?.removeRepo(app.name);
      for (const build of builds)
        await rm(buildLogFile(deps.buildLogsDir, build.id), { force: true });
    },
    async clearBuildCache(app: App): Promise<void> {
      // The volume is per app (its name holds the app's): removing it cannot touch another
      // app's cache. A build using it right now makes this a ConflictError (409).
      await deps.builder?.forget?.(app.name);
      await engine.removeVolume(buildCacheVolume(app.name));
    },
  };
}
