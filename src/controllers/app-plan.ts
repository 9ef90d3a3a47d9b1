import type { Formation } from "../domain/formation.ts";
import type { Release } from "../domain/release.ts";

/** What the planner needs to know about one of the app's containers. */
export interface ObservedContainer {
  readonly id: string;
  readonly name: string;
  readonly processType: string;
  /** Release version the container runs. */
  readonly release: number;
  readonly size: string;
  readonly running: boolean;
  readonly exitCode: number | null;
  readonly oomKilled: boolean;
  /** Passed its readiness check since it started. */
  readonly ready: boolean;
}

/** Start one container of a process type from the current release. */
export interface StartAction {
  readonly kind: "start";
  readonly processType: string;
  readonly command: string;
  readonly size: string;
}

/** Take a running container out of the router, then stop and remove it. */
export interface StopAction {
  readonly kind: "stop";
  readonly containerId: string;
  readonly name: string;
  readonly reason: string;
}

/** Remove a container that already stopped (crashed, killed or never started). */
export interface RemoveAction {
  readonly kind: "remove";
  readonly containerId: string;
  readonly name: string;
  readonly reason: string;
}

export type AppAction = StartAction | StopAction | RemoveAction;

/**
 * The actions in the order they must be applied: starts first (the new containers must be
 * ready before anything old leaves), then removals of dead containers, then stops. If a
 * start fails, apply stops there and the old containers keep serving.
 */
export interface AppPlan {
  readonly starts: readonly StartAction[];
  readonly removes: readonly RemoveAction[];
  readonly stops: readonly StopAction[];
}

/**
 * Compares the desired state of an app (its current release and formation) with the
 * containers that exist, and says what to do. Pure: no I/O, table-tested.
 */
export function planApp(
  release: Release | undefined,
  formation: readonly Formation[],
  containers: readonly ObservedContainer[],
): AppPlan {
  const starts: StartAction[] = [];
  const removes: RemoveAction[] = [];
  const stops: StopAction[] = [];

  for (const c of containers) {
    if (!c.running)
      removes.push({ kind: "remove", containerId: c.id, name: c.name, reason: exitReason(c) });
  }
  const running = containers.filter((c) => c.running);
  const kept = new Set<string>();

  if (release !== undefined) {
    for (const entry of formation) {
      const command = release.processTypes[entry.type];
      if (command === undefined || entry.quantity <= 0) continue;
      const current = running
        .filter(
          (c) =>
            c.processType === entry.type && c.release === release.version && c.size === entry.size,
        )
        // Keep ready containers before ones still booting, then the oldest names first.
        .sort((a, b) => Number(b.ready) - Number(a.ready) || a.name.localeCompare(b.name));
      for (const c of current.slice(0, entry.quantity)) kept.add(c.id);
      for (let i = current.length; i < entry.quantity; i++) {
        starts.push({ kind: "start", processType: entry.type, command, size: entry.size });
      }
    }
  }

  for (const c of running) {
    if (kept.has(c.id)) continue;
    stops.push({
      kind: "stop",
      containerId: c.id,
      name: c.name,
      reason: stopReason(c, release, formation),
    });
  }
  return { starts, removes, stops };
}

/** True when the plan changes nothing. */
export function isEmptyPlan(plan: AppPlan): boolean {
  return plan.starts.length === 0 && plan.removes.length === 0 && plan.stops.length === 0;
}

function exitReason(c: ObservedContainer): string {
  if (c.oomKilled) return "killed: out of memory";
  if (c.exitCode === null) return "never started";
  return `exited with code ${c.exitCode}`;
}

function stopReason(
  c: ObservedContainer,
  release: Release | undefined,
  formation: readonly Formation[],
): string {
  if (release === undefined) return "app has no release";
  if (c.release !== release.version) return `replaced by v${release.version}`;
  const entry = formation.find((f) => f.type === c.processType);
  if (entry === undefined || release.processTypes[c.processType] === undefined) {
    return `process type ${c.processType} is no longer in the formation`;
  }
  if (entry.size !== c.size) return `resized to ${entry.size}`;
  return `scaled down to ${entry.quantity}`;
}
