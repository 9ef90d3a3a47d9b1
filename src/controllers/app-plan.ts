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
  /**
   * Found running when the daemon started, but did not answer its check: it is replaced
   * (otherwise it would hold its place in the formation without ever serving).
   */
  readonly unresponsive?: boolean;
  /** When the container started (ms since the epoch), if the engine said. */
  readonly startedAtMs?: number | null;
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
  readonly processType: string;
  /** It stopped on its own (not a container that never started). */
  readonly crashed: boolean;
}

export type AppAction = StartAction | StopAction | RemoveAction;

/**
 * The actions of one rolling step, in the order they must be applied: starts first (the
 * new containers must be ready before anything old leaves), then removals of dead
 * containers, then stops. If a start fails, nothing is stopped and the old containers keep
 * serving. The controller plans again after each step until the plan is empty.
 */
export interface AppPlan {
  readonly starts: readonly StartAction[];
  readonly removes: readonly RemoveAction[];
  readonly stops: readonly StopAction[];
  /**
   * The release the router should send traffic to once the starts are ready: the desired
   * one when it has enough ready web containers, else the one still serving.
   */
  readonly serveRelease: number | undefined;
  /** Some starts wait for a crash back-off; plan again after this many ms. */
  readonly retryAfterMs: number | undefined;
}

/** Inputs besides desired and observed state. */
export interface PlanOptions {
  /** Process type (or "*" for all) to the time a restart was asked (ms since the epoch). */
  readonly restartMarks?: Readonly<Record<string, number>>;
  /** Process type to the time its next start may happen (crash back-off). */
  readonly backoffUntil?: Readonly<Record<string, number>>;
  readonly now?: number;
}

/** Containers started at once while replacing N of them: 1, or 25% of N rounded up. */
export function surgeFor(quantity: number): number {
  return Math.max(1, Math.ceil(quantity / 4));
}

/**
 * Compares the desired state of an app (its current release and formation) with the
 * containers that exist, and says what to do next. Pure: no I/O, table-tested.
 *
 * Rolling rules, per process type with quantity N: a type that only needs to grow starts
 * all missing containers at once; a type whose containers must be replaced (new release,
 * new size, restart) starts at most surgeFor(N) at a time and stops an outdated one only
 * while N others stay ready. Outdated containers of another release leave together once N
 * of the new release are ready, because the router serves one release at a time.
 */
export function planApp(
  release: Release | undefined,
  formation: readonly Formation[],
  containers: readonly ObservedContainer[],
  options: PlanOptions = {},
): AppPlan {
  const now = options.now ?? Date.now();
  const starts: StartAction[] = [];
  const removes: RemoveAction[] = [];
  const stops: StopAction[] = [];
  let retryAfterMs: number | undefined;

  for (const c of containers) {
    if (!c.running) {
      removes.push({
        kind: "remove",
        containerId: c.id,
        name: c.name,
        reason: exitReason(c),
        processType: c.processType,
        crashed: c.exitCode !== null || c.oomKilled,
      });
    }
  }
  const running = containers.filter((c) => c.running);
  const handled = new Set<string>();
  let webSwitches = true;

  if (release !== undefined) {
    for (const entry of formation) {
      const command = release.processTypes[entry.type];
      if (command === undefined || entry.quantity <= 0) continue;
      const quantity = entry.quantity;
      const mark = Math.max(
        options.restartMarks?.[entry.type] ?? 0,
        options.restartMarks?.["*"] ?? 0,
      );
      const ofType = running.filter((c) => c.processType === entry.type);
      for (const c of ofType) handled.add(c.id);
      const isGood = (c: ObservedContainer): boolean =>
        c.unresponsive !== true &&
        c.release === release.version &&
        c.size === entry.size &&
        !(mark > 0 && (c.startedAtMs ?? 0) < mark);
      // Keep ready containers before ones still booting, then the oldest names first.
      const good = ofType
        .filter(isGood)
        .sort((a, b) => Number(b.ready) - Number(a.ready) || a.name.localeCompare(b.name));
      const outdated = ofType.filter((c) => !isGood(c));
      const kept = good.slice(0, quantity);
      for (const c of good.slice(quantity)) {
        stops.push(stop(c, `scaled down to ${String(quantity)}`));
      }

      const missing = quantity - kept.length;
      let startCount = outdated.length === 0 ? missing : Math.min(missing, surgeFor(quantity));
      const until = options.backoffUntil?.[entry.type] ?? 0;
      if (startCount > 0 && until > now) {
        startCount = 0;
        retryAfterMs = Math.min(retryAfterMs ?? Infinity, until - now);
      }
      for (let i = 0; i < startCount; i++) {
        starts.push({ kind: "start", processType: entry.type, command, size: entry.size });
      }

      // A step either fails as a whole or leaves its new containers ready.
      const readyAfter = kept.filter((c) => c.ready).length + startCount;
      if (entry.type === "web" && readyAfter < quantity) webSwitches = false;
      const reason = (c: ObservedContainer): string => outdatedReason(c, release, entry, mark);
      const readyOutdated = outdated
        .filter((c) => c.ready)
        .sort((a, b) => a.release - b.release || a.name.localeCompare(b.name));
      for (const c of outdated.filter((o) => !o.ready)) stops.push(stop(c, reason(c)));
      if (readyAfter >= quantity) {
        for (const c of readyOutdated) stops.push(stop(c, reason(c)));
      } else {
        // Same-release replacements (restart, resize) go one for one, never below N ready.
        const sameRelease = readyOutdated.filter((c) => c.release === release.version);
        const allowed = Math.max(0, readyAfter + sameRelease.length - quantity);
        for (const c of sameRelease.slice(0, allowed)) stops.push(stop(c, reason(c)));
      }
    }
  }

  for (const c of running) {
    if (handled.has(c.id)) continue;
    stops.push(stop(c, goneReason(c, release, formation)));
  }

  let serveRelease: number | undefined;
  if (release !== undefined) {
    const oldReady = running
      .filter((c) => c.processType === "web" && c.ready && c.release !== release.version)
      .map((c) => c.release);
    serveRelease = webSwitches || oldReady.length === 0 ? release.version : Math.max(...oldReady);
  }
  return { starts, removes, stops, serveRelease, retryAfterMs };
}

/** True when the plan changes nothing. */
export function isEmptyPlan(plan: AppPlan): boolean {
  return plan.starts.length === 0 && plan.removes.length === 0 && plan.stops.length === 0;
}

function stop(c: ObservedContainer, reason: string): StopAction {
  return { kind: "stop", containerId: c.id, name: c.name, reason };
}

/** Why a dead container stopped, for its event. */
export function exitReason(c: ObservedContainer): string {
  if (c.oomKilled) return "killed: out of memory";
  if (c.exitCode === null) return "never started";
  return `exited with code ${String(c.exitCode)}`;
}

function outdatedReason(
  c: ObservedContainer,
  release: Release,
  entry: Formation,
  mark: number,
): string {
  if (c.unresponsive === true) return "did not answer its check when the daemon started";
  if (c.release !== release.version) return `replaced by v${String(release.version)}`;
  if (c.size !== entry.size) return `resized to ${entry.size}`;
  if (mark > 0) return "restarted";
  return "replaced";
}

function goneReason(
  c: ObservedContainer,
  release: Release | undefined,
  formation: readonly Formation[],
): string {
  if (release === undefined) return "app has no release";
  const entry = formation.find((f) => f.type === c.processType);
  if (entry === undefined || release.processTypes[c.processType] === undefined) {
    return `process type ${c.processType} is no longer in the formation`;
  }
  return `scaled down to ${String(entry.quantity)}`;
}
