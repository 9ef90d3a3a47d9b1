import { DriverError } from "../../domain/errors.ts";
import { runtimeCommand } from "../metrics/show-stat.ts";

/** How one host map text differs from another ("KEY VALUE" lines, keys unique). */
export interface MapChange {
  readonly add: readonly (readonly [key: string, value: string])[];
  readonly set: readonly (readonly [key: string, value: string])[];
  readonly remove: readonly string[];
}

/** The entries of a map text: "KEY VALUE" per line. */
function entries(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const space = line.indexOf(" ");
    map.set(line.slice(0, space), line.slice(space + 1));
  }
  return map;
}

/** What turns the map `previous` into `next`. Pure. */
export function mapChange(previous: string, next: string): MapChange {
  const before = entries(previous);
  const after = entries(next);
  const add: [string, string][] = [];
  const set: [string, string][] = [];
  for (const [key, value] of after) {
    const old = before.get(key);
    if (old === undefined) add.push([key, value]);
    else if (old !== value) set.push([key, value]);
  }
  const remove = [...before.keys()].filter((key) => !after.has(key));
  return { add, set, remove };
}

export function isEmptyMapChange(change: MapChange): boolean {
  return change.add.length + change.set.length + change.remove.length === 0;
}

/**
 * Applies a host map change to the running workers through the runtime API, identified by
 * the map's file name as the configuration names it. Entries are added and changed before
 * any is removed. Keys and values are validated hosts and backend names (render-validate.ts),
 * so they need no quoting. Throws DriverError when HAProxy refuses a step, so the caller can
 * fall back to a reload (which reads the whole file again).
 */
export async function applyMapChange(
  statsSocket: string,
  mapPath: string,
  change: MapChange,
): Promise<void> {
  const commands = [
    ...change.add.map(([key, value]) => `add map ${mapPath} ${key} ${value}`),
    ...change.set.map(([key, value]) => `set map ${mapPath} ${key} ${value}`),
    ...change.remove.map((key) => `del map ${mapPath} ${key}`),
  ];
  for (const command of commands) {
    const answer = (await runtimeCommand(statsSocket, command)).trim();
    if (answer !== "") throw new DriverError("haproxy", `runtime API "${command}": ${answer}`);
  }
}
