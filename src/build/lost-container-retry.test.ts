import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BuildFailedError } from "../domain/errors.ts";
import { BuildContainerLostError } from "./build-container.ts";
import { buildRetryingLostContainer } from "./lost-container-retry.ts";

/** A build that fails with each of `failures` in turn, then succeeds; records its containers. */
function flakyBuild(failures: readonly Error[]) {
  const containers: (string | undefined)[] = [];
  const build = (container: string | undefined): Promise<string> => {
    containers.push(container);
    const failure = failures[containers.length - 1];
    return failure === undefined ? Promise.resolve("image") : Promise.reject(failure);
  };
  return { build, containers };
}

describe("buildRetryingLostContainer", () => {
  it("builds once more, in a new container, when the first stopped before its build began", async () => {
    const lost = new BuildContainerLostError("the build container stopped before the build began");
    const { build, containers } = flakyBuild([lost]);
    const heard: string[] = [];
    const result = await buildRetryingLostContainer(
      build,
      "standby",
      new AbortController().signal,
      (e) => heard.push(e.message),
    );
    assert.equal(result, "image");
    assert.deepEqual(containers, ["standby", undefined]);
    assert.deepEqual(heard, [lost.message]);
  });

  it("does not build again after a build failure, a second loss, or a cancel", async () => {
    const failed = new BuildFailedError("build failed (exit code 1): npm ERR!");
    const once = flakyBuild([failed]);
    await assert.rejects(
      buildRetryingLostContainer(once.build, undefined, new AbortController().signal, () => {}),
      failed,
    );
    assert.equal(once.containers.length, 1);

    const lost = new BuildContainerLostError("lost");
    const twice = flakyBuild([lost, lost]);
    await assert.rejects(
      buildRetryingLostContainer(twice.build, undefined, new AbortController().signal, () => {}),
      lost,
    );
    assert.equal(twice.containers.length, 2);

    const cancelled = new AbortController();
    cancelled.abort();
    const aborted = flakyBuild([lost]);
    await assert.rejects(
      buildRetryingLostContainer(aborted.build, undefined, cancelled.signal, () => {}),
      lost,
    );
    assert.equal(aborted.containers.length, 1);
  });
});
