import { setTimeout as sleep } from "node:timers/promises";
import { DriverError } from "../../domain/errors.ts";

/** How long to wait for something and how often to look. */
export interface PollOptions {
  readonly timeoutMs: number;
  readonly intervalMs?: number;
}

/**
 * Calls `probe` until it returns a value other than null and returns that value, or null
 * once `timeoutMs` has passed. Errors thrown by `probe` propagate at once.
 */
export async function poll<T>(
  probe: () => Promise<T | null>,
  options: PollOptions,
): Promise<T | null> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null || Date.now() >= deadline) return value;
    await sleep(options.intervalMs ?? 50);
  }
}

/** Like {@link poll}, but running out of time is a DriverError that names `what`. */
export async function waitFor<T>(
  probe: () => Promise<T | null>,
  options: PollOptions & { readonly what: string },
): Promise<T> {
  const value = await poll(probe, options);
  if (value === null) {
    throw new DriverError(
      "haproxy",
      `timed out after ${options.timeoutMs} ms waiting for ${options.what}`,
    );
  }
  return value;
}
