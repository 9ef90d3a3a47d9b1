import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LatestWins } from "./latest-wins.ts";

/** A job runner whose runs finish only when the test releases them. */
function gatedRunner() {
  const started: string[] = [];
  const gates: (() => void)[] = [];
  const queue = new LatestWins<string>(async (value) => {
    started.push(value);
    await new Promise<void>((resolve) => gates.push(resolve));
    if (value.startsWith("bad")) throw new Error(`failed ${value}`);
  });
  const release = async () => {
    while (gates.length === 0) await new Promise((resolve) => setImmediate(resolve));
    gates.shift()?.();
  };
  return { queue, started, release };
}

describe("LatestWins", () => {
  it("runs one job at a time and collapses a burst to the newest", async () => {
    const { queue, started, release } = gatedRunner();
    const first = queue.submit("1");
    const second = queue.submit("2");
    const third = queue.submit("3");
    await release();
    await first;
    await release();
    await Promise.all([second, third]);
    assert.deepEqual(started, ["1", "3"]);
  });

  it("gives superseded submissions the outcome of the run that replaced them", async () => {
    const { queue, started, release } = gatedRunner();
    const first = queue.submit("1");
    const second = queue.submit("2");
    const third = queue.submit("bad-3");
    await release();
    await first;
    await release();
    await assert.rejects(second, /failed bad-3/);
    await assert.rejects(third, /failed bad-3/);
    assert.deepEqual(started, ["1", "bad-3"]);
  });

  it("keeps running after a failure", async () => {
    const { queue, started, release } = gatedRunner();
    const failing = queue.submit("bad-1");
    await release();
    await assert.rejects(failing, /failed bad-1/);
    const next = queue.submit("2");
    await release();
    await next;
    assert.deepEqual(started, ["bad-1", "2"]);
  });
});
