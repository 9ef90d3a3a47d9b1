import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { DriverError } from "../../domain/errors.ts";
import { silentLogger, type Logger } from "../../domain/logger.ts";
import { DockerEngine } from "../docker/docker-engine.ts";
import { unmountUnder } from "../mounts.ts";
import type { ForeignObjects } from "../engine.contract.ts";
import type { PodmanLayout } from "../podman-config.ts";
import { runPodman, startPodmanService, stopPodmanService } from "../podman-service.ts";
import { purgeInstance } from "../purge.ts";
import { packTar, tarFile } from "../tar-files.ts";
import { busyboxRootfs } from "./busybox-rootfs.ts";

/**
 * A throwaway Podman service for tests: its own temporary directory, storage, network
 * definitions and socket, a DockerEngine on it, and a busybox image. destroy() removes
 * every container, network, volume and image in it, stops the service, unmounts what is
 * left and deletes the directory — and reports what failed only after trying everything.
 */
export interface PodmanSandbox {
  readonly dir: string;
  readonly layout: PodmanLayout;
  readonly engine: DockerEngine;
  readonly instance: string;
  readonly networkPool: string;
  /** The busybox image, owned by the instance. */
  readonly image: string;
  /** Runs the podman CLI on the sandbox's storage; resolves with stdout. */
  podman(args: readonly string[]): Promise<string>;
  createForeign(): Promise<ForeignObjects>;
  foreignIntact(objects: ForeignObjects): Promise<boolean>;
  destroy(): Promise<void>;
}

/** Why the sandbox cannot run here, or undefined when it can. */
export function sandboxUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (rootful podman with --userns=auto)";
  if (!existsSync("/usr/bin/podman")) return "needs podman";
  if (!existsSync("/bin/busybox")) return "needs busybox-static (/bin/busybox)";
  return undefined;
}

export interface SandboxOptions {
  readonly networkPool?: string;
  readonly log?: Logger;
}

/**
 * The sandbox of one test file: started at its first use and destroyed after the file's
 * tests, even when they fail (a failed start has cleaned up after itself). Call it at the
 * top level of the test file.
 */
export function sandboxPerFile(options: SandboxOptions = {}): () => Promise<PodmanSandbox> {
  let started: Promise<PodmanSandbox> | undefined;
  after(async () => {
    await (await started?.catch(() => undefined))?.destroy();
  });
  return () => (started ??= startPodmanSandbox(options));
}

/** Starts a sandbox; on failure it cleans up what it had started before throwing. */
export async function startPodmanSandbox(options: SandboxOptions = {}): Promise<PodmanSandbox> {
  // Short paths: the run directory holds sockets, whose paths are limited to 107 bytes.
  const dir = await mkdtemp(join(tmpdir(), "sw-"));
  const stateDir = join(dir, "state");
  const runDir = join(dir, "run");
  const log = options.log ?? silentLogger;
  const instance = `test-${randomBytes(4).toString("hex")}`;
  const networkPool = options.networkPool ?? "10.213.0.0/16";
  let engine: DockerEngine | undefined;
  let layout: PodmanLayout | undefined;

  const destroy = async (): Promise<void> => {
    const failures: unknown[] = [];
    const attempt = async (step: () => Promise<unknown>): Promise<void> => {
      try {
        await step();
      } catch (error) {
        failures.push(error);
      }
    };
    if (engine !== undefined) await attempt(() => purgeInstance(engine as DockerEngine));
    if (layout !== undefined) {
      const own = layout;
      // What the purge cannot see: foreign objects made through the CLI, and leftovers.
      for (const args of [
        ["rm", "--all", "--force", "--time", "0"],
        ["network", "prune", "--force"],
        ["volume", "prune", "--force"],
        ["rmi", "--all", "--force"],
      ]) {
        await attempt(() => runPodman(own, args));
      }
    }
    await attempt(() => stopPodmanService({ stateDir, runDir, log }));
    await attempt(() => unmountUnder(dir));
    await attempt(() => rm(dir, { recursive: true, force: true }));
    if (failures.length > 0) throw new AggregateError(failures, `cleaning up ${dir} failed`);
  };

  try {
    const service = await startPodmanService({ stateDir, runDir, runtime: "runc", log });
    layout = service.layout;
    engine = new DockerEngine({ socketPath: service.socketPath, instance, networkPool });
    const image = `slipway-test/busybox:${instance}`;
    await engine.importImage(await busyboxRootfs(), { reference: image, labels: {} });
    const own = layout;
    const podman = async (args: readonly string[]): Promise<string> =>
      (await runPodman(own, args)).stdout;
    return {
      dir,
      layout,
      engine,
      instance,
      networkPool,
      image,
      podman,
      createForeign: () => createForeign(podman, dir),
      foreignIntact: (objects) => foreignIntact(podman, objects),
      destroy,
    };
  } catch (error) {
    await destroy().catch((cleanup: unknown) => {
      log.error("sandbox cleanup failed after a failed start", { error: String(cleanup) });
    });
    throw error;
  }
}

async function createForeign(
  podman: (args: readonly string[]) => Promise<string>,
  dir: string,
): Promise<ForeignObjects> {
  const suffix = randomBytes(3).toString("hex");
  const tar = join(dir, `foreign-${suffix}.tar`);
  const chunks: Buffer[] = [];
  for await (const chunk of packTar([tarFile("etc/foreign", "not slipway's\n")])) {
    chunks.push(chunk as Buffer);
  }
  await writeFile(tar, Buffer.concat(chunks));
  const image = `foreign/image:${suffix}`;
  await podman(["import", tar, image]);
  const network = `foreign-net-${suffix}`;
  await podman(["network", "create", network]);
  const volume = `foreign-vol-${suffix}`;
  await podman(["volume", "create", volume]);
  const container = (
    await podman(["create", "--name", `foreign-${suffix}`, "--network", "none", image, "/x"])
  ).trim();
  return { container, network, volume, image };
}

async function foreignIntact(
  podman: (args: readonly string[]) => Promise<string>,
  objects: ForeignObjects,
): Promise<boolean> {
  const checks: string[][] = [
    ["container", "exists", objects.container],
    ["network", "exists", objects.network],
    ["volume", "exists", objects.volume],
    ["image", "exists", objects.image],
  ];
  for (const args of checks) {
    try {
      await podman(args);
    } catch (error) {
      if (error instanceof DriverError) return false; // "exists" answers 1 for missing
      throw error;
    }
  }
  return true;
}
