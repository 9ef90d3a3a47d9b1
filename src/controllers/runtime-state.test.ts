import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RuntimeState } from "./runtime-state.ts";

/** "routed" once the promise resolved, "aborted" once it rejected, else "waiting". */
function watch(promise: Promise<void>): () => string {
  let outcome = "waiting";
  promise.then(
    () => (outcome = "routed"),
    () => (outcome = "aborted"),
  );
  return () => outcome;
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("RuntimeState.whenRouted", () => {
  it("resolves once the app's traffic goes to the release or a newer one", async () => {
    const state = new RuntimeState();
    const v2 = watch(state.whenRouted("app1", 2, AbortSignal.timeout(5000)));
    state.markRouted("app1", 1);
    state.markRouted("app2", 2);
    await tick();
    assert.equal(v2(), "waiting", "an older release, or another app's, is not it");
    state.markRouted("app1", 3);
    await tick();
    assert.equal(v2(), "routed");
    // Already routed: at once.
    await state.whenRouted("app1", 3, AbortSignal.timeout(5000));
  });

  it("resolves when the app is forgotten, rejects when the signal aborts", async () => {
    const state = new RuntimeState();
    const gone = watch(state.whenRouted("app1", 1, AbortSignal.timeout(5000)));
    state.forgetApp("app1");
    const abort = new AbortController();
    const stopped = watch(state.whenRouted("app1", 1, abort.signal));
    abort.abort();
    await tick();
    assert.equal(gone(), "routed");
    assert.equal(stopped(), "aborted");
    await assert.rejects(state.whenRouted("app1", 1, abort.signal));
  });
});
