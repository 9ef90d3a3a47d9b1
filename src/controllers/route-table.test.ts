import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { App } from "../domain/app.ts";
import { DEFAULT_POLICY } from "../domain/router-policy.ts";
import { buildRouteTable, type RoutableContainer } from "./route-table.ts";

const app: App = { id: "a1", name: "hello", createdAt: "2026-01-01T00:00:00Z" };

function c(
  name: string,
  release: number,
  overrides: Partial<RoutableContainer> = {},
): RoutableContainer {
  return {
    appId: "a1",
    name,
    release,
    processType: "web",
    address: `10.0.0.${release}`,
    port: 5000,
    running: true,
    ready: true,
    ...overrides,
  };
}

describe("buildRouteTable", () => {
  it("routes an app with no containers to no endpoint (the router answers 503)", () => {
    assert.deepEqual(buildRouteTable([app], [], new Map(), "example.test"), {
      apps: [{ app: "hello", hosts: ["hello.example.test"], endpoints: [] }],
    });
  });

  it("serves the release the controller switched to, even when a newer one is booting", () => {
    const table = buildRouteTable([app], [c("old", 1), c("new", 2)], new Map([["a1", 1]]), "t");
    assert.deepEqual(
      table.apps[0]?.endpoints.map((e) => e.name),
      ["old"],
    );
  });

  it("falls back to the newest ready release", () => {
    const table = buildRouteTable(
      [app],
      [c("old", 1), c("new", 2), c("boot", 3, { ready: false })],
      new Map(),
      "t",
    );
    assert.deepEqual(
      table.apps[0]?.endpoints.map((e) => e.name),
      ["new"],
    );
  });

  it("never routes to stopped containers or other process types", () => {
    const table = buildRouteTable(
      [app],
      [c("dead", 1, { running: false }), c("worker", 1, { processType: "worker" })],
      new Map(),
      "t",
    );
    assert.deepEqual(table.apps[0]?.endpoints, []);
  });

  it("carries each app's router policy, and none for apps on the defaults", () => {
    const other: App = { id: "a2", name: "other", createdAt: "2026-01-01T00:00:00Z" };
    const policy = { ...DEFAULT_POLICY, tls: "modern" as const };
    const table = buildRouteTable([app, other], [], new Map(), "t", [], new Map([["a1", policy]]));
    assert.deepEqual(table.apps[0]?.policy, policy);
    assert.equal(table.apps[1]?.policy, undefined);
    assert.ok(!("policy" in (table.apps[1] ?? {})));
  });
});
