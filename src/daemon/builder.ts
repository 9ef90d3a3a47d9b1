import { join } from "node:path";
import { readAppManifest } from "../build/app-json.ts";
import { runBuild } from "../build/builder.ts";
import { openSourceArchive, type SourceArchiveLimits } from "../build/source-archive.ts";
import type { Config } from "../config/config.ts";
import type { Builder, BuildRequest, BuildResult } from "../controllers/build-controller.ts";
import { LABEL } from "../domain/labels.ts";
import type { Engine } from "../engine/engine.ts";
import { currentStack } from "./stack.ts";

/** The built-in buildpacks, shipped in buildpacks/. */
export const BUILDPACKS_DIR = join(import.meta.dirname, "..", "..", "buildpacks");

/** What one upload may hold once unpacked. */
export const SOURCE_LIMITS: SourceArchiveLimits = { maxEntries: 100_000, maxBytes: 2 * 1024 ** 3 };

/** The Builder port on buildpacks in build containers of the default stack. */
export function buildpackBuilder(config: Config, engine: Engine): Builder {
  return {
    async build(request: BuildRequest): Promise<BuildResult> {
      const archive = await openSourceArchive(request.sourcePath, {
        limits: SOURCE_LIMITS,
        signal: request.signal,
      });
      // A malformed app.json fails the build here, before a build container starts.
      const manifest = await readAppManifest(archive.tar());
      const stack = await currentStack(config, engine);
      const result = await runBuild({
        engine: config.build.layeredImages ? engine : withoutImageBuilds(engine),
        app: request.app,
        // Store ids use "_", engine object names want dashes.
        buildId: request.build.id.replaceAll("_", "-").toLowerCase(),
        sourceTar: archive.tar(),
        sourceChecksum: archive.checksum,
        stack,
        buildpacksDir: BUILDPACKS_DIR,
        caFiles: config.build.caFiles,
        npmRegistry: config.build.npmRegistry,
        limits: {
          memoryBytes: config.build.memoryBytes,
          cpus: config.build.cpus,
          pids: config.build.pids,
          tmpBytes: 1024 ** 3,
        },
        timeoutSeconds: config.build.timeoutSeconds,
        diskLimitBytes: config.build.diskBytes,
        log: request.log,
        signal: request.signal,
        network: `sw-${config.instance}-build`,
        // Config vars reach the buildpacks as ENV_DIR files (never the build log).
        env: request.configVars ?? {},
        // The release is made while the build container is removed.
        deferCleanup: true,
      });
      return { ...result, manifest };
    },

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
