import { setTimeout as sleep } from "node:timers/promises";
import { NotFoundError } from "../../domain/errors.ts";
import type { EngineApi } from "./api-client.ts";
import { engineSaid } from "./api-errors.ts";
import { joinedContainerOf } from "./decode.ts";
import { asArray, asObject, stringField } from "./json-reader.ts";
import { labelFilters } from "./ownership.ts";

/** Removal right after exit races with Podman's own cleanup ("device or resource busy"). */
const REMOVE_ATTEMPTS = 5;

/** An inspect document by id, undefined when the container is gone. */
type InspectRaw = (id: string) => Promise<unknown>;

/**
 * DELETE /containers/{id} (forced, volumes kept) of a container the caller checked is
 * ours; false when it was gone already.
 */
export async function deleteContainer(
  api: EngineApi,
  id: string,
  inspect: InspectRaw,
  options: { readonly retry?: (error: unknown) => boolean } = {},
): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      await api.json("DELETE", `/containers/${id}`, { query: { force: true, v: false } });
      return true;
    } catch (error) {
      // Podman may report a failed unmount after it has already forgotten the
      // container; an inspect tells at once. Anything still there is retried briefly.
      if (error instanceof NotFoundError) return false;
      if ((await inspect(id)) === undefined) return true;
      if (attempt >= REMOVE_ATTEMPTS || options.retry?.(error) === false) throw error;
      await sleep(100 * attempt);
    }
  }
}

/**
 * Podman's words when a container's process exited while it read that process's state
 * ("read /proc/18460/cgroup: no such process", answered 500): asking again gets the
 * state after the exit.
 */
const EXITED_MEANWHILE = /\/proc\/\d+\/\S*: no such process/;
const INSPECT_ATTEMPTS = 3;

/** GET /containers/{id}/json of any container; undefined when it is gone. */
export async function inspectRaw(api: EngineApi, id: string): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await api.json("GET", `/containers/${encodeURIComponent(id)}/json`);
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      if (attempt >= INSPECT_ATTEMPTS || !engineSaid(error, EXITED_MEANWHILE)) throw error;
      await sleep(10 * attempt);
    }
  }
}

/** The instance's containers that joined this one's namespaces ("container:ID"). */
export async function joinersOf(
  api: EngineApi,
  instance: string,
  id: string,
  inspect: InspectRaw,
): Promise<string[]> {
  const summaries = asArray(
    await api.json("GET", "/containers/json", {
      query: { all: true, filters: labelFilters(instance) },
    }),
    "containers",
  );
  const joiners: string[] = [];
  for (const summary of summaries) {
    const other = stringField(asObject(summary, "container"), "Id");
    if (other === id) continue;
    const document = await inspect(other);
    if (document !== undefined && joinedContainerOf(document) === id) joiners.push(other);
  }
  return joiners;
}
