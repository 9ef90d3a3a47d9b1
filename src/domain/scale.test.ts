import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ValidationError } from "./errors.ts";
import type { Release } from "./release.ts";
import { applyScale, parseScaleArgs } from "./scale.ts";

const release = {
  version: 2,
  processTypes: { web: "node server.js", worker: "node worker.js" },
} as unknown as Release;

describe("scale", () => {
  it("parses quantity, quantity and size, and size alone", () => {
    assert.deepEqual(parseScaleArgs(["web=3:M", "worker=1", "web:L", "web=-2"]), [
      { type: "web", quantity: 3, size: "M" },
      { type: "worker", quantity: 1 },
      { type: "web", size: "L" },
      { type: "web", quantity: -2 },
    ]);
    for (const bad of [[], ["web"], ["web=x"], ["=3"]]) {
      assert.throws(() => parseScaleArgs(bad), ValidationError, JSON.stringify(bad));
    }
  });

  it("keeps what a change does not say and normalizes sizes", () => {
    const current = [{ appId: "a", type: "web", quantity: 2, size: "M" }];
    assert.deepEqual(applyScale("a", release, current, [{ type: "web", size: "xl" }], 20), [
      { appId: "a", type: "web", quantity: 2, size: "XL" },
    ]);
    assert.deepEqual(applyScale("a", release, current, [{ type: "worker", quantity: 0 }], 20), [
      { appId: "a", type: "worker", quantity: 0, size: "S" },
    ]);
  });

  it("lists every problem at once", () => {
    assert.throws(
      () =>
        applyScale(
          "a",
          release,
          [],
          [
            { type: "clock", quantity: 1 },
            { type: "web", quantity: 21 },
            { type: "worker", size: "XXL" },
          ],
          20,
        ),
      (error: unknown) =>
        error instanceof ValidationError &&
        /"clock": v2 defines web, worker/.test(error.message) &&
        /from 0 to 20 \(got 21\)/.test(error.message) &&
        /unknown container size "XXL"/.test(error.message),
    );
    assert.throws(() => applyScale("a", undefined, [], [{ type: "web" }], 20), /deploy it/);
    assert.throws(
      () => applyScale("a", release, [], [{ type: "web" }, { type: "web" }], 20),
      /more than once/,
    );
  });
});
