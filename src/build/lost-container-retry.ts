import { BuildContainerLostError } from "./build-container.ts";

/**
 * Runs a build with `first` (the app's standby build container, if any), and once more in
 * a new container when the first one stopped before its build began
 * (BuildContainerLostError: nothing of the build ran, so running it again repeats
 * nothing). `retrying` hears why, before the second run. Any other failure, a second
 * loss, or a cancelled build is thrown as it is.
 */
export async function buildRetryingLostContainer<C, T>(
  build: (container: C | undefined) => Promise<T>,
  first: C | undefined,
  signal: AbortSignal,
  retrying: (error: BuildContainerLostError) => void,
): Promise<T> {
  try {
    return await build(first);
  } catch (error) {
    if (!(error instanceof BuildContainerLostError) || signal.aborted) throw error;
    retrying(error);
    return build(undefined);
  }
}
