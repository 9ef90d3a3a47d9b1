import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { ConflictError, NotFoundError } from "../../domain/errors.ts";
import type { VolumeInfo } from "../engine.ts";
import type { EngineApi } from "./api-client.ts";
import { engineSaid } from "./api-errors.ts";
import { toVolumeInfo } from "./decode.ts";
import { asArray, asObject } from "./json-reader.ts";
import {
  assertOwned,
  hasLabels,
  isOwned,
  labelFilters,
  withInstanceLabel,
  type Labels,
} from "./ownership.ts";

/** Named volumes (build workspaces and caches), labelled and owned like everything else. */
export class DockerVolumes {
  readonly #api: EngineApi;
  readonly #instance: string;

  constructor(api: EngineApi, instance: string) {
    this.#api = api;
    this.#instance = instance;
  }

  async ensure(name: string, labels: Labels): Promise<void> {
    const existing = await this.inspect(name);
    if (existing !== undefined) {
      assertOwned(this.#instance, "volume", name, existing.labels);
      return;
    }
    // Creating a volume that exists answers the existing one, so check what came back.
    const created = toVolumeInfo(
      await this.#api.json("POST", "/volumes/create", {
        json: { Name: name, Driver: "local", Labels: withInstanceLabel(this.#instance, labels) },
      }),
    );
    assertOwned(this.#instance, "volume", name, created.labels);
  }

  async remove(name: string): Promise<void> {
    const volume = await this.inspect(name);
    if (volume === undefined) return;
    assertOwned(this.#instance, "volume", name, volume.labels);
    try {
      await this.#api.json("DELETE", `/volumes/${encodeURIComponent(name)}`);
    } catch (error) {
      if (error instanceof NotFoundError) return;
      if (engineSaid(error, /in use|being used/i)) {
        throw new ConflictError(`volume "${name}" is used by a container`, { cause: error });
      }
      throw error;
    }
  }

  async list(labels: Labels = {}): Promise<VolumeInfo[]> {
    const answer = asObject(
      await this.#api.json("GET", "/volumes", {
        query: { filters: labelFilters(this.#instance, labels) },
      }),
      "volumes",
    );
    return asArray(answer.Volumes ?? [], "Volumes")
      .map(toVolumeInfo)
      .filter((info) => isOwned(this.#instance, info.labels) && hasLabels(info.labels, labels));
  }

  /**
   * Disk use of an owned volume: `du` over its mount point. The engine must run on this
   * host (Slipway's own Podman service does); an engine elsewhere answers 0.
   */
  async usage(name: string): Promise<number> {
    let document: Record<string, unknown>;
    try {
      document = asObject(
        await this.#api.json("GET", `/volumes/${encodeURIComponent(name)}`),
        "volume",
      );
    } catch (error) {
      if (error instanceof NotFoundError) return 0;
      throw error;
    }
    assertOwned(this.#instance, "volume", name, toVolumeInfo(document).labels);
    const mountpoint = document.Mountpoint;
    if (typeof mountpoint !== "string" || !mountpoint.startsWith("/")) return 0;
    return diskUsage(mountpoint);
  }

  /** Any volume by name, ours or not; undefined when missing. */
  async inspect(name: string): Promise<VolumeInfo | undefined> {
    try {
      return toVolumeInfo(await this.#api.json("GET", `/volumes/${encodeURIComponent(name)}`));
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }
}

const run = promisify(execFile);

/** Bytes allocated below path (du: one file system, hard links once); 0 when it is gone. */
async function diskUsage(path: string): Promise<number> {
  try {
    const { stdout } = await run("du", ["-s", "-x", "--block-size=1", path], {
      maxBuffer: 1024 * 1024,
    });
    return Number(stdout.split("\t")[0] ?? 0) || 0;
  } catch (error) {
    // du says "No such file" for a volume removed under it, and exits 1 for files that
    // vanished while it counted (a build deleting its temporary files): count what it saw.
    const stdout = (error as { stdout?: unknown }).stdout;
    return typeof stdout === "string" ? Number(stdout.split("\t")[0] ?? 0) || 0 : 0;
  }
}
