import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { BuildFailedError, ValidationError } from "../domain/errors.ts";
import type { ProcessTypes } from "../domain/procfile.ts";
import type { ImageInfo } from "../engine/engine.ts";
import { runToCompletion } from "./build-container.ts";
import { buildMetaFrom, MAX_META_BYTES } from "./build-meta.ts";
import { splitBuildOutput } from "./build-output.ts";
import {
  buildDockerfileImage,
  dockerfileProcessTypes,
  readDockerfile,
} from "./dockerfile-build.ts";
import { createAppImage, IMAGE_LABELS } from "./app-image.ts";
import { predictAppFiles, type AppFilesPrediction } from "./app-files-preload.ts";
import { knownLayers } from "./layer-images.ts";
import { phaseTimer } from "./build-timings.ts";
import {
  buildCacheVolume,
  buildContainerKey,
  removeBuildContainer,
  startBuildContainer,
  type BuildContainerSetup,
  type StartedBuildContainer,
} from "./started-build-container.ts";
import { joinTars, packTar } from "./tar-files.ts";

export { buildCacheVolume } from "./started-build-container.ts";

/** Where the runner builds the app (BUILD_DIR), and where the source goes in the workspace. */
export const SOURCE_ROOT = "out/slug";

export interface RunBuildOptions extends BuildContainerSetup {
  /** Used in container, volume and image names: letters, digits and dashes. */
  readonly buildId: string;
  /**
   * The validated source as a plain tar (SourceArchive.tar()), its entries under
   * SOURCE_ROOT (or "src/", which the runner moves there).
   */
  readonly sourceTar: Readable;
  /** sha256:... of the uploaded archive (SourceArchive.checksum), recorded on the image. */
  readonly sourceChecksum: string;
  readonly timeoutSeconds: number;
  /** The build log users see, line by line. */
  readonly log: (line: string) => void;
  readonly signal?: AbortSignal;
  /** Buildpacks to try, in order (one word each); default: the runner's detection. */
  readonly buildpacks?: readonly string[];
  /**
   * A build container started ahead for this app (startBuildContainer), used when it was
   * made for this build's setup. Either way the build owns it: it goes with the build.
   */
  readonly container?: StartedBuildContainer | undefined;
  /**
   * The app's config vars: files in ENV_DIR for bin/compile. BUILDPACK_URL / BUILDPACKS
   * among them choose the buildpacks; PIP_INDEX_URL, GOFLAGS and the like reach the tools.
   */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Most bytes the workspace and the app's build cache may hold together; the build fails
   * when it is exceeded (checked every diskCheckMs, default 2000). Default: no cap.
   */
  readonly diskLimitBytes?: number;
  readonly diskCheckMs?: number;
  /**
   * After a successful build, leave the build container and workspace for the caller to
   * remove with BuildResult.cleanUp, once their removal no longer holds up the release:
   * removing a container makes the engine tear down its network, and Podman does the
   * network setup of other containers only after that. A failed build always cleans up
   * before it throws. Default: removed before returning.
   */
  readonly deferCleanup?: boolean;
  /**
   * The app's layer images, when the caller listed them already (while it opened the
   * source): knownLayers picks from them instead of asking the engine again.
   */
  readonly layerImages?: Promise<readonly ImageInfo[]>;
  /**
   * Opens the source tar again (SourceArchive.tar()): read while the buildpacks run, to
   * store the source's layer of the app image ahead (app-files-preload.ts). Default: no
   * such load; the app image is made the same either way.
   */
  readonly openSource?: () => Readable;
  /**
   * Called once the build stored, ahead of its end, the image it will most likely make
   * (app-files-preload.ts): the platform may prepare the release's container from it. A
   * hint: the build's result says which image it made.
   */
  readonly onImage?: (image: ImageInfo) => void;
}

export interface BuildResult {
  /** Image id: immutable, unlike the tag it also gets (slipway/app-NAME:BUILD). */
  readonly imageRef: string;
  readonly imageDigest: string;
  readonly processTypes: ProcessTypes;
  readonly buildpacks: readonly string[];
  readonly stack: string;
  /**
   * Removes the build container and workspace, if deferCleanup left them (else does
   * nothing); rejects with what could not be removed. Safe to call more than once.
   */
  readonly cleanUp: () => Promise<void>;
}

