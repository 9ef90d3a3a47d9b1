import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { generateToken } from "../security/tokens.ts";
import { createTestToken } from "./fake-deps.ts";
import { apiHarness, expectProblem, type ApiHarness } from "./test-harness.ts";

describe("API authentication", () => {
  let h: ApiHarness;
  beforeEach(async () => {
    h = await apiHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  const withAuth = (value: string): RequestInit => ({ headers: { authorization: value } });

  it("serves /healthz without a token", async () => {
    const res = await h.api.request("/healthz");
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: "ok" });
  });

  it("accepts the admin token", async () => {
    const res = await h.request("/v1/apps");
    assert.equal(res.status, 200);
  });

  for (const [name, header] of [
    ["no Authorization header", undefined],
    ["another scheme", "Basic dXNlcjpwYXNz"],
    ["an empty bearer", "Bearer "],
    ["a malformed token", "Bearer not-a-token"],
    ["an unknown token", `Bearer ${generateToken()}`],
  ] as const) {
    it(`refuses ${name} with 401 and WWW-Authenticate`, async () => {
      const res = await h.api.request("/v1/apps", header === undefined ? {} : withAuth(header));
      assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="slipway"');
      const problem = await expectProblem(res, 401, "unauthorized");
      assert.equal(problem.title, "Unauthorized");
    });
  }

  it("accepts a lowercase scheme", async () => {
    const res = await h.api.request("/v1/apps", withAuth(`bearer ${h.token}`));
    assert.equal(res.status, 200);
  });

  it("refuses a revoked token", async () => {
    const { id, secret } = await createTestToken(h.store);
    assert.equal((await h.api.request("/v1/apps", withAuth(`Bearer ${secret}`))).status, 200);
    await h.store.revokeToken(id);
    await expectProblem(
      await h.api.request("/v1/apps", withAuth(`Bearer ${secret}`)),
      401,
      "unauthorized",
    );
  });

  it("refuses a token without the admin scope with 403", async () => {
    const { secret } = await createTestToken(h.store, ["read"]);
    const problem = await expectProblem(
      await h.api.request("/v1/apps", withAuth(`Bearer ${secret}`)),
      403,
      "forbidden",
    );
    assert.match(problem.detail, /admin/);
  });

  it("asks for a token before revealing whether a route exists", async () => {
    await expectProblem(await h.api.request("/v1/nothing-here"), 401, "unauthorized");
    await expectProblem(await h.request("/v1/nothing-here"), 404, "route_not_found");
  });

  it("answers unknown routes outside /v1 with a problem", async () => {
    await expectProblem(await h.api.request("/nope"), 404, "route_not_found");
  });

  it("marks responses, errors included, as not cacheable or sniffable", async () => {
    for (const res of [await h.request("/v1/apps"), await h.api.request("/v1/apps")]) {
      assert.equal(res.headers.get("cache-control"), "no-store");
      assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    }
  });
});
