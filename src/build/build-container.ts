import type { Engine } from "../engine/engine.ts";
import { BuildFailedError, DriverError } from "../domain/errors.ts";

export interface RunToCompletionOptions {
  readonly engine: Pick<Engine, "startContainer" | "waitContainer" | "stopContainer" | "logs">;
  readonly containerId: string;
  readonly timeoutSeconds: number;
  /** Receives every output line of the container. */
  readonly log: (line: string) => void;
  readonly signal?: AbortSignal;
  /** Called when the container has exited (before its last log lines are read). */
  readonly onExit?: () => void;
}

/** Lines buildpacks print to say why they stopped, in the Heroku style (" !     ..."). */
const FAILURE_LINE = /^\s*!\s+(?!Warning:)(\S.*)$/;

/**
 * Starts a created build container, streams its output to `log` and waits for it to exit.
 * Kills it and throws BuildFailedError when it runs longer than timeoutSeconds or exits
 * non-zero (with the buildpack's own reason, or the last line it printed).
 */
export async function runToCompletion(options: RunToCompletionOptions): Promise<void> {
  const { engine, containerId, timeoutSeconds, signal } = options;
  const timeout = AbortSignal.timeout(timeoutSeconds * 1000);
  const stop = signal ? AbortSignal.any([signal, timeout]) : timeout;
  const reason = { failure: "", last: "" };
  const logStop = new AbortController();

  await engine.startContainer(containerId);
  const streaming = streamLogs(
    engine,
    containerId,
    AbortSignal.any([stop, logStop.signal]),
    (line) => {
      options.log(line);
      // The first " !" line is the buildpack's own reason; later ones are generic follow-ups.
      const failure = FAILURE_LINE.exec(line)?.[1];
      if (failure !== undefined && reason.failure === "") reason.failure = failure;
      if (line.trim() !== "") reason.last = line.trim();
    },
  );

  let exitCode: number;
  try {
    exitCode = await engine.waitContainer(containerId, stop);
    options.onExit?.();
  } catch (error) {
    await engine.stopContainer(containerId, 0);
    logStop.abort();
    await streaming;
    if (timeout.aborted) {
      throw new BuildFailedError(`build timed out after ${timeoutSeconds} s`, { cause: error });
    }
    throw error;
  }
  // The log stream ends when the container exits; wait for its last lines.
  const logError = await streaming;
  if (logError !== undefined) {
    throw new DriverError("engine", "lost the build log", { cause: logError });
  }
  if (exitCode !== 0) {
    const why = reason.failure || reason.last || "no output";
    throw new BuildFailedError(`build failed (exit code ${exitCode}): ${why}`);
  }
}

/** Resolves (never rejects, so it can run unawaited) with the error that ended it, if any. */
async function streamLogs(
  engine: Pick<Engine, "logs">,
  containerId: string,
  signal: AbortSignal,
  onLine: (line: string) => void,
): Promise<unknown> {
  try {
    for await (const { line } of engine.logs(containerId, { follow: true, signal })) onLine(line);
    return undefined;
  } catch (error) {
    // Aborting the stream (timeout, cancel) ends it; anything else is a real failure.
    return signal.aborted ? undefined : error;
  }
}
