import assert from "node:assert/strict";
import { after, afterEach, beforeEach, describe, it } from "node:test";
import { install, runCli, scratch, type Installation } from "../cli/test-kit.ts";
import { apiHarness, expectProblem, type ApiHarness } from "./test-harness.ts";

describe("DELETE /v1/apps/:name/build-cache", () => {
  let h: ApiHarness;
  beforeEach(async () => {
    h = await apiHarness();
    await h.store.createApp("shop");
  });
  afterEach(async () => {
    await h.close();
  });

  it("clears the app's cache and answers 204", async () => {
    const res = await h.request("/v1/apps/shop/build-cache", { method: "DELETE" });
    assert.equal(res.status, 204);
    assert.deepEqual(h.deps.calls.cacheCleared, ["shop"]);
  });

  it("answers 404 for an unknown app and clears nothing", async () => {
    const res = await h.request("/v1/apps/nope/build-cache", { method: "DELETE" });
    await expectProblem(res, 404, "app_not_found");
    assert.equal(h.deps.calls.cacheCleared, undefined);
  });
});

describe("slipway builds:cache:clear", () => {
  const dirs = scratch("slipway-cache-cli-");
  let slipway: Installation;
  beforeEach(async () => {
    slipway = await install(dirs);
    await slipway.store.createApp("shop");
  });
  afterEach(async () => {
    await slipway.close();
  });
  after(() => {
    dirs.remove();
  });

  it("clears the cache through the API, also with --json", async () => {
    const home = ["--home", slipway.home];
    const plain = await runCli(dirs, ["builds:cache:clear", "--app", "shop", ...home]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /Cleared the build cache of shop/);
    const json = await runCli(dirs, ["builds:cache:clear", "--app", "shop", "--json", ...home]);
    assert.deepEqual(JSON.parse(json.stdout), { app: "shop", cacheCleared: true });
    assert.deepEqual(slipway.deps.calls.cacheCleared, ["shop", "shop"]);
    const unknown = await runCli(dirs, ["builds:cache:clear", "--app", "nope", ...home]);
    assert.equal(unknown.code, 1);
  });
});
