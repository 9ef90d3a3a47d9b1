import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { Release } from "../domain/release.ts";
import type { AppEvent } from "../store/store.ts";
import { apiHarness, expectProblem, type ApiHarness } from "./test-harness.ts";

const json = (body: unknown): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

describe("config vars, rollbacks and events", () => {
  let h: ApiHarness;
  let appId: string;
  beforeEach(async () => {
    h = await apiHarness();
    appId = (await h.store.createApp("shop")).id;
  });
  afterEach(async () => {
    await h.close();
  });

  const release = (image: string, processTypes: Record<string, string> = { web: "x" }) =>
    h.store.createRelease({
      appId,
      imageDigest: `sha256:${image}`,
      imageRef: `sha256:${image}`,
      buildId: null,
      processTypes,
      stack: "s",
      buildpacks: ["nodejs"],
      description: "deploy",
    });

  it("sets vars before the first deploy without a release, then rolls them as a release", async () => {
    let res = await h.request("/v1/apps/shop/config", json({ set: { GREETING: "Hi" } }));
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { release: Release | null }).release, null);
    await release("aaa");
    res = await h.request(
      "/v1/apps/shop/config",
      json({ set: { GREETING: "Hey", TOKEN: "s3cret=1" } }),
    );
    const made = ((await res.json()) as { release: Release }).release;
    assert.equal(made.version, 2);
    assert.equal(made.imageDigest, "sha256:aaa", "same image, no build");
    assert.equal(made.configVersion, 2);
    assert.equal(made.deployedBy?.startsWith("tok_"), true);
    res = await h.request("/v1/apps/shop/config");
    assert.deepEqual(await res.json(), { vars: { GREETING: "Hey", TOKEN: "s3cret=1" } });
  });

  it("stores vars sealed and keeps values out of events", async () => {
    await release("aaa");
    await h.request("/v1/apps/shop/config", json({ set: { TOKEN: "hunter2" } }));
    const stored = await h.store.latestConfigVersion(appId);
    assert.ok(stored !== undefined && !stored.sealed.includes("hunter2"));
    const events = (await (await h.request("/v1/apps/shop/events")).json()) as {
      items: AppEvent[];
    };
    assert.ok(events.items.some((e) => e.type === "config.changed" && e.message.includes("TOKEN")));
    assert.ok(events.items.every((e) => !e.message.includes("hunter2")));
  });

  it("unsets vars and makes no release when nothing changes", async () => {
    await release("aaa");
    await h.request("/v1/apps/shop/config", json({ set: { A: "1", B: "2" } }));
    let res = await h.request("/v1/apps/shop/config", json({ unset: ["A"] }));
    assert.equal(((await res.json()) as { release: Release }).release.version, 3);
    res = await h.request("/v1/apps/shop/config", json({ unset: ["A"] }));
    assert.equal(((await res.json()) as { release: Release | null }).release, null);
    assert.deepEqual(await (await h.request("/v1/apps/shop/config")).json(), { vars: { B: "2" } });
  });

  it("refuses bad names, reserved names and empty changes, changing nothing", async () => {
    await release("aaa");
    for (const body of [
      { set: { "1BAD": "x" } },
      { set: { PORT: "80" } },
      { set: { SLIPWAY_APP: "x" } },
      { set: { A: 1 } },
      {},
      { set: { A: "1" }, unset: ["A"] },
      { other: true },
    ]) {
      await expectProblem(
        await h.request("/v1/apps/shop/config", json(body)),
        422,
        "invalid_input",
      );
    }
    assert.equal(await h.store.latestConfigVersion(appId), undefined);
    assert.equal((await h.store.listReleases(appId)).length, 1);
  });

  it("marks a config release pending when the app has a release process type", async () => {
    await release("aaa", { web: "x", release: "node migrate.js" });
    const res = await h.request("/v1/apps/shop/config", json({ set: { A: "1" } }));
    assert.equal(((await res.json()) as { release: Release }).release.status, "pending");
  });

  it("rolls back to vN's image and config in a new release", async () => {
    await release("aaa");
    await h.request("/v1/apps/shop/config", json({ set: { GREETING: "one" } })); // v2
    await release("bbb"); // v3: a deploy
    await h.request("/v1/apps/shop/config", json({ set: { GREETING: "two" } })); // v4
    const res = await h.request("/v1/apps/shop/rollbacks", json({ version: 2 }));
    assert.equal(res.status, 201);
    const back = (await res.json()) as Release;
    assert.equal(back.version, 5);
    assert.equal(back.imageDigest, "sha256:aaa");
    assert.equal(back.description, "Rollback to v2");
    assert.deepEqual(await (await h.request("/v1/apps/shop/config")).json(), {
      vars: { GREETING: "one" },
    });
  });

  it("refuses a rollback to a missing or failed release", async () => {
    const v1 = await release("aaa");
    await expectProblem(
      await h.request("/v1/apps/shop/rollbacks", json({ version: 9 })),
      404,
      "release_not_found",
    );
    await h.store.setReleaseStatus(v1.id, "failed", "boom");
    await expectProblem(
      await h.request("/v1/apps/shop/rollbacks", json({ version: 1 })),
      422,
      "invalid_input",
    );
    await expectProblem(
      await h.request("/v1/apps/shop/rollbacks", json({ version: "v1" })),
      422,
      "invalid_input",
    );
  });

  it("lists events newest first with a limit, and checks the limit", async () => {
    for (const n of [1, 2, 3]) await h.store.addEvent(appId, "t", `e${String(n)}`);
    const res = await h.request("/v1/apps/shop/events?limit=2");
    const { items } = (await res.json()) as { items: AppEvent[] };
    assert.deepEqual(
      items.map((e) => e.message),
      ["e3", "e2"],
    );
    await expectProblem(await h.request("/v1/apps/shop/events?limit=x"), 422, "invalid_input");
    await expectProblem(await h.request("/v1/apps/nope/events"), 404, "app_not_found");
  });
});
