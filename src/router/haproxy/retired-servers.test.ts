import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RetiredServers } from "./retired-servers.ts";

const a = { backend: "app_x", name: "a" };
const b = { backend: "app_x", name: "b" };
const c = { backend: "app_y", name: "c" };

describe("RetiredServers", () => {
  it("names the servers retired long enough ago, oldest first", () => {
    const retired = new RetiredServers(1_000);
    retired.retire([b], 100);
    retired.retire([a, c], 50);
    assert.deepEqual(retired.due(1_049), []);
    assert.deepEqual(retired.due(1_100), [a, c, b]);
  });

  it("keeps the first retirement time of a server retired twice", () => {
    const retired = new RetiredServers(1_000);
    retired.retire([a], 0);
    retired.retire([a], 900);
    assert.deepEqual(retired.due(1_000), [a]);
    assert.equal(retired.size, 1);
  });

  it("forgets servers added again or deleted, and everything on clear", () => {
    const retired = new RetiredServers(0);
    retired.retire([a, b, c], 0);
    retired.forget([a]);
    assert.deepEqual(retired.due(0), [b, c]);
    retired.clear();
    assert.equal(retired.size, 0);
    assert.deepEqual(retired.due(0), []);
  });
});
