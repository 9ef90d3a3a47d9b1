import type { ContainerInfo } from "../engine/engine.ts";
import { LABEL } from "../domain/labels.ts";
import type { RuntimeState } from "./runtime-state.ts";

/** How long a container found running gets to answer, at least and at most. */
const ADOPT_PROBE_MS = 2000;
const MAX_ADOPT_PROBE_MS = 10_000;

/**
 * Resolves true once address:port passes its check (HTTP 2xx/3xx on path when a path is
 * given, else a TCP connect) within timeoutMs: waitForHealthy in readiness.ts.
 */
export type ReadinessProbe = (
  address: string,
  port: number,
  timeoutMs: number,
  signal: AbortSignal,
  path?: string | null,
) => Promise<boolean>;

export interface AdoptionDeps {
  readonly state: RuntimeState;
  readonly probe: ReadinessProbe;
  /** Ensures the app's network and its isolation rules. */
  readonly ensureNetwork: () => Promise<unknown>;
  readonly now: () => number;
}

export interface AdoptionTarget {
  /** The app's network, where its containers' addresses are. */
  readonly network: string;
  readonly port: number;
  readonly bootTimeoutSeconds: number;
  readonly healthcheckPath: string | null | undefined;
}

/**
 * Containers running but not known to be ready (they survived a daemon restart) are
 * probed, all at once: kept if they answer, else marked unresponsive so the planner
 * replaces them. One that started recently gets more of its boot timeout to answer (up
 * to MAX_ADOPT_PROBE_MS: one that booted before the restart answers at once).
 *
 * These containers run on a network this daemon has not checked: its isolation rules may
 * have been lost meanwhile (an iptables flush, another tool), and then the probe could not
 * reach the app either. The network is checked, and its rules restored, first.
 */
export async function adoptContainers(
  deps: AdoptionDeps,
  target: AdoptionTarget,
  containers: readonly ContainerInfo[],
  signal: AbortSignal,
): Promise<void> {
  const { state, probe } = deps;
  const unknown = containers.filter(
    (c) => c.state === "running" && !state.isReady(c.id) && !state.isUnresponsive(c.id),
  );
  if (unknown.length === 0) return;
  await deps.ensureNetwork();
  await Promise.all(
    unknown.map(async (c) => {
      if (c.labels[LABEL.processType] !== "web") {
        state.markReady(c.id);
        return;
      }
      const address = c.addresses[target.network];
      const startedAt = c.startedAt === null ? 0 : Date.parse(c.startedAt);
      const bootLeftMs = target.bootTimeoutSeconds * 1000 - (deps.now() - startedAt);
      const timeoutMs = Math.max(ADOPT_PROBE_MS, Math.min(bootLeftMs, MAX_ADOPT_PROBE_MS));
      const answers =
        address !== undefined &&
        (await probe(address, target.port, timeoutMs, signal, target.healthcheckPath));
      if (answers) state.markReady(c.id);
      else if (!signal.aborted) state.markUnresponsive(c.id);
    }),
  );
}
