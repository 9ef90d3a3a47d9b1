import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { Release } from "../domain/release.ts";
import type { ProcessInfo } from "./deps.ts";
import { apiHarness, expectProblem, type ApiHarness } from "./test-harness.ts";

const web: ProcessInfo = {
  id: "c0ffee",
  type: "web",
  release: 1,
  state: "running",
  startedAt: "2025-01-01T00:00:00.000Z",
  address: "10.213.4.2:5000",
  ready: true,
};

describe("/v1/apps/:name/releases and /ps", () => {
  let h: ApiHarness;
  beforeEach(async () => {
    h = await apiHarness({ script: { processes: [web] } });
  });
  afterEach(async () => {
    await h.close();
  });

  it("lists releases newest first", async () => {
    const app = await h.store.createApp("shop");
    const release = {
      appId: app.id,
      imageDigest: "sha256:1",
      imageRef: "x",
      buildId: null,
      processTypes: { web: "node server.js" },
      stack: "debian-12@1",
      buildpacks: ["nodejs"],
      description: "deploy",
    };
    await h.store.createRelease(release);
    await h.store.createRelease(release);
    const res = await h.request("/v1/apps/shop/releases");
    assert.equal(res.status, 200);
    const body = (await res.json()) as { items: Release[] };
    assert.deepEqual(
      body.items.map((r) => r.version),
      [2, 1],
    );
    assert.deepEqual(body.items[0]?.processTypes, { web: "node server.js" });
  });

  it("lists the app's processes", async () => {
    await h.store.createApp("shop");
    const res = await h.request("/v1/apps/shop/ps");
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { items: [web] });
  });

  it("answers 404 for an unknown app", async () => {
    await expectProblem(await h.request("/v1/apps/nope/releases"), 404, "app_not_found");
    await expectProblem(await h.request("/v1/apps/nope/ps"), 404, "app_not_found");
  });

  it("refuses unknown query parameters", async () => {
    await h.store.createApp("shop");
    await expectProblem(await h.request("/v1/apps/shop/releases?page=2"), 422, "invalid_input");
    await expectProblem(await h.request("/v1/apps/shop/ps?all=1"), 422, "invalid_input");
  });
});
