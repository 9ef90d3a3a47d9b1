import { join } from "node:path";
import { runBuild } from "../build/builder.ts";
import { openSourceArchive, type SourceArchiveLimits } from "../build/source-archive.ts";
import type { Config } from "../config/config.ts";
import type { Builder, BuildRequest, BuildResult } from "../controllers/build-controller.ts";
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
      const stack = await currentStack(config, engine);
      return runBuild({
        engine,
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
          pids: 2048,
          tmpBytes: 1024 ** 3,
        },
        timeoutSeconds: config.build.timeoutSeconds,
        log: request.log,
        signal: request.signal,
        network: `sw-${config.instance}-build`,
      });
    },
  };
}
