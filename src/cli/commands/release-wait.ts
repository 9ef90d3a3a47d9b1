import { setTimeout as sleep } from "node:timers/promises";
import type { RolloutStatus } from "../../api/deps.ts";
import { pollDelayMs } from "../../domain/poll-delay.ts";
import type { Release } from "../../domain/release.ts";
import type { ApiClient } from "../client.ts";
import { appPath, type Items } from "./common.ts";

/** The platform's boot timeout (60 s) plus time to start, route and drain. */
const ROLLOUT_TIMEOUT_MS = 120_000;
/** A release phase may run this long before we stop waiting (the platform's own limit). */
const PHASE_TIMEOUT_MS = 15 * 60_000;
/** The longest pause between two looks; the first ones are shorter (pollDelayMs). */
const INTERVAL_MS = 100;

/** How waiting for a release ended. */
export type ReleaseOutcome =
  | { readonly kind: "serving" }
  | { readonly kind: "failed"; readonly detail: string }
  | { readonly kind: "superseded" }
  | { readonly kind: "timeout" };

/**
 * Waits until the router serves release `version`: its release phase (if any) passed, its
 * containers passed their checks, and the old ones left the router. Stops early when the
 * release failed (with why) or a newer one replaced it.
 */
export async function waitForRelease(
  client: ApiClient,
  app: string,
  version: number,
): Promise<ReleaseOutcome> {
  const started = Date.now();
  let deadline = started + ROLLOUT_TIMEOUT_MS;
  for (let round = 0; Date.now() < deadline; round++) {
    const status = await client.get<RolloutStatus>(appPath(app, "/rollout"));
    if (status.serving !== null && status.serving >= version) return { kind: "serving" };
    if (status.desired !== null && status.desired > version) return { kind: "superseded" };
    if (round % 4 === 0) {
      const { items } = await client.get<Items<Release>>(appPath(app, "/releases"));
      const release = items.find((r) => r.version === version);
      if (release?.status === "failed") {
        return { kind: "failed", detail: release.statusDetail ?? "it failed" };
      }
      // While the release phase runs, the rollout has not started yet.
      if (release?.status === "pending")
        deadline = Math.max(
          deadline,
          Math.min(Date.now(), started + PHASE_TIMEOUT_MS) + ROLLOUT_TIMEOUT_MS,
        );
    }
    await sleep(pollDelayMs(round, INTERVAL_MS));
  }
  return { kind: "timeout" };
}

/** One line for an outcome that is not "serving". */
export function outcomeMessage(app: string, version: number, outcome: ReleaseOutcome): string {
  const v = `v${String(version)}`;
  switch (outcome.kind) {
    case "serving":
      return `${v} is serving`;
    case "failed":
      return `${v} failed: ${outcome.detail}. The previous release keeps serving. See: slipway events --app ${app}`;
    case "superseded":
      return `${v} was replaced by a newer release before it served`;
    case "timeout":
      return `${v} is not serving yet; the previous release keeps serving. See: slipway ps --app ${app}`;
  }
}
