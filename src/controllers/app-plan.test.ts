import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Formation } from "../domain/formation.ts";
import type { Release } from "../domain/release.ts";
import { isEmptyPlan, planApp, surgeFor, type ObservedContainer } from "./app-plan.ts";
import { recordCrash, isCrashLooping, type CrashRecord } from "./crash-backoff.ts";

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

  it("replaces a container that did not answer when the daemon started", () => {
    const stuck = container({ id: "stuck", ready: false, unresponsive: true });
    const plan = planApp(release(1), web1, [stuck]);
    assert.equal(plan.starts.length, 1);
    assert.deepEqual(plan.stops, [
      {
        kind: "stop",
        containerId: "stuck",
        name: "stuck",
        reason: "did not answer its check when the daemon started",
      },
    ]);
    // Still booting (not yet probed as unresponsive): kept, nothing started beside it.
    assert.ok(isEmptyPlan(planApp(release(1), web1, [{ ...stuck, unresponsive: false }])));
  });

  it("replaces a crashed container and removes the dead one", () => {
    const plan = planApp(release(1), web1, [
      container({ id: "dead", running: false, exitCode: 137, oomKilled: true }),
    ]);
    assert.equal(plan.starts.length, 1);
    assert.deepEqual(plan.removes, [
      {
        kind: "remove",
        containerId: "dead",
        name: "dead",
        reason: "killed: out of memory",
        processType: "web",
        crashed: true,
      },
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

  describe("table: scale, resize, restart and surge batches", () => {
    const web = (quantity: number, size = "S"): Formation[] => [
      { appId: "a1", type: "web", quantity, size },
    ];
    const many = (n: number, extra: Partial<ObservedContainer> = {}): ObservedContainer[] =>
      Array.from({ length: n }, (_, i) => container({ id: `c${String(i)}`, ...extra }));
    const cases: {
      name: string;
      release: number;
      formation: Formation[];
      containers: ObservedContainer[];
      marks?: Record<string, number>;
      starts: number;
      stops: number;
      serve: number;
    }[] = [
      {
        name: "scale 1 -> 3 starts 2 at once",
        release: 1,
        formation: web(3),
        containers: many(1),
        starts: 2,
        stops: 0,
        serve: 1,
      },
      {
        name: "scale 3 -> 1 stops 2",
        release: 1,
        formation: web(1),
        containers: many(3),
        starts: 0,
        stops: 2,
        serve: 1,
      },
      {
        name: "scale to 0 stops all",
        release: 1,
        formation: web(0),
        containers: many(2),
        starts: 0,
        stops: 2,
        serve: 1,
      },
      {
        name: "resize 4 -> M: one at a time, one stop",
        release: 1,
        formation: web(4, "M"),
        containers: many(4),
        starts: 1,
        stops: 1,
        serve: 1,
      },
      {
        name: "resize 8 -> M: surge 2, two stops",
        release: 1,
        formation: web(8, "M"),
        containers: many(8),
        starts: 2,
        stops: 2,
        serve: 1,
      },
      {
        name: "restart 3: one new, one old stops",
        release: 1,
        formation: web(3),
        containers: many(3, { startedAtMs: 1000 }),
        marks: { "*": 2000 },
        starts: 1,
        stops: 1,
        serve: 1,
      },
      {
        name: "restart of another type leaves web alone",
        release: 1,
        formation: web(3),
        containers: many(3, { startedAtMs: 1000 }),
        marks: { worker: 2000 },
        starts: 0,
        stops: 0,
        serve: 1,
      },
      {
        name: "new release for 4: first batch, old keep serving",
        release: 2,
        formation: web(4),
        containers: many(4),
        starts: 1,
        stops: 0,
        serve: 1,
      },
      {
        name: "new release for 4: last batch switches and stops all old",
        release: 2,
        formation: web(4),
        containers: [
          ...many(4),
          ...many(3, { release: 2 }).map((c) => ({ ...c, id: `n${c.id}`, name: `n${c.id}` })),
        ],
        starts: 1,
        stops: 4,
        serve: 2,
      },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const plan = planApp(release(c.release), c.formation, c.containers, {
          restartMarks: c.marks ?? {},
          now: 10_000,
        });
        assert.equal(plan.starts.length, c.starts, "starts");
        assert.equal(plan.stops.length, c.stops, "stops");
        assert.equal(plan.serveRelease, c.serve, "serves");
      });
    }

    it("surges 1 or 25% of the quantity", () => {
      assert.deepEqual([1, 2, 4, 5, 8, 20].map(surgeFor), [1, 1, 1, 2, 2, 5]);
    });

    it("never drops below N ready across a whole restart", () => {
      let containers = many(4, { startedAtMs: 1000 });
      let next = 0;
      for (let step = 0; step < 10; step++) {
        const plan = planApp(release(1), web(4), containers, { restartMarks: { "*": 2000 } });
        if (isEmptyPlan(plan)) break;
        for (let i = 0; i < plan.starts.length; i++) {
          containers.push(container({ id: `new${String(next++)}`, startedAtMs: 3000 }));
        }
        const stopped = new Set(plan.stops.map((s) => s.containerId));
        containers = containers.filter((c) => !stopped.has(c.id));
        assert.ok(containers.length >= 4);
      }
      assert.deepEqual(
        containers.map((c) => c.startedAtMs),
        [3000, 3000, 3000, 3000],
      );
    });
  });

  describe("crash back-off", () => {
    it("holds starts of a type while its back-off runs and says when to retry", () => {
      const plan = planApp(release(1), web1, [], { backoffUntil: { web: 15_000 }, now: 10_000 });
      assert.equal(plan.starts.length, 0);
      assert.equal(plan.retryAfterMs, 5000);
      const later = planApp(release(1), web1, [], { backoffUntil: { web: 15_000 }, now: 15_000 });
      assert.equal(later.starts.length, 1);
    });

    it("replaces the first crash at once, then waits 1 s, 2 s, 4 s ... up to 5 min", () => {
      let record: CrashRecord | undefined;
      const delays: number[] = [];
      for (let i = 0; i < 12; i++) {
        const now = i * 1000;
        record = recordCrash(record, now);
        delays.push(record.backoffUntil - now);
      }
      assert.deepEqual(delays.slice(0, 5), [0, 1000, 2000, 4000, 8000]);
      assert.equal(delays.at(-1), 300_000);
      assert.equal(record?.restarts, 12);
      assert.ok(isCrashLooping(record, 12_000));
      assert.ok(!isCrashLooping(record, 12_000 + 10 * 60_000));
      assert.equal(recordCrash(record, 12_000 + 10 * 60_000).count, 1);
    });
  });
});
