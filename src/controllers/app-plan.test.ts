import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Formation } from "../domain/formation.ts";
import type { Release } from "../domain/release.ts";
import { isEmptyPlan, planApp, type ObservedContainer } from "./app-plan.ts";

function release(
  version: number,
  processTypes: Record<string, string> = { web: "npm start" },
): Release {
  return {
    id: `r${version}`,
    appId: "a1",
    version,
    imageDigest: `sha256:${String(version).repeat(64).slice(0, 64)}`,
    imageRef: `img${version}`,
    buildId: null,
    processTypes,
    stack: "slipway-24",
    buildpacks: ["nodejs"],
    description: "",
    createdAt: "2026-01-01T00:00:00Z",
  };
}

const web1: Formation[] = [{ appId: "a1", type: "web", quantity: 1, size: "S" }];

function container(overrides: Partial<ObservedContainer> & { id: string }): ObservedContainer {
  return {
    name: overrides.id,
    processType: "web",
    release: 1,
    size: "S",
    running: true,
    exitCode: null,
    oomKilled: false,
    ready: true,
    ...overrides,
  };
}

describe("planApp", () => {
  it("starts the formation of a first release", () => {
    const plan = planApp(release(1), web1, []);
    assert.deepEqual(plan.starts, [
      { kind: "start", processType: "web", command: "npm start", size: "S" },
    ]);
    assert.deepEqual(plan.stops, []);
  });

  it("does nothing when the app converged", () => {
    assert.ok(isEmptyPlan(planApp(release(1), web1, [container({ id: "c1" })])));
  });

  it("rolls a new release: start new, then stop old", () => {
    const plan = planApp(release(2), web1, [container({ id: "old" })]);
    assert.equal(plan.starts.length, 1);
    assert.deepEqual(plan.stops, [
      { kind: "stop", containerId: "old", name: "old", reason: "replaced by v2" },
    ]);
  });

  it("replaces a crashed container and removes the dead one", () => {
    const plan = planApp(release(1), web1, [
      container({ id: "dead", running: false, exitCode: 137, oomKilled: true }),
    ]);
    assert.equal(plan.starts.length, 1);
    assert.deepEqual(plan.removes, [
      { kind: "remove", containerId: "dead", name: "dead", reason: "killed: out of memory" },
    ]);
  });

  it("scales up and down", () => {
    const three: Formation[] = [{ appId: "a1", type: "web", quantity: 3, size: "S" }];
    assert.equal(planApp(release(1), three, [container({ id: "c1" })]).starts.length, 2);
    const plan = planApp(release(1), web1, [
      container({ id: "c1" }),
      container({ id: "c2", ready: false }),
    ]);
    assert.deepEqual(
      plan.stops.map((s) => [s.containerId, s.reason]),
      [["c2", "scaled down to 1"]],
    );
  });

  it("replaces containers of another size", () => {
    const m: Formation[] = [{ appId: "a1", type: "web", quantity: 1, size: "M" }];
    const plan = planApp(release(1), m, [container({ id: "c1" })]);
    assert.equal(plan.starts[0]?.size, "M");
    assert.equal(plan.stops[0]?.reason, "resized to M");
  });

  it("skips process types the release does not define", () => {
    const worker: Formation[] = [...web1, { appId: "a1", type: "worker", quantity: 1, size: "S" }];
    assert.deepEqual(planApp(release(1), worker, [container({ id: "c1" })]).starts, []);
  });

  it("stops everything when there is no release", () => {
    const plan = planApp(undefined, web1, [container({ id: "c1" })]);
    assert.deepEqual(
      plan.stops.map((s) => s.reason),
      ["app has no release"],
    );
  });
});
