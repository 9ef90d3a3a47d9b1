import { outputUntilExit } from "../engine/container-output.ts";
import type { Engine } from "../engine/engine.ts";
import { BuildFailedError } from "../domain/errors.ts";

export interface RunToCompletionOptions {
  readonly engine: Pick<Engine, "startContainer" | "waitContainer" | "stopContainer" | "logs">;
  readonly containerId: string;
  readonly timeoutSeconds: number;
  /** Receives every output line of the container. */
  readonly log: (line: string) => void;
  readonly signal?: AbortSignal;
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

  await engine.startContainer(containerId);
  const output = outputUntilExit(engine, containerId, stop);
  let exitCode: number;
  try {
    for (;;) {
      const next = await output.next();
      if (next.done === true) {
        exitCode = next.value;
        break;
      }
      const { line } = next.value;
      options.log(line);
      // The first " !" line is the buildpack's own reason; later ones are generic follow-ups.
      const failure = FAILURE_LINE.exec(line)?.[1];
      if (failure !== undefined && reason.failure === "") reason.failure = failure;
      if (line.trim() !== "") reason.last = line.trim();
    }
  } catch (error) {
    await engine.stopContainer(containerId, 0);
    if (timeout.aborted) {
      throw new BuildFailedError(`build timed out after ${timeoutSeconds} s`, { cause: error });
    }
    throw error;
  }
  if (exitCode !== 0) {
    const why = reason.failure || reason.last || "no output";
    throw new BuildFailedError(`build failed (exit code ${exitCode}): ${why}`);
  }
}
