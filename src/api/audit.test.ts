import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SqliteStore } from "../store/sqlite/sqlite-store.ts";
import { auditContainer } from "../security/audit/container-audit.ts";
import { createApi } from "./api.ts";
import { createTestToken, fakeDeps } from "./fake-deps.ts";

describe("GET /v1/apps/:name/audit", () => {
  it("answers each container's items and the failed total; 404 for an unknown app", async () => {
    const store = new SqliteStore(":memory:");
    try {
      const app = await store.createApp("shop");
      const seen: string[] = [];
      const api = createApi({
        ...fakeDeps(store, { uploadDir: "/nonexistent" }),
        audit: (a) => {
          seen.push(a.id);
          return Promise.resolve([
            auditContainer({ Id: "c1", Name: "/web", HostConfig: { Privileged: true } }),
          ]);
        },
      });
      const { secret } = await createTestToken(store);
      const headers = { authorization: `Bearer ${secret}` };
      const res = await api.request("/v1/apps/shop/audit", { headers });
      assert.equal(res.status, 200);
      const body = (await res.json()) as {
        failed: number;
        items: { name: string; items: { id: string; status: string }[] }[];
      };
      assert.deepEqual(seen, [app.id]);
      assert.equal(body.items[0]?.name, "web");
      assert.equal(body.items[0].items.find((i) => i.id === "5.4")?.status, "fail");
      assert.ok(body.failed > 0);
      assert.equal((await api.request("/v1/apps/nope/audit", { headers })).status, 404);
      assert.equal((await api.request("/v1/apps/shop/audit?x=1", { headers })).status, 422);
    } finally {
      await store.close();
    }
  });
});
