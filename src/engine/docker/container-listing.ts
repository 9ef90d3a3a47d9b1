import { BoundedMap } from "../../domain/bounded-map.ts";
import { NotFoundError } from "../../domain/errors.ts";
import type { ContainerInfo } from "../engine.ts";
import type { EngineApi } from "./api-client.ts";
import {
  asArray,
  asObject,
  objectField,
  optionalString,
  stringField,
  type JsonObject,
} from "./json-reader.ts";

/** How many containers' details are remembered (far more than one machine runs). */
const MAX_REMEMBERED = 1000;

/**
 * Containers with their inspect details, inspected again only when they changed.
 *
 * Every rollout step, crash check and route update lists an app's containers, and the
 * list alone does not do: Podman's compat list answers from its database without looking
 * at the runtime, so a container killed a moment ago can still be listed as running, and
 * it has no exit codes, start times or addresses. So each listed container used to be
 * inspected as well, every time (a list and N inspects: 8-14 ms of a deploy's route
 * update on this 2-core machine).
 *
 * On Podman, its own list with `sync` checks every container's state against the runtime,
 * as an inspect does, and gives each one's state, pid, exit code, name and start time: its
 * run. A container in the same run as at its last inspect (any inspect: the driver hands
 * each one in) has the same details, since an id's labels, image and addresses do not
 * change within a run, so it is not inspected again. A Docker daemon (no libpod API; its
 * own list is current) gets its list and an inspect of each, as before.
 */
export class ContainerListing {
  readonly #api: EngineApi;
  readonly #inspect: (id: string) => Promise<ContainerInfo | undefined>;
  /** Each container's details, with the run they were inspected in. */
  readonly #known = new BoundedMap<string, { readonly run: string; readonly info: ContainerInfo }>(
    MAX_REMEMBERED,
  );
  /** Whether the engine has Podman's list; undefined until the first answer says. */
  #podman: boolean | undefined;

  /** inspect looks a container up (and hands its document to remember()). */
  constructor(api: EngineApi, inspect: (id: string) => Promise<ContainerInfo | undefined>) {
    this.#api = api;
    this.#inspect = inspect;
  }

  /** The containers matching the label filters (JSON, as the list's `filters`). */
  async list(filters: string): Promise<ContainerInfo[]> {
    const entries = await this.#podmanList(filters);
    if (entries === undefined) {
      const summaries = asArray(
        await this.#api.json("GET", "/containers/json", { query: { all: true, filters } }),
        "containers",
      );
      const ids = summaries.map((s) => stringField(asObject(s, "container"), "Id"));
      return present(await Promise.all(ids.map((id) => this.#inspect(id))));
    }
    return present(
      await Promise.all(
        entries.map((entry) => {
          const id = stringField(entry, "Id");
          const known = this.#known.get(id);
          return known?.run === listedRun(entry) ? Promise.resolve(known.info) : this.#inspect(id);
        }),
      ),
    );
  }

  /** Remembers what an inspect answered (the compat document) and what it decoded to. */
  remember(document: unknown, info: ContainerInfo): void {
    this.#known.set(info.id, { run: inspectedRun(document), info });
  }

  /** Forgets a removed container. */
  forget(id: string): void {
    this.#known.delete(id);
  }

  async #podmanList(filters: string): Promise<JsonObject[] | undefined> {
    if (this.#podman === false) return undefined;
    try {
      const answer = await this.#api.json("GET", "/containers/json", {
        api: "libpod",
        query: { all: true, sync: true, filters },
      });
      this.#podman = true;
      return asArray(answer, "containers").map((entry) => asObject(entry, "container"));
    } catch (error) {
      if (!(error instanceof NotFoundError) || this.#podman === true) throw error;
      this.#podman = false; // a Docker daemon: no libpod API
      return undefined;
    }
  }
}

/**
 * A run as Podman's list gives it: state, pid, exit code, name, start (Unix seconds). A
 * pid changes with every start; a stopped container keeps the start of its last run.
 */
export function listedRun(entry: JsonObject): string {
  const names = Array.isArray(entry.Names) ? (entry.Names as unknown[]) : [];
  return run(entry.State, entry.Pid, entry.ExitCode, names[0], entry.StartedAt);
}

/** The same from a compat inspect document (start as RFC 3339, the name with a "/"). */
export function inspectedRun(document: unknown): string {
  const doc = asObject(document, "container");
  const state = objectField(doc, "State");
  const name = optionalString(doc, "Name")?.replace(/^\//, "");
  const started = Date.parse(optionalString(state, "StartedAt") ?? "");
  return run(
    state.Status,
    state.Pid,
    state.ExitCode,
    name,
    Number.isNaN(started) ? undefined : Math.floor(started / 1000),
  );
}

function run(...values: unknown[]): string {
  return JSON.stringify(values);
}

function present(infos: readonly (ContainerInfo | undefined)[]): ContainerInfo[] {
  return infos.filter((info): info is ContainerInfo => info !== undefined);
}
