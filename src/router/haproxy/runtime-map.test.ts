import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isEmptyMapChange, mapChange } from "./runtime-map.ts";

describe("mapChange", () => {
  it("adds new keys, sets changed values and removes keys that went", () => {
    const before = "a.example app_a\nb.example app_b\nc.example app_c\n";
    const after = "a.example app_a\nb.example app_x\nd.example app_d\n";
    assert.deepEqual(mapChange(before, after), {
      add: [["d.example", "app_d"]],
      set: [["b.example", "app_x"]],
      remove: ["c.example"],
    });
  });

  it("finds nothing to do for the same entries in another order", () => {
    const change = mapChange(
      "a.example app_a\nb.example app_b\n",
      "b.example app_b\na.example app_a\n",
    );
    assert.ok(isEmptyMapChange(change));
    assert.ok(!isEmptyMapChange(mapChange("", "a.example app_a\n")));
  });
});
