import type { Engine, LogLine } from "./engine.ts";

/**
 * The output of a started container, line by line as it comes, until the container
 * exits; the generator then returns the exit code. Every line comes once, in order.
 *
 * A followed log does not end with the container: Podman reads the log file every 0.25 s,
 * so its last lines and its end come up to half a second after the exit. The follow stops
 * as soon as the engine reports the exit, and the rest comes from the finished log
 * (skipping what the follow already delivered).
 *
 * The signal aborts the wait and the follow; the generator then throws the wait's error.
 * An engine error of either throws. Stopping or removing the container is the caller's.
 */
export async function* outputUntilExit(
  engine: Pick<Engine, "logs" | "waitContainer">,
  id: string,
  signal?: AbortSignal,
): AsyncGenerator<LogLine, number> {
  const following = new AbortController();
  const exit = engine.waitContainer(id, signal).finally(() => {
    following.abort();
  });
  exit.catch(() => undefined); // awaited below; an early error of the follow wins
  let delivered = 0;
  const follow =
    signal === undefined ? following.signal : AbortSignal.any([signal, following.signal]);
  for await (const line of engine.logs(id, { follow: true, signal: follow })) {
    delivered++;
    yield line;
  }
  const code = await exit;
  let skip = delivered;
  for await (const line of engine.logs(id, { follow: false })) {
    if (skip > 0) skip--;
    else yield line;
  }
  return code;
}
