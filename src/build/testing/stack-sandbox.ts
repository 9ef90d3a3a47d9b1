import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../domain/logger.ts";
import { DockerEngine } from "../../engine/docker/docker-engine.ts";
import { unmountUnder } from "../../engine/mounts.ts";
import { startPodmanService, stopPodmanService } from "../../engine/podman-service.ts";
import { purgeInstance } from "../../engine/purge.ts";
import { buildStack, type StackImages } from "../stack-builder.ts";
import { TEST_STACK_CACHE } from "./stack-cache.ts";

/** A throwaway Podman service with the default stack imported, for build integration tests. */
export interface StackSandbox {
  readonly home: string;
  readonly engine: DockerEngine;
  readonly stack: StackImages;
  /** How long importing (or building) the stack took. */
  readonly stackMs: number;
  /** Removes everything the sandbox made: engine objects, the service, mounts, the home. */
  destroy(): Promise<void>;
}

const ROOT = join(import.meta.dirname, "../../..");

/** Starts a sandbox in a fresh temp dir; the caller must destroy() it. */
export async function startStackSandbox(options: {
  readonly prefix: string;
  readonly instance: string;
  readonly networkPool: string;
}): Promise<StackSandbox> {
  const home = await mkdtemp(join(tmpdir(), options.prefix));
  const dirs = { stateDir: join(home, "engine"), runDir: join(home, "run") };
  const service = await startPodmanService({ ...dirs, runtime: "runc", log: silentLogger });
  const engine = new DockerEngine({
    socketPath: service.socketPath,
    instance: options.instance,
    networkPool: options.networkPool,
  });
  const destroy = async (): Promise<void> => {
    try {
      await purgeInstance(engine);
    } finally {
      await stopPodmanService({ ...dirs, log: silentLogger });
      await unmountUnder(home);
      await rm(home, { recursive: true, force: true });
    }
  };
  try {
    const started = Date.now();
    const stack = await buildStack({
      recipeDir: join(ROOT, "stacks/bookworm-24"),
      cacheDir: TEST_STACK_CACHE,
      engine,
      mirror: "http://deb.debian.org/debian",
      log: () => undefined,
    });
    return { home, engine, stack, stackMs: Date.now() - started, destroy };
  } catch (error) {
    await destroy();
    throw error;
  }
}
