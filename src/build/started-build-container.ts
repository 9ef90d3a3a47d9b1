import { basename } from "node:path";
import type { App } from "../domain/app.ts";
import type { ContainerLimits, ContainerSpec, Engine } from "../engine/engine.ts";
import { IMAGE_LABELS } from "./app-image.ts";
import type { StackImages } from "./stack-builder.ts";
import { packTar } from "./tar-files.ts";

/** What a build container is made of: the same for every build of an app until it changes. */
export interface BuildContainerSetup {
  readonly engine: Engine;
  readonly app: Pick<App, "id" | "name">;
  readonly stack: StackImages;
  /** Directory of buildpacks (buildpacks/ in the repo), including _runner. */
  readonly buildpacksDir: string;
  readonly npmRegistry: string;
  /**
   * Extra CA certificates (PEM files) for the build's TLS clients, put into the workspace
   * with the buildpacks: the runner makes its bundle before the build is asked for.
   */
  readonly caFiles: readonly string[];
  readonly limits: ContainerLimits;
  /**
   * The network build containers join (egress to registries only). Its name should carry
   * the instance: netavark keeps per-network DNS state host-wide.
   */
  readonly network: string;
}

/**
 * A build container that was created and started and now waits for its build: the
 * runner (buildpacks/_runner/build.sh) reads the build's go line from stdin first. It
 * holds the buildpacks and the extra CAs; the build's own inputs go in just before the go
 * line.
 */
export interface StartedBuildContainer {
  /** The engine's container id. */
  readonly id: string;
  /** Its name, also the name of its workspace volume (slipway-build-...). */
  readonly name: string;
  /** What it was made of (buildContainerKey): a build whose setup differs cannot use it. */
  readonly key: string;
}

/** The per-app build cache volume; remove it when the app is deleted. */
export function buildCacheVolume(appName: string): string {
  return `slipway-cache-${appName}`;
}

/** The container spec of a build container; `name` also names its workspace volume. */
function buildContainerSpec(setup: BuildContainerSetup, name: string): ContainerSpec {
  return {
    name,
    image: setup.stack.build.reference,
    cmd: ["/bin/bash", "/workspace/buildpacks/_runner/build.sh"],
    env: {
      STACK: setup.stack.name,
      SLIPWAY_NPM_REGISTRY: setup.npmRegistry,
      // The build's own parameters come on stdin when it begins (build.sh).
      SLIPWAY_BUILD_GO: "stdin",
    },
    labels: {
      [IMAGE_LABELS.app]: setup.app.name,
      [IMAGE_LABELS.build]: name.replace(/^slipway-build-/, ""),
      [IMAGE_LABELS.role]: "build",
    },
    network: setup.network,
    limits: setup.limits,
    workingDir: "/workspace",
    user: "0:0",
    stdin: true,
    volumes: [
      { volume: name, target: "/workspace", readOnly: false },
      { volume: buildCacheVolume(setup.app.name), target: "/cache", readOnly: false },
    ],
  };
}

/**
 * What a build container of this setup is made of, names aside: a container started for
 * one setup serves a build of another only when the keys are equal.
 */
export function buildContainerKey(setup: BuildContainerSetup): string {
  const spec = buildContainerSpec(setup, "slipway-build-*");
  return JSON.stringify({ ...spec, stackImage: setup.stack.build.imageId, ca: setup.caFiles });
}

/**
 * Creates the build network and volumes if needed, then a build container named `name`
 * (slipway-build-...), puts the buildpacks and the extra CAs (as they are now) into its
 * workspace and starts it: it then waits for its go line. What it made is removed again
 * when a step fails.
 */
export async function startBuildContainer(
  setup: BuildContainerSetup,
  name: string,
): Promise<StartedBuildContainer> {
  const { engine, app } = setup;
  const role = { [IMAGE_LABELS.role]: "build" };
  await Promise.all([
    engine.ensureNetwork(setup.network, role),
    engine.ensureVolume(name, { [IMAGE_LABELS.app]: app.name, ...role }),
    // Kept between builds: downloaded toolchains and the npm cache make rebuilds fast.
    engine.ensureVolume(buildCacheVolume(app.name), {
      [IMAGE_LABELS.app]: app.name,
      [IMAGE_LABELS.role]: "build-cache",
    }),
  ]);
  let id: string | undefined;
  try {
    id = await engine.createContainer(buildContainerSpec(setup, name));
    const caFiles = setup.caFiles.map((path, index) => ({
      name: `ca/${String(index)}-${basename(path)}`,
      path,
    }));
    await engine.putArchive(
      id,
      "/workspace",
      packTar(caFiles, [{ dir: setup.buildpacksDir, prefix: "buildpacks" }]),
    );
    await engine.startContainer(id);
    return { id, name, key: buildContainerKey(setup) };
  } catch (error) {
    await removeBuildContainer(engine, { id: id ?? name, name }).catch(() => undefined);
    throw error;
  }
}

/**
 * Removes a build container, then its workspace volume (missing ones are fine); the volume
 * is not tried while the container is still there, since the container would hold it.
 */
export async function removeBuildContainer(
  engine: Engine,
  container: Pick<StartedBuildContainer, "id" | "name">,
): Promise<void> {
  await engine.removeContainer(container.id);
  await engine.removeVolume(container.name);
}
