/**
 * How long each phase of a build took, for the build log's last line ("-----> Timings:
 * prepare 0.6 s, buildpacks 3.1 s, ..."): it shows users and benchmarks where a deploy's
 * time goes without a profiler.
 */
export interface PhaseTimer {
  /** Ends the current phase under `name` and starts the next one. */
  mark(name: string): void;
  /** "prepare 0.6 s, buildpacks 3.1 s, image 0.9 s (total 4.6 s)" */
  summary(): string;
}

/** A timer whose first phase starts now. */
export function phaseTimer(now: () => number = () => performance.now()): PhaseTimer {
  const start = now();
  let last = start;
  const phases: [string, number][] = [];
  return {
    mark(name) {
      const at = now();
      phases.push([name, at - last]);
      last = at;
    },
    summary() {
      const parts = phases.map(([name, ms]) => `${name} ${seconds(ms)}`);
      return `${parts.join(", ")} (total ${seconds(last - start)})`;
    },
  };
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
