import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { ConflictError, NotFoundError } from "../../domain/errors.ts";
import type { Store } from "../store.ts";

/** The Store contract's SSH key and token cases (called from runStoreContract, which owns the store's lifecycle). */
export function accessCases(current: () => Store): void {
  describe("ssh keys", () => {
    let store: Store;
    beforeEach(() => {
      store = current();
    });
    const key = {
      id: "key_1",
      name: "laptop",
      fingerprint: "SHA256:abc",
      publicKey: "ssh-ed25519 AAAA",
      createdBy: "admin",
    };

    it("adds, finds, lists and removes keys", async () => {
      const added = await store.addSshKey(key);
      assert.equal(added.name, "laptop");
      assert.equal((await store.getSshKey("key_1"))?.fingerprint, "SHA256:abc");
      assert.equal((await store.findSshKeyByFingerprint("SHA256:abc"))?.id, "key_1");
      assert.equal(await store.findSshKeyByFingerprint("SHA256:nope"), undefined);
      assert.deepEqual(
        (await store.listSshKeys()).map((k) => k.id),
        ["key_1"],
      );
      await store.removeSshKey("key_1");
      assert.deepEqual(await store.listSshKeys(), []);
      await assert.rejects(store.removeSshKey("key_1"), NotFoundError);
    });

    it("refuses a fingerprint registered twice with ConflictError", async () => {
      await store.addSshKey(key);
      await assert.rejects(store.addSshKey({ ...key, id: "key_2" }), ConflictError);
    });
  });

  describe("tokens", () => {
    let store: Store;
    beforeEach(() => {
      store = current();
    });
    const token = { id: "tok_1", name: "admin", hash: "a".repeat(64), scopes: ["admin"] };

    it("stores a token and finds it by hash", async () => {
      const created = await store.createToken(token);
      assert.equal(created.revokedAt, null);
      assert.deepEqual(created.scopes, ["admin"]);
      assert.deepEqual(await store.findTokenByHash(token.hash), created);
      assert.equal(await store.findTokenByHash("b".repeat(64)), undefined);
    });

    it("refuses a second token with the same name or hash", async () => {
      await store.createToken(token);
      await assert.rejects(
        store.createToken({ ...token, id: "tok_2", hash: "c".repeat(64) }),
        ConflictError,
      );
      await assert.rejects(
        store.createToken({ ...token, id: "tok_3", name: "other" }),
        ConflictError,
      );
    });

    it("revokes a token once and keeps the first revocation time", async () => {
      await store.createToken(token);
      await store.revokeToken(token.id);
      const revoked = await store.findTokenByHash(token.hash);
      assert.ok(revoked?.revokedAt);
      await store.revokeToken(token.id);
      assert.equal((await store.findTokenByHash(token.hash))?.revokedAt, revoked.revokedAt);
    });

    it("refuses to revoke an unknown token with NotFoundError", async () => {
      await assert.rejects(store.revokeToken("tok_missing"), NotFoundError);
    });

    it("keeps a scoped token's apps until the app is deleted, and lists tokens", async () => {
      const shop = await store.createApp("shop");
      const blog = await store.createApp("blog");
      await store.createToken(token);
      const scoped = await store.createToken({
        id: "tok_2",
        name: "ci",
        hash: "d".repeat(64),
        scopes: ["deploy"],
        apps: [shop.id, blog.id, shop.id],
        createdBy: "admin",
      });
      assert.deepEqual(scoped.apps, [shop.id, blog.id].sort());
      assert.equal(scoped.createdBy, "admin");
      assert.deepEqual(await store.getToken("tok_2"), scoped);
      assert.deepEqual(await store.findTokenByHash("d".repeat(64)), scoped);
      assert.deepEqual((await store.getToken("tok_1"))?.apps, []);
      assert.equal((await store.getToken("tok_1"))?.createdBy, null);
      assert.equal(await store.getToken("tok_missing"), undefined);
      assert.deepEqual(
        (await store.listTokens()).map((t) => t.id),
        ["tok_1", "tok_2"],
      );
      await store.deleteApp(blog.id);
      assert.deepEqual((await store.getToken("tok_2"))?.apps, [shop.id]);
    });

    it("refuses a token for an unknown app with NotFoundError and stores nothing", async () => {
      await assert.rejects(
        store.createToken({ ...token, scopes: ["deploy"], apps: ["app_missing"] }),
        NotFoundError,
      );
      assert.deepEqual(await store.listTokens(), []);
    });

    it("records the token that added an SSH key", async () => {
      await store.createToken(token);
      const key = await store.addSshKey({
        id: "key_1",
        name: "laptop",
        fingerprint: "SHA256:abc",
        publicKey: "ssh-ed25519 AAAA",
        createdBy: "admin",
        tokenId: "tok_1",
      });
      assert.equal(key.tokenId, "tok_1");
      assert.equal((await store.getSshKey("key_1"))?.tokenId, "tok_1");
    });
  });
}
