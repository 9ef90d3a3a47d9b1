import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { App } from "../domain/app.ts";
import type { Build } from "../domain/build.ts";
import type { Release } from "../domain/release.ts";
import { pushProgress, type PushDeployDeps } from "./push-deploy.ts";

const app = { id: "app_1", name: "shop" } as App;
const build: Build = {
  id: "bld_1",
  appId: app.id,
  status: "succeeded",
  sourceChecksum: "sha256:x",
  createdAt: "",
  finishedAt: "",
  error: null,
  releaseId: "rel_2",
};

/**
 * A platform whose router switches to v2 when switchToV2() is called; sixthLook resolves
 * when the push looks at the rollout for the sixth time (its next pause is then 0.8 s).
 */
function platform(withWhenServing: boolean): PushDeployDeps & {
  switchToV2(): void;
  readonly sixthLook: Promise<void>;
} {
  let serving = 1;
  let looks = 0;
  const switched = Promise.withResolvers<undefined>();
  const sixth = Promise.withResolvers<undefined>();
  return {
    switchToV2() {
      serving = 2;
      switched.resolve(undefined);
    },
    sixthLook: sixth.promise,
    submitBuild: () => Promise.reject(new Error("not here")),
    async *buildLog() {
      await Promise.resolve();
      yield "-----> built";
    },
    getBuild: () => Promise.resolve(build),
    getRelease: () => Promise.resolve({ version: 2 } as Release),
    rollout() {
      if (++looks === 6) sixth.resolve(undefined);
      return Promise.resolve({ desired: 2, serving });
    },
    ...(withWhenServing ? { whenServing: () => switched.promise } : {}),
    addEvent: () => Promise.resolve(),
  };
}

/** Pushes, switches the router during a long pause, and says what was printed right after. */
async function switchDuringPause(withWhenServing: boolean): Promise<{
  readonly rightAfter: readonly string[];
  readonly atTheEnd: readonly string[];
}> {
  const deps = platform(withWhenServing);
  const out: string[] = [];
  const timings = { settleMs: 1000, rolloutMs: 60_000, pollMs: 10_000 };
  const push = (async () => {
    for await (const line of pushProgress(deps, app, build, AbortSignal.timeout(30_000), timings)) {
      out.push(line);
    }
  })();
  await deps.sixthLook;
  await turns(5);
  deps.switchToV2();
  await turns(20);
  const rightAfter = [...out];
  await push;
  return { rightAfter, atTheEnd: out };
}

const turns = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

const serving = (lines: readonly string[]): boolean =>
  lines.some((line) => line.includes("v2 is serving"));

describe("pushProgress", () => {
  it("says the release serves as soon as the router switched, not at its next look", async () => {
    const { rightAfter } = await switchDuringPause(true);
    assert.ok(serving(rightAfter));
  });

  it("without whenServing, notices the switch at its next look", async () => {
    const { rightAfter, atTheEnd } = await switchDuringPause(false);
    assert.ok(!serving(rightAfter));
    assert.ok(serving(atTheEnd));
  });
});
