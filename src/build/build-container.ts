import { outputUntilExit } from "../engine/container-output.ts";
import type { Engine, LogLine } from "../engine/engine.ts";
import { packTar, tarFile } from "../engine/tar-files.ts";
import { BuildFailedError, ConflictError } from "../domain/errors.ts";

export interface RunToCompletionOptions {
  readonly engine: Pick<
    Engine,
    "waitContainer" | "stopContainer" | "logs" | "attachOutput" | "putArchive" | "inspectContainer"
  >;
  /** A started build container, waiting for its go line (startBuildContainer). */
  readonly containerId: string;
  readonly timeoutSeconds: number;
  /** Receives every output line of the container. */
  readonly log: (line: string) => void;
  readonly signal?: AbortSignal;
  /** What the runner waits for on stdin before it begins: ends with a newline. */
  readonly goLine: string;
  /**
   * The token the build runner prints, followed by its exit status, once it is done and
   * every process the build started is gone; it then waits to be removed
   * (buildpacks/_runner/build.sh). The build ends at that line, read live from the
   * attached output, instead of at the container's exit: no wait for the engine to notice
   * the exit and tear down the network, and the workspace is then read from a running
   * container, which costs the engine no mount. A runner that dies without it (killed,
   * out of memory) ends the build at its exit.
   */
  readonly endMarker: string;
}

/** Lines buildpacks print to say why they stopped, in the Heroku style (" !     ..."). */
const FAILURE_LINE = /^\s*!\s+(?!Warning:)(\S.*)$/;

/**
 * What Podman writes into an attached stream as it breaks it (its attach race,
 * containers/podman#3302 and #11446: "Error: read unixpacket @->/proc/self/fd/14/attach:
 * read: connection reset by peer"). Not the container's output: it is neither shown nor
 * in the container's log.
 */
const BROKEN_ATTACH = /^Error: .*\bunixpacket\b/;

/** The file the runner also takes its go line from (buildpacks/_runner/go-line.sh). */
const GO_FILE = "go";

/**
 * Begins the build in a started build container (its go line, written through an
 * attached stdin), streams its output to `log` and waits until the build is over (its
 * end marker, or its exit). Kills it and throws BuildFailedError when it runs longer than
 * timeoutSeconds or ends non-zero (with the buildpack's own reason, or the last line it
 * printed). A container that printed its end marker is left running: removing it is the
 * caller's. Resolves with the tar of /workspace/out when the runner sent it along with
 * its end marker (a small one), else undefined: the caller reads it from the container.
 */
export async function runToCompletion(
  options: RunToCompletionOptions,
): Promise<Buffer | undefined> {
  const { engine, containerId, timeoutSeconds, signal, endMarker } = options;
  const timeout = AbortSignal.timeout(timeoutSeconds * 1000);
  const stop = signal ? AbortSignal.any([signal, timeout]) : timeout;
  const reason = { failure: "", last: "" };
  let delivered = 0;
  const show = (line: string): void => {
    delivered++;
    options.log(line);
    // The first " !" line is the buildpack's own reason; later ones are generic follow-ups.
    const failure = FAILURE_LINE.exec(line)?.[1];
    if (failure !== undefined && reason.failure === "") reason.failure = failure;
    if (line.trim() !== "") reason.last = line.trim();
  };

  // Takes one line; true when it was the runner's end marker (then exitCode is its status).
  let exitCode: number | undefined;
  let out: Buffer | undefined;
  const take = ({ line, stream }: LogLine): boolean => {
    const end = stream === "stdout" ? endOf(line, endMarker) : undefined;
    if (end === undefined) {
      show(line);
      return false;
    }
    // Output the runner printed without a newline before the marker is a line too.
    if (end.before !== "") show(end.before);
    exitCode = end.status;
    out = end.out === undefined ? undefined : Buffer.from(end.out, "base64");
    return true;
  };
  // Ends the attach when the container turns out to have stopped before it (below).
  const lost = new AbortController();
  try {
    const attached = await engine.attachOutput(
      containerId,
      AbortSignal.any([stop, lost.signal]),
      options.goLine,
    );
    // This build started the container: once attached, "created" means it stopped before
    // the attach and the engine initialized it again for it (Podman does, as Docker), so
    // the attach waits for a start that never comes.
    const reset = engine.inspectContainer(containerId).then(
      (info) => info?.state === "created",
      () => false, // the attach and the exit tell
    );
    void reset.then((yes) => {
      if (yes) lost.abort();
    });
    for await (const line of attached) {
      if (line.stream === "stderr" && BROKEN_ATTACH.test(line.line)) continue;
      if (take(line)) break;
    }
    // An abort ends the attached output quietly: it is the timeout or a cancel.
    stop.throwIfAborted();
    if (exitCode === undefined && delivered === 0 && (await reset)) {
      throw await stoppedBeforeAttach(engine, containerId, take, undefined);
    }
    if (exitCode === undefined) {
      // No end marker yet: the runner was killed, or the attached stream broke. When it
      // broke before any output, perhaps the go line never got through (and stdin may
      // have closed with it): the line then goes in as a file too, which the runner reads
      // when stdin gave it none (and never looks at otherwise). The log has the rest, and
      // the exit or the marker ends the build.
      if (delivered === 0) {
        await engine
          .putArchive(containerId, "/workspace", packTar([tarFile(GO_FILE, options.goLine)]))
          .catch(() => undefined); // a runner that is gone needs none
      }
      const output = outputUntilExit(engine, containerId, stop);
      let skip = delivered;
      for (;;) {
        const next = await output.next().catch(async (error: unknown) => {
          if (!(error instanceof ConflictError) || delivered > 0) throw error;
          throw await stoppedBeforeAttach(engine, containerId, take, error);
        });
        if (next.done === true) {
          exitCode = next.value;
          break;
        }
        if (skip > 0) skip--;
        else if (take(next.value)) break;
      }
      await output.return(0);
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
  return out;
}

/**
 * The build container stopped before the build began: its runner exited (or was killed)
 * before the attach, and an engine that attaches to an exited container the Docker way
 * (Podman) initializes it again, so the attach got no output and the container reports
 * that it never started. Nothing of the build ran. Its log still holds what the runner
 * printed before it stopped: that goes to the build log, and the error says why.
 */
export class BuildContainerLostError extends BuildFailedError {}

async function stoppedBeforeAttach(
  engine: Pick<Engine, "logs">,
  containerId: string,
  take: (line: LogLine) => boolean,
  cause: unknown,
): Promise<BuildContainerLostError> {
  let last = "";
  try {
    for await (const line of engine.logs(containerId, { follow: false })) {
      take(line);
      if (line.line.trim() !== "") last = line.line.trim();
    }
  } catch {
    // The reason below is all there is.
  }
  return new BuildContainerLostError(
    `the build container stopped before the build began${last === "" ? " (it printed nothing)" : `: ${last}`}`,
    { cause },
  );
}

/**
 * "…TOKEN 0 [BASE64]" → the output before the token, the status and the base64 of
 * /workspace/out's tar if sent; undefined for other lines.
 */
export function endOf(
  line: string,
  marker: string,
): { before: string; status: number; out?: string } | undefined {
  const at = line.lastIndexOf(marker);
  if (at < 0) return undefined;
  const end = /^ (\d{1,3})(?: ([A-Za-z0-9+/]+={0,2}))?$/.exec(line.slice(at + marker.length));
  if (end?.[1] === undefined) return undefined;
  const before = line.slice(0, at);
  return end[2] === undefined
    ? { before, status: Number(end[1]) }
    : { before, status: Number(end[1]), out: end[2] };
}