const BUILD_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * Builds an app image from source: buildpacks run in a locked-down build container (the
 * one started ahead for the app, or a new one: from the stack's build image, on the build
 * network, with resource limits and a timeout), and the resulting slug becomes /app on
 * the stack's run image, in a labelled app image. The build container and its workspace
 * volume are removed whatever happens (with deferCleanup, by BuildResult.cleanUp once the
 * build succeeded); the app's cache volume stays for the next build.
 * Throws BuildFailedError with the reason when the app does not build.
 */
export async function runBuild(options: RunBuildOptions): Promise<BuildResult> {
  const { engine, app, buildId, stack, log } = options;
  const invalid = !BUILD_ID.test(buildId)
    ? `invalid build id "${buildId}"`
    : options.buildpacks?.some((buildpack) => !/^\S+$/.test(buildpack)) === true
      ? "a buildpack is named by one word (a URL or a directory)"
      : undefined;
  if (invalid !== undefined) {
    // The container started for this build is the build's, whatever happens.
    if (options.container) await removeBuildContainer(engine, options.container).catch(() => {});
    throw new ValidationError(invalid);
  }
  const labels = { [IMAGE_LABELS.app]: app.name, [IMAGE_LABELS.build]: buildId };
  const cleanup: (() => Promise<void>)[] = [];
  const timer = phaseTimer();
  // The runner's last line once the build is over (build-container.ts).
  const endMarker = `slipway-build-end-${randomBytes(12).toString("hex")}`;
  let succeeded = false;
  let cleaning: Promise<void> | undefined;
  const cleanUp = (): Promise<void> => (cleaning ??= removeAll(cleanup));
  let slug: Promise<Readable> | undefined;
  let made: string | undefined;
  const prediction = predictFor(options);
  if (prediction !== undefined) {
    // The image the load ahead made goes with the build container, unless it is the build's.
    cleanup.push(() => prediction.then((p) => p?.remove(made)));
  }

  try {
    log(`-----> Building on the ${stack.name} stack (${stack.build.reference})`);
    // Layer images a buildpack may reuse without making their files (engines that import
    // whole images need every part's files, so they get none).
    const known =
      engine.buildImage === undefined
        ? Promise.resolve("")
        : knownLayers(engine, app.name, stack.run.imageId, options.layerImages);
    known.catch(() => undefined); // awaited below, unless the container fails first
    const started = await readyBuildContainer(options);
    cleanup.push(() => removeBuildContainer(engine, started));
    if (started === options.container) {
      log("       In the build container started after the app's last build");
    }
    const buildContainer = started.id;

    const inputs = buildInputs(options, await known);
    await engine.putArchive(buildContainer, "/workspace", joinTars([inputs, options.sourceTar]));
    options.signal?.throwIfAborted();
    timer.mark("prepare");

    // The runner waits for this line: the token it ends with, and the buildpacks asked for.
    const goLine = `${[endMarker, ...(options.buildpacks ?? [])].join(" ")}\n`;
    const sent: Buffer | undefined = await runGuarded(
      options,
      buildContainer,
      [started.name, buildCacheVolume(app.name)],
      { endMarker, goLine },
    );
    timer.mark("buildpacks");

    options.signal?.throwIfAborted();
    // The metadata and the slug in one read (the metadata first: build-output.ts), or
    // none when the runner sent them with its end marker.
    const output = splitBuildOutput(
      sent === undefined
        ? await engine.getArchive(buildContainer, "/workspace/out")
        : Readable.from([sent]),
      MAX_META_BYTES,
    );
    slug = Promise.resolve(output.slug); // read below, or destroyed in finally
    const meta = buildMetaFrom(await output.meta);
    timer.mark("meta");
    if (meta.kind === "dockerfile") {
      if (engine.buildImage === undefined) {
        throw new BuildFailedError("this engine cannot build Dockerfiles");
      }
      const facts = readDockerfile(meta.dockerfile);
      const processTypes = dockerfileProcessTypes(facts, meta.procfile);
      log(`-----> Process types: ${Object.keys(processTypes).join(", ")}`);
      const launcher = await readFile(join(options.buildpacksDir, "_runner", "launch.sh"));
      const image = await buildDockerfileImage({
        engine,
        slug: await slug,
        reference: `slipway/app-${app.name}:${buildId}`,
        labels: {
          ...labels,
          [IMAGE_LABELS.sourceChecksum]: options.sourceChecksum,
          [IMAGE_LABELS.stack]: stack.name,
          [IMAGE_LABELS.stackVersion]: stack.version,
          [IMAGE_LABELS.buildpacks]: "dockerfile",
          [IMAGE_LABELS.role]: "app",
        },
        facts,
        extra: [
          { path: ".slipway/launch", content: launcher, mode: 0o755 },
          ...Object.entries(processTypes).map(([type, command]) => ({
            path: `.slipway/processes/${type}`,
            content: command,
            mode: 0o644,
          })),
        ],
        log,
        // The Dockerfile's RUN steps get the build's memory and CPU caps.
        limits: options.limits,
      });
      log(`       slipway/app-${app.name}:${buildId} (${image.digest})`);
      timer.mark("image");
      succeeded = true;
      return {
        imageRef: image.id,
        imageDigest: image.digest,
        processTypes,
        buildpacks: ["dockerfile"],
        stack: stack.name,
        cleanUp,
      };
    }
    const buildpackIds = meta.buildpacks.map((bp) => bp.id);
    log(`-----> Process types: ${Object.keys(meta.processTypes).join(", ")}`);

    log("-----> Creating the image");
    const appFiles = await prediction;
    const image = await createAppImage({
      engine,
      appName: app.name,
      buildId,
      sourceChecksum: options.sourceChecksum,
      stack,
      slug,
      buildpacks: buildpackIds,
      processTypes: meta.processTypes,
      launcher: await readFile(join(options.buildpacksDir, "_runner", "launch.sh")),
      parts: meta.parts.map((part) => ({
        ...part,
        open: () => engine.getArchive(buildContainer, `/workspace/layers/${part.name}`),
      })),
      log,
      layerImages: await options.layerImages,
      ...(appFiles === undefined
        ? {}
        : {
            appFiles: {
              layer: appFiles.layer,
              loaded: appFiles.loaded,
              // What was sent with the end marker, or the container's out/ again.
              reopenSlug: async () =>
                splitBuildOutput(
                  sent === undefined
                    ? await engine.getArchive(buildContainer, "/workspace/out")
                    : Readable.from([sent]),
                  MAX_META_BYTES,
                ).slug,
              ahead: appFiles.ahead,
            },
          }),
    });
    made = image.id;
    log(`       slipway/app-${app.name}:${buildId} (${image.digest})`);
    timer.mark("image");
    succeeded = true;
    return {
      imageRef: image.id,
      imageDigest: image.digest,
      processTypes: meta.processTypes,
      buildpacks: buildpackIds,
      stack: stack.name,
      cleanUp,
    };
  } finally {
    // Unread when the build stopped early: let its producer stop and close the upload.
    options.sourceTar.destroy();
    // Consumed by then when the build succeeded; otherwise its answer must not hold the
    // container's mount while the container is removed.
    await slug?.then((stream) => stream.destroy()).catch(() => undefined);
    if (succeeded && options.deferCleanup === true) {
      // The cleanup is then not part of the build's time.
      log(`-----> Timings: ${timer.summary()}`);
    } else {
      await cleanUp().catch((error: unknown) => {
        const errors = error instanceof AggregateError ? error.errors : [error];
        for (const each of errors) {
          const message = each instanceof Error ? each.message : String(each);
          log(` !     Warning: cleaning up after the build failed: ${message}`);
        }
      });
      if (succeeded) {
        timer.mark("cleanup");
        log(`-----> Timings: ${timer.summary()}`);
      }
    }
  }
}

