import { setTimeout as sleep } from "node:timers/promises";
import type { RolloutStatus, SubmitBuildOptions } from "../api/deps.ts";
import type { App } from "../domain/app.ts";
import type { Build } from "../domain/build.ts";
import { pollDelayMs } from "../domain/poll-delay.ts";
import type { Release } from "../domain/release.ts";
import { outputLine, resultLine } from "./hook-protocol.ts";

/** What a push needs from the platform: the same build pipeline as a tarball deploy. */
export interface PushDeployDeps {
  /** Validates the archive and creates a pending build (src/daemon/platform.ts). */
  submitBuild(app: App, sourcePath: string, options: SubmitBuildOptions): Promise<Build>;
  buildLog(build: Build, options: { follow: boolean; signal: AbortSignal }): AsyncIterable<string>;
  getBuild(id: string): Promise<Build | undefined>;
  getRelease(id: string): Promise<Release | undefined>;
  rollout(app: App): Promise<RolloutStatus>;
  /**
   * Resolves as soon as the app's traffic goes to `version` or a newer one (or the app is
   * gone); rejects when the signal aborts. Without it, the rollout is only looked at.
   */
  whenServing?(app: App, version: number, signal: AbortSignal): Promise<void>;
  addEvent(appId: string, type: string, message: string): Promise<void>;
  /**
   * A push to the app has begun (git asked for its refs to push): the platform may look
   * up ahead what the push's build will need. A hint; it must not throw.
   */
  pushStarting?(app: App): void;
}

/** Timing knobs (tests shorten them). */
export interface PushTimings {
  /** How long the build row may lag behind the end of its log. */
  readonly settleMs: number;
  /** How long to wait for the new release to serve (boot timeout plus a margin). */
  readonly rolloutMs: number;
  /** The longest pause between two looks (the first ones are shorter: pollDelayMs). */
  readonly pollMs: number;
}

export const DEFAULT_PUSH_TIMINGS: PushTimings = {
  settleMs: 60_000,
  rolloutMs: 120_000,
  pollMs: 50,
};

/**
 * The hook response of a push whose build was submitted: every build log line, then the
 * release and rollout, then the verdict. A failed build fails the push (the branch does not
 * move); a release that does not start in time is reported but keeps the push (the release
 * exists, and the previous one keeps serving until it is ready).
 */
export async function* pushProgress(
  deps: PushDeployDeps,
  app: App,
  build: Build,
  signal: AbortSignal,
  timings: PushTimings = DEFAULT_PUSH_TIMINGS,
): AsyncGenerator<string> {
  yield outputLine(`-----> Build ${build.id} started`);
  for await (const line of deps.buildLog(build, { follow: true, signal })) {
    yield outputLine(line);
  }
  const finished = await settle(deps, build, timings, signal);
  if (finished === undefined) {
    yield resultLine({ ok: false, reason: `build ${build.id} did not finish` });
    return;
  }
  if (finished.status === "failed") {
    yield resultLine({ ok: false, reason: `build failed: ${finished.error ?? "see the log"}` });
    return;
  }
  const release =
    finished.releaseId === null ? undefined : await deps.getRelease(finished.releaseId);
  if (release === undefined) {
    yield resultLine({ ok: true });
    return;
  }
  const version = `v${String(release.version)}`;
  yield outputLine(`-----> Released ${app.name} ${version}; waiting until it serves`);
  const deadline = Date.now() + timings.rolloutMs;
  // Wakes the loop up the moment the router switches, instead of at its next look.
  const done = new AbortController();
  let switched = deps
    .whenServing?.(app, release.version, AbortSignal.any([signal, done.signal]))
    .catch(() => undefined);
  try {
    for (let attempt = 0; ; attempt++) {
      const status = await deps.rollout(app);
      if (status.serving !== null && status.serving >= release.version) {
        yield outputLine(`-----> ${version} is serving`);
        break;
      }
      if ((status.desired !== null && status.desired > release.version) || Date.now() > deadline) {
        yield outputLine(
          `!      ${version} is not serving yet; the previous release keeps serving. See: slipway ps --app ${app.name}`,
        );
        break;
      }
      const pause = sleep(pollDelayMs(attempt, timings.pollMs), "paused", { signal });
      if (switched === undefined) await pause;
      else {
        pause.catch(() => undefined); // when the switch wins, an abort later is no error
        // Once it woke the loop up, only the pauses are left (it also wakes when the app is gone).
        if ((await Promise.race([pause, switched])) !== "paused") switched = undefined;
      }
    }
  } finally {
    done.abort();
  }
  yield resultLine({ ok: true });
}

async function settle(
  deps: PushDeployDeps,
  build: Build,
  timings: PushTimings,
  signal: AbortSignal,
): Promise<Build | undefined> {
  const deadline = Date.now() + timings.settleMs;
  for (let attempt = 0; ; attempt++) {
    const current = await deps.getBuild(build.id);
    if (current === undefined) return undefined;
    if (current.status === "succeeded" || current.status === "failed") return current;
    if (Date.now() > deadline) return undefined;
    await sleep(pollDelayMs(attempt, timings.pollMs), undefined, { signal });
  }
}
