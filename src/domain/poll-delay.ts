/**
 * The pause before the n-th look again (0-based) at something that is about to change: a
 * booting app, a build row, a rollout. Short at first (25, 50, 100 ms: what waits on it is
 * deploy time), then `maxMs`.
 */
export function pollDelayMs(attempt: number, maxMs = 200): number {
  return Math.min(maxMs, 25 * 2 ** attempt);
}