/**
 * The source's layer, loaded ahead while the buildpacks run (app-files-preload.ts), when
 * the engine appends layers and the build has the source again and the app's layer images.
 */
function predictFor(options: RunBuildOptions): Promise<AppFilesPrediction | undefined> | undefined {
  const { engine, openSource } = options;
  if (openSource === undefined || engine.appendLayer === undefined) return undefined;
  if (engine.buildImage === undefined || options.layerImages === undefined) return undefined;
  return predictAppFiles({
    engine,
    appName: options.app.name,
    buildId: options.buildId,
    source: openSource,
    root: SOURCE_ROOT,
    layerImages: options.layerImages,
    image: {
      appName: options.app.name,
      buildId: options.buildId,
      sourceChecksum: options.sourceChecksum,
      stack: options.stack,
    },
    ...(options.onImage === undefined ? {} : { onImage: options.onImage }),
  });
}

/** Runs the cleanup steps, last added first, every one even when one fails. */
async function removeAll(steps: readonly (() => Promise<void>)[]): Promise<void> {
  const errors: unknown[] = [];
  for (const step of steps.toReversed()) await step().catch((error: unknown) => errors.push(error));
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, "cleaning up after the build failed");
}

/**
 * The build container: the one started ahead for the app (options.container) when it was
 * made for this setup, else a new one. A container that does not fit is removed.
 */
