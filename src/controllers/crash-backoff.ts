import type { CrashRecord } from "../domain/crash-record.ts";

export type { CrashRecord };

/** First delay once a type keeps crashing; doubles with every further crash. */
export const BACKOFF_BASE_MS = 1000;
/** The longest wait between two replacements. */
export const BACKOFF_MAX_MS = 5 * 60_000;
/** A type that has not crashed for this long starts over with no delay. */
export const CRASH_QUIET_MS = 5 * 60_000;
/** Consecutive crashes from which a type is shown as crash-looping. */
export const CRASH_LOOP_COUNT = 3;

/**
 * The record after one more crash at `now`. The first crash is replaced at once; each
 * consecutive one waits twice as long as the one before (1 s, 2 s, 4 s ... up to 5 min),
 * so a process that keeps dying costs little and a one-off crash costs nothing. Pure.
 */
export function recordCrash(previous: CrashRecord | undefined, now: number): CrashRecord {
  const consecutive =
    previous !== undefined && now - previous.lastCrashAt < CRASH_QUIET_MS ? previous.count + 1 : 1;
  const delay =
    consecutive <= 1 ? 0 : Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (consecutive - 2));
  return {
    count: consecutive,
    restarts: (previous?.restarts ?? 0) + 1,
    lastCrashAt: now,
    backoffUntil: now + delay,
  };
}

/** True while the type keeps crashing (shown as "crash-loop"). */
export function isCrashLooping(record: CrashRecord | undefined, now: number): boolean {
  return (
    record !== undefined &&
    record.count >= CRASH_LOOP_COUNT &&
    now - record.lastCrashAt < CRASH_QUIET_MS
  );
}
