import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { WorkQueue } from "./work-queue.ts";

function queue(handler: (key: string) => Promise<void>, errors: string[] = []): WorkQueue {
  return new WorkQueue({
    name: "test",
    concurrency: 2,
    baseDelayMs: 5,
    maxDelayMs: 20,
    handler,
    onError: (key, _error, retryInMs) => errors.push(`${key}:${retryInMs}`),
  });
}

describe("WorkQueue", () => {
  it("dedupes keys that are waiting", async () => {
    const seen: string[] = [];
    const q = queue(async (key) => {
      seen.push(key);
      await new Promise((r) => setTimeout(r, 5));
    });
    q.add("a");
    q.add("b");
    q.add("c");
    q.add("c");
    await q.idle();
    assert.deepEqual(seen.sort(), ["a", "b", "c"]);
  });

  it("runs a key once more when it changed while running, never twice at once", async () => {
    let running = 0;
    let runs = 0;
    const q = queue(async () => {
      running += 1;
      assert.equal(running, 1);
      runs += 1;
      await new Promise((r) => setTimeout(r, 10));
      running -= 1;
    });
    q.add("a");
    await new Promise((r) => setTimeout(r, 2));
    q.add("a");
    q.add("a");
    await q.idle();
    assert.equal(runs, 2);
  });

  it("retries failures with exponential back-off and forgets on success", async () => {
    const errors: string[] = [];
    let attempts = 0;
    const q = queue(async () => {
      attempts += 1;
      if (attempts < 4) throw new Error("not yet");
      await Promise.resolve();
    }, errors);
    q.add("a");
    await new Promise((r) => setTimeout(r, 100));
    await q.idle();
    assert.equal(attempts, 4);
    assert.deepEqual(errors, ["a:5", "a:10", "a:20"]);
  });

  it("addAndWait resolves after a run that started later, and rejects with its error", async () => {
    let fail = true;
    const q = queue(async () => {
      await Promise.resolve();
      if (fail) throw new Error("boom");
    });
    await assert.rejects(q.addAndWait("a"), /boom/);
    fail = false;
    await q.addAndWait("a");
    await q.shutdown();
  });

  it("shutdown stops retries", async () => {
    let attempts = 0;
    const q = queue(async () => {
      attempts += 1;
      await Promise.resolve();
      throw new Error("always");
    });
    q.add("a");
    await new Promise((r) => setTimeout(r, 1));
    await q.shutdown();
    const after = attempts;
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(attempts, after);
  });
});