async function readyBuildContainer(options: RunBuildOptions): Promise<StartedBuildContainer> {
  const ahead = options.container;
  if (ahead !== undefined) {
    if (ahead.key === buildContainerKey(options)) return ahead;
    await removeBuildContainer(options.engine, ahead).catch(() => undefined);
  }
  return startBuildContainer(options, `slipway-build-${options.buildId}`);
}

/** Config var names that become ENV_DIR files (others are skipped: not file names). */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;

/** ENV_DIR and the known layers ("NAME KEY" lines), as one tar for /workspace. */
function buildInputs(options: RunBuildOptions, knownLayers: string): Readable {
  const envFiles = Object.entries(options.env ?? {})
    .filter(([name]) => ENV_NAME.test(name))
    .map(([name, value]) => ({ name: `env/${name}`, content: value, mode: 0o600 }));
  const known = { name: "known-layers", content: knownLayers, mode: 0o644 };
  return packTar([...envFiles, known], []);
}

/**
 * Runs the build container to completion under the build's limits: the timeout (in
 * runToCompletion), the disk cap (polled here: volumes on overlay storage have no quota)
 * and the memory cap (the kernel's; an OOM kill is reported as such).
 */
async function runGuarded(
  options: RunBuildOptions,
  containerId: string,
  volumes: readonly string[],
  runner: { readonly endMarker: string; readonly goLine: string },
): Promise<Buffer | undefined> {
  const { engine, diskLimitBytes } = options;
  const disk = new AbortController();
  const done = new AbortController();
  let diskUsed = 0;
  const watchdog = (async () => {
    if (diskLimitBytes === undefined) return;
    const every = options.diskCheckMs ?? 2000;
    const stopped = (): boolean => done.signal.aborted;
    while (!stopped()) {
      await sleep(every, undefined, { signal: done.signal }).catch(() => undefined);
      if (stopped()) return;
      try {
        const sizes = await Promise.all(volumes.map((volume) => engine.volumeUsage(volume)));
        diskUsed = sizes.reduce((a, b) => a + b, 0);
      } catch {
        continue; // A failed measurement is retried; the timeout still bounds the build.
      }
      if (diskUsed > diskLimitBytes) {
        disk.abort(new Error("disk limit"));
        return;
      }
    }
  })();
  const signals = [disk.signal, ...(options.signal ? [options.signal] : [])];
  try {
    return await runToCompletion({
      engine,
      containerId,
      timeoutSeconds: options.timeoutSeconds,
      log: options.log,
      signal: AbortSignal.any(signals),
      ...runner,
    });
  } catch (error) {
    if (disk.signal.aborted) {
      throw new BuildFailedError(
        `build used more than ${mib(diskLimitBytes ?? 0)} MB of disk (workspace and cache: ${mib(diskUsed)} MB)`,
        { cause: error },
      );
    }
    if (error instanceof BuildFailedError && !/timed out/.test(error.message)) {
      const info = await engine.inspectContainer(containerId).catch(() => undefined);
      // The engine knows when the kernel killed the container's main process; when it
      // killed a buildpack's process instead, the runner says so (from the cgroup).
      if (info?.oomKilled === true || /: The build ran out of memory:/.test(error.message)) {
        throw new BuildFailedError(
          `build ran out of memory (limit ${mib(options.limits.memoryBytes)} MB)`,
          { cause: error },
        );
      }
    }
    throw error;
  } finally {
    done.abort();
    await watchdog;
  }
}

function mib(bytes: number): string {
  return String(Math.round(bytes / 2 ** 20));
}
