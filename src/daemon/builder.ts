import { join } from "node:path";
import { APP_JSON_MAX_BYTES, appManifestOf } from "../build/app-json.ts";
import { buildRetryingLostContainer } from "../build/lost-container-retry.ts";
import { runBuild, SOURCE_ROOT, type BuildResult as RunBuildResult } from "../build/builder.ts";
import {
  openSourceArchive,
  type OpenSourceArchiveOptions,
  type SourceArchiveLimits,
} from "../build/source-archive.ts";
import { StandbyBuildContainers } from "../build/standby-build-containers.ts";
import type {
  BuildContainerSetup,
  StartedBuildContainer,
} from "../build/started-build-container.ts";
import type { Config } from "../config/config.ts";
import type { Builder, BuildRequest, BuildResult } from "../controllers/build-controller.ts";
import { LABEL } from "../domain/labels.ts";
import type { App } from "../domain/app.ts";
import type { Logger } from "../domain/logger.ts";
import type { Engine, ImageInfo } from "../engine/engine.ts";
import { LayerImageLookups } from "./layer-image-lookups.ts";
import { StackLookups, stackLookup } from "./stack.ts";
import type { ValidatedSources } from "./validated-sources.ts";
import type { StackImages } from "../build/stack-builder.ts";

/** The built-in buildpacks, shipped in buildpacks/. */
export const BUILDPACKS_DIR = join(import.meta.dirname, "..", "..", "buildpacks");

/** What one upload may hold once unpacked. */
export const SOURCE_LIMITS: SourceArchiveLimits = { maxEntries: 100_000, maxBytes: 2 * 1024 ** 3 };

/** How a build's source is checked: laid out where it is built, its app.json kept. */
export const SOURCE_OPTIONS: OpenSourceArchiveOptions = {
  limits: SOURCE_LIMITS,
  root: SOURCE_ROOT,
  keepRootFiles: ["app.json"],
  maxKeptBytes: APP_JSON_MAX_BYTES,
};

/**
 * The Builder port on buildpacks in build containers of the default stack. prepareNext
 * starts a build container for the app's next build (StandbyBuildContainers;
 * SLIPWAY_BUILD_STANDBY), which that build then uses instead of starting its own.
 */
export function buildpackBuilder(
  config: Config,
  engine: Engine,
  logger: Logger,
  validatedSources?: ValidatedSources,
): Builder {
  const standby = new StandbyBuildContainers({
    idleMs: config.build.standbySeconds * 1000,
    logger,
  });
  const currentStack = stackLookup(config, engine);
  const stackLookups = new StackLookups(currentStack);
  const layerLookups = new LayerImageLookups(engine);
  const setupFor = async (
    app: Pick<App, "id" | "name">,
    stack: Promise<StackImages> = currentStack(),
  ): Promise<BuildContainerSetup> => ({
    engine: config.build.layeredImages ? engine : withoutImageBuilds(engine),
    app,
    stack: await stack,
    buildpacksDir: BUILDPACKS_DIR,
    npmRegistry: config.build.npmRegistry,
    caFiles: config.build.caFiles,
    limits: {
      memoryBytes: config.build.memoryBytes,
      cpus: config.build.cpus,
      pids: config.build.pids,
      tmpBytes: 1024 ** 3,
    },
    network: `sw-${config.instance}-build`,
  });
  const buildWith = async (request: BuildRequest): Promise<BuildResult> => {
    // The stack and the app's layer images are looked up while the source is opened.
    const setting = setupFor(request.app, stackLookups.take());
    setting.catch(() => undefined); // awaited below, unless the source fails first
    const layerImages = config.build.layeredImages
      ? layerLookups.take(request.app.name)
      : undefined;
    layerImages?.catch(() => undefined); // awaited by the build (knownLayers)
    const archive =
      validatedSources?.take(request.sourcePath) ??
      (await openSourceArchive(request.sourcePath, { ...SOURCE_OPTIONS, signal: request.signal }));
    // A malformed app.json fails the build here, before its buildpacks run.
    const manifest = appManifestOf(archive);
    const setup = await setting;
    const attempt = (container: StartedBuildContainer | undefined): Promise<RunBuildResult> =>
      runBuild({
        ...setup,
        // Store ids use "_", engine object names want dashes.
        buildId: request.build.id.replaceAll("_", "-").toLowerCase(),
        sourceTar: archive.tar(),
        // Read again while the buildpacks run: the source's layer is stored ahead.
        openSource: () => archive.tar(),
        ...(request.onImage === undefined
          ? {}
          : { onImage: (image: ImageInfo) => request.onImage?.(image.id) }),
        sourceChecksum: archive.checksum,
        timeoutSeconds: config.build.timeoutSeconds,
        diskLimitBytes: config.build.diskBytes,
        log: request.log,
        signal: request.signal,
        // Config vars reach the buildpacks as ENV_DIR files (never the build log).
        env: request.configVars ?? {},
        // Removed once the release serves (BuildController): removing it sooner would
        // hold up the rollout.
        deferCleanup: true,
        ...(layerImages === undefined ? {} : { layerImages }),
        // Last: from here on, runBuild owns it.
        ...(container === undefined ? {} : { container }),
      });
    const result = await buildRetryingLostContainer(
      attempt,
      await standby.take(request.app.name),
      request.signal,
      (error) => {
        request.log(` !     Warning: ${error.message}; building again in a new build container`);
        logger.warn("a build container stopped before its build began; building again", {
          app: request.app.name,
          build: request.build.id,
          error: error.message,
        });
      },
    );
    return { ...result, manifest };
  };
  return {
    async build(request: BuildRequest): Promise<BuildResult> {
      try {
        return await buildWith(request);
      } finally {
        // It may have made or pruned layer images: a list looked up meanwhile is stale.
        layerLookups.changed(request.app.name);
      }
    },

    expect(app): void {
      stackLookups.lookAhead();
      if (config.build.layeredImages) layerLookups.lookAhead(app.name);
    },

    prepareNext(app: App): void {
      standby.prepare(app.name, setupFor(app));
    },

    forget: (appName) => {
      layerLookups.changed(appName);
      return standby.forget(appName);
    },
    stop: () => standby.stop(),

    async removeLeftovers(): Promise<void> {
      for (const container of await engine.listContainers({ [LABEL.role]: "build" })) {
        await engine.removeContainer(container.id);
      }
      for (const volume of await engine.listVolumes({ [LABEL.role]: "build" })) {
        await engine.removeVolume(volume.name);
      }
    },
  };
}

/** The engine without image builds, so app images are imported whole (for comparisons). */
function withoutImageBuilds(engine: Engine): Engine {
  return new Proxy(engine, {
    get(target, key) {
      if (key === "buildImage" || key === "appendLayer") return undefined;
      const value: unknown = Reflect.get(target, key, target);
      // Methods run on the real object: its private fields are not on the proxy.
      return typeof value === "function" ? (value as () => unknown).bind(target) : value;
    },
  });
}
