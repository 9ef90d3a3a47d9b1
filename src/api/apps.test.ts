import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { App } from "../domain/app.ts";
import { MAX_JSON_BYTES } from "./validate.ts";
import { apiHarness, expectProblem, type ApiHarness } from "./test-harness.ts";

const json = (body: unknown, contentType = "application/json"): RequestInit => ({
  method: "POST",
  headers: { "content-type": contentType },
  body: typeof body === "string" ? body : JSON.stringify(body),
});

describe("/v1/apps", () => {
  let h: ApiHarness;
  beforeEach(async () => {
    h = await apiHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  describe("POST", () => {
    it("creates an app: 201, Location and the app", async () => {
      const res = await h.request("/v1/apps", json({ name: "shop" }));
      assert.equal(res.status, 201);
      assert.equal(res.headers.get("location"), "/v1/apps/shop");
      const app = (await res.json()) as App;
      assert.equal(app.name, "shop");
      assert.deepEqual(await h.store.getApp("shop"), app);
    });

    it("accepts a charset parameter on the media type", async () => {
      const res = await h.request(
        "/v1/apps",
        json({ name: "shop" }, "application/json; charset=utf-8"),
      );
      assert.equal(res.status, 201);
    });

    it("refuses a duplicate name with 409", async () => {
      await h.request("/v1/apps", json({ name: "shop" }));
      const problem = await expectProblem(
        await h.request("/v1/apps", json({ name: "shop" })),
        409,
        "conflict",
      );
      assert.match(problem.detail, /already exists/);
    });

    it("refuses an invalid name with 422 and says what a name may be", async () => {
      for (const name of ["Shop", "a", "-shop", "shop-", "sh--op", "x".repeat(31), "shop_1"]) {
        const problem = await expectProblem(
          await h.request("/v1/apps", json({ name })),
          422,
          "invalid_input",
        );
        assert.match(problem.detail, /lowercase letters, digits and single dashes/, name);
      }
    });

    it("refuses a reserved name with 422", async () => {
      const problem = await expectProblem(
        await h.request("/v1/apps", json({ name: "admin" })),
        422,
        "invalid_input",
      );
      assert.match(problem.detail, /reserved/);
    });

    it("refuses malformed JSON with 400", async () => {
      const problem = await expectProblem(
        await h.request("/v1/apps", json('{"name": ')),
        400,
        "malformed_request",
      );
      assert.match(problem.detail, /not valid JSON/);
    });

    it("refuses an empty body with 400", async () => {
      await expectProblem(await h.request("/v1/apps", json("")), 400, "malformed_request");
    });

    it("refuses another media type with 415", async () => {
      const problem = await expectProblem(
        await h.request("/v1/apps", json("name=shop", "application/x-www-form-urlencoded")),
        415,
        "unsupported_media_type",
      );
      assert.match(problem.detail, /application\/json/);
    });

    it("refuses a body without Content-Type with 415", async () => {
      const res = await h.request("/v1/apps", { method: "POST", body: new Uint8Array([123, 125]) });
      await expectProblem(res, 415, "unsupported_media_type");
    });

    it("refuses unknown fields with 422 naming each", async () => {
      const res = await h.request("/v1/apps", json({ name: "shop", region: "eu", size: 2 }));
      const problem = await expectProblem(res, 422, "invalid_input");
      assert.deepEqual(problem.errors, ["region: unknown field", "size: unknown field"]);
      assert.match(problem.detail, /region: unknown field/);
      assert.equal(await h.store.getApp("shop"), undefined);
    });

    it("refuses wrong types and missing fields with 422", async () => {
      const wrong = await expectProblem(
        await h.request("/v1/apps", json({ name: 42 })),
        422,
        "invalid_input",
      );
      assert.deepEqual(wrong.errors, ["name: expected a string, got a number"]);
      const missing = await expectProblem(
        await h.request("/v1/apps", json({})),
        422,
        "invalid_input",
      );
      assert.deepEqual(missing.errors, ["name: required"]);
      const notObject = await expectProblem(
        await h.request("/v1/apps", json(["shop"])),
        422,
        "invalid_input",
      );
      assert.match(notObject.detail, /must be a JSON object, got an array/);
    });

    it("refuses a body larger than the JSON limit with 413", async () => {
      const big = JSON.stringify({ name: "x".repeat(MAX_JSON_BYTES) });
      await expectProblem(await h.request("/v1/apps", json(big)), 413, "payload_too_large");
    });
  });

  describe("GET", () => {
    it("lists apps by name", async () => {
      await h.request("/v1/apps", json({ name: "zeta" }));
      await h.request("/v1/apps", json({ name: "alpha" }));
      const res = await h.request("/v1/apps");
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
      const body = (await res.json()) as { items: App[] };
      assert.deepEqual(
        body.items.map((app) => app.name),
        ["alpha", "zeta"],
      );
    });

    it("shows one app", async () => {
      await h.request("/v1/apps", json({ name: "shop" }));
      const res = await h.request("/v1/apps/shop");
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as App).name, "shop");
    });

    it("answers 404 for an unknown app", async () => {
      const problem = await expectProblem(await h.request("/v1/apps/nope"), 404, "app_not_found");
      assert.equal(problem.detail, 'app "nope" does not exist');
    });

    it("refuses unknown query parameters with 422", async () => {
      const problem = await expectProblem(
        await h.request("/v1/apps?limit=5"),
        422,
        "invalid_input",
      );
      assert.deepEqual(problem.errors, ["limit: unknown field"]);
    });
  });

  describe("DELETE", () => {
    it("destroys the app: 204 and no body", async () => {
      await h.request("/v1/apps", json({ name: "shop" }));
      const res = await h.request("/v1/apps/shop", { method: "DELETE" });
      assert.equal(res.status, 204);
      assert.equal(await res.text(), "");
      assert.deepEqual(h.deps.calls.destroyed, ["shop"]);
      assert.equal(await h.store.getApp("shop"), undefined);
    });

    it("answers 404 for an unknown app without destroying anything", async () => {
      await expectProblem(
        await h.request("/v1/apps/nope", { method: "DELETE" }),
        404,
        "app_not_found",
      );
      assert.deepEqual(h.deps.calls.destroyed, []);
    });
  });
});
