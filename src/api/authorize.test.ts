import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { App } from "../domain/app.ts";
import { generateToken, hashToken } from "../security/tokens.ts";
import { newId } from "../store/ids.ts";
import type { SshKeyRecord } from "../store/store.ts";
import { accessRule } from "./access-policy.ts";
import { apiHarness, expectProblem, type ApiHarness } from "./test-harness.ts";
import type { TokenView } from "./tokens.ts";

const json = (method: string, body: unknown, secret?: string): RequestInit => ({
  method,
  headers: {
    "content-type": "application/json",
    ...(secret === undefined ? {} : { authorization: `Bearer ${secret}` }),
  },
  body: JSON.stringify(body),
});
const as = (secret: string, init: RequestInit = {}): RequestInit => ({
  ...init,
  headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${secret}` },
});

describe("accessRule", () => {
  it("opens only the listed app routes to deploy tokens, everything else is admin", () => {
    assert.deepEqual(accessRule("GET", "/apps/shop"), { kind: "app", app: "shop", action: "read" });
    assert.deepEqual(accessRule("POST", "/apps/shop/builds"), {
      kind: "app",
      app: "shop",
      action: "deploy",
    });
    for (const path of ["/builds/bld_1", "/builds/bld_1/log", "/releases", "/logs", "/git"]) {
      assert.equal(accessRule("GET", `/apps/shop${path}`).kind, "app", path);
    }
    for (const [method, path] of [
      ["GET", "/apps/shop/config"],
      ["POST", "/apps/shop/config"],
      ["POST", "/apps/shop/git"],
      ["POST", "/apps/shop/one-offs"],
      ["DELETE", "/apps/shop"],
      ["POST", "/apps"],
      ["GET", "/tokens"],
      ["POST", "/tokens"],
      ["GET", "/apps/shop/builds/x/log/extra"],
      ["PUT", "/apps/shop/builds"],
      ["GET", "/something-new"],
    ] as const) {
      assert.deepEqual(accessRule(method, path), { kind: "admin" }, `${method} ${path}`);
    }
    assert.equal(accessRule("DELETE", "/apps/shop/build-cache").kind, "app");
    assert.equal(accessRule("GET", "/apps").kind, "any");
    assert.equal(accessRule("POST", "/keys").kind, "any");
  });
});

describe("scoped tokens", () => {
  let h: ApiHarness;
  let shop: App;
  let blog: App;
  beforeEach(async () => {
    h = await apiHarness();
    shop = await h.store.createApp("shop");
    blog = await h.store.createApp("blog");
  });
  afterEach(async () => {
    await h.close();
  });

  async function createToken(body: unknown): Promise<TokenView & { token: string }> {
    const res = await h.request("/v1/tokens", json("POST", body));
    assert.equal(res.status, 201, await res.clone().text());
    return (await res.json()) as TokenView & { token: string };
  }

  it("creates a deploy token shown once, stored hashed, listed without its secret", async () => {
    const created = await createToken({ apps: ["shop"], name: "ci-shop" });
    assert.equal(created.role, "deploy");
    assert.deepEqual(created.apps, ["shop"]);
    assert.match(created.token, /^swt_/);
    const stored = await h.store.getToken(created.id);
    assert.equal(stored?.hash, hashToken(created.token));
    assert.deepEqual(stored.apps, [shop.id]);
    const list = (await (await h.request("/v1/tokens")).json()) as { items: TokenView[] };
    const listed = list.items.find((t) => t.id === created.id);
    assert.deepEqual(listed?.apps, ["shop"]);
    assert.ok(!JSON.stringify(list).includes(created.token));
    assert.ok(!JSON.stringify(list).includes(stored.hash));
  });

  it("refuses bad token requests with 422 or 404, creating nothing", async () => {
    const before = (await h.store.listTokens()).length;
    await expectProblem(await h.request("/v1/tokens", json("POST", {})), 422, "invalid_input");
    await expectProblem(
      await h.request("/v1/tokens", json("POST", { role: "root", apps: ["shop"] })),
      422,
      "invalid_input",
    );
    await expectProblem(
      await h.request("/v1/tokens", json("POST", { role: "admin", apps: ["shop"] })),
      422,
      "invalid_input",
    );
    await expectProblem(
      await h.request("/v1/tokens", json("POST", { apps: ["shop"], name: "bad name" })),
      422,
      "invalid_input",
    );
    await expectProblem(
      await h.request("/v1/tokens", json("POST", { apps: ["nope"] })),
      404,
      "app_not_found",
    );
    assert.equal((await h.store.listTokens()).length, before);
  });

  it("lets a deploy token read and deploy its apps only, with a 403 problem elsewhere", async () => {
    const { token } = await createToken({ apps: ["shop"] });
    assert.equal((await h.api.request("/v1/apps/shop", as(token))).status, 200);
    assert.equal((await h.api.request("/v1/apps/shop/releases", as(token))).status, 200);
    assert.equal((await h.api.request("/v1/apps/shop/builds", as(token))).status, 200);
    // A deploy reaches the upload's own validation (415 for a body that is not a tarball).
    const deploy = await h.api.request("/v1/apps/shop/builds", as(token, { method: "POST" }));
    assert.equal(deploy.status, 415);
    const apps = (await (await h.api.request("/v1/apps", as(token))).json()) as { items: App[] };
    assert.deepEqual(
      apps.items.map((a) => a.name),
      ["shop"],
    );
    for (const [method, path] of [
      ["GET", "/v1/apps/blog"],
      ["GET", "/v1/apps/blog/releases"],
      ["POST", "/v1/apps/blog/builds"],
      ["GET", "/v1/apps/nope"],
    ] as const) {
      const problem = await expectProblem(
        await h.api.request(path, as(token, { method })),
        403,
        "forbidden",
      );
      assert.match(
        problem.detail,
        /is a deploy token limited to its apps: it may not (read|deploy) app/,
      );
    }
    for (const [method, path] of [
      ["GET", "/v1/apps/shop/config"],
      ["DELETE", "/v1/apps/shop"],
      ["POST", "/v1/apps"],
      ["GET", "/v1/tokens"],
      ["POST", "/v1/apps/shop/git"],
    ] as const) {
      const problem = await expectProblem(
        await h.api.request(path, as(token, { method })),
        403,
        "forbidden",
      );
      assert.match(problem.detail, /admins only/);
    }
    assert.ok(await h.store.getApp("shop"), "nothing was deleted");
    assert.equal((await h.store.listBuilds(blog.id)).length, 0);
  });

  it("refuses a token without a role", async () => {
    const secret = generateToken();
    await h.store.createToken({
      id: newId("tok"),
      name: "odd",
      hash: hashToken(secret),
      scopes: [],
    });
    const problem = await expectProblem(
      await h.api.request("/v1/apps", as(secret)),
      403,
      "forbidden",
    );
    assert.match(problem.detail, /has no role/);
  });

  it("revokes a token by id or name, but never the last admin token", async () => {
    const { id, token } = await createToken({ apps: ["shop"], name: "ci" });
    assert.equal((await h.request(`/v1/tokens/ci`, { method: "DELETE" })).status, 204);
    await expectProblem(await h.api.request("/v1/apps", as(token)), 401, "unauthorized");
    assert.ok((await h.store.getToken(id))?.revokedAt);
    const admins = (await h.store.listTokens()).filter((t) => t.scopes.includes("admin"));
    assert.equal(admins.length, 1);
    await expectProblem(
      await h.request(`/v1/tokens/${admins[0]?.id ?? ""}`, { method: "DELETE" }),
      409,
      "conflict",
    );
    const second = await createToken({ role: "admin", name: "admin-2" });
    assert.equal(second.role, "admin");
    assert.equal((await h.api.request("/v1/tokens", as(second.token))).status, 200);
    await expectProblem(
      await h.request("/v1/tokens/tok_nope", { method: "DELETE" }),
      404,
      "token_not_found",
    );
  });

  it("scopes SSH keys to the token that added them", async () => {
    const { token, id } = await createToken({ apps: ["shop"] });
    const adminKey = await h.store.addSshKey({
      id: "key_admin",
      name: "admin",
      fingerprint: "SHA256:admin",
      publicKey: "ssh-ed25519 AAAA",
      createdBy: "admin",
    });
    const res = await h.api.request(
      "/v1/keys",
      json(
        "POST",
        {
          publicKey:
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me",
        },
        token,
      ),
    );
    assert.equal(res.status, 201, await res.clone().text());
    const key = (await res.json()) as SshKeyRecord;
    assert.equal(key.tokenId, id);
    const mine = (await (await h.api.request("/v1/keys", as(token))).json()) as {
      items: SshKeyRecord[];
    };
    assert.deepEqual(
      mine.items.map((k) => k.id),
      [key.id],
    );
    await expectProblem(
      await h.api.request(`/v1/keys/${adminKey.id}`, as(token, { method: "DELETE" })),
      404,
      "key_not_found",
    );
    assert.equal(
      (await h.api.request(`/v1/keys/${key.id}`, as(token, { method: "DELETE" }))).status,
      204,
    );
  });

  it("sets and reads an app's deploy branch", async () => {
    const read = async () =>
      (await (await h.request("/v1/apps/shop/git")).json()) as {
        deployBranch: string | null;
        branches: string[];
      };
    assert.deepEqual(await read(), { deployBranch: null, branches: ["main", "master"] });
    const set = await h.request("/v1/apps/shop/git", json("POST", { deployBranch: "production" }));
    assert.equal(set.status, 200);
    assert.deepEqual(await read(), {
      deployBranch: "production",
      branches: ["main", "production"],
    });
    await expectProblem(
      await h.request("/v1/apps/shop/git", json("POST", { deployBranch: "../x" })),
      422,
      "invalid_input",
    );
    assert.equal((await read()).deployBranch, "production");
    await h.request("/v1/apps/shop/git", json("POST", { deployBranch: "" }));
    assert.equal((await read()).deployBranch, null);
  });
});
