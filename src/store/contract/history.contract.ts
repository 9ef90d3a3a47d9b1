import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { ConflictError, NotFoundError } from "../../domain/errors.ts";
import type { Store, StoreChange } from "../store.ts";

/** The Store contract's event and domain cases (called from runStoreContract, which owns the store's lifecycle). */
export function historyCases(current: () => Store): void {
  describe("events", () => {
    let store: Store;
    beforeEach(() => {
      store = current();
    });
    it("lists an app's newest events first, up to the limit", async () => {
      const app = await store.createApp("shop");
      const other = await store.createApp("other");
      await store.addEvent(app.id, "create", "one");
      await store.addEvent(app.id, "deploy", "two");
      await store.addEvent(other.id, "deploy", "elsewhere");
      await store.addEvent(app.id, "scale", "three");
      const events = await store.listEvents(app.id, 2);
      assert.deepEqual(
        events.map((event) => [event.type, event.message, event.appId]),
        [
          ["scale", "three", app.id],
          ["deploy", "two", app.id],
        ],
      );
      assert.ok((events[0]?.id ?? 0) > (events[1]?.id ?? 0));
    });

    it("refuses an event of an unknown app with NotFoundError", async () => {
      await assert.rejects(store.addEvent("app_missing", "x", "y"), NotFoundError);
    });
  });

  describe("domains", () => {
    let store: Store;
    beforeEach(() => {
      store = current();
    });
    it("attaches, lists, updates and removes domains, announcing each change", async () => {
      const app = await store.createApp("shop");
      const changes: StoreChange[] = [];
      store.onChange((change) => changes.push(change));
      const added = await store.addDomain(app.id, "www.example.com", "acme");
      assert.equal(added.certStatus, "pending");
      assert.equal(added.certAttempts, 0);
      await store.addDomain(app.id, "example.com", "manual");
      assert.deepEqual(
        (await store.listDomains(app.id)).map((d) => d.hostname),
        ["example.com", "www.example.com"],
      );
      const updated = await store.updateDomainCert("www.example.com", {
        certStatus: "failed",
        certError: "no answer",
        certAttempts: 2,
      });
      assert.equal(updated.certError, "no answer");
      assert.equal(updated.certSource, "acme");
      assert.deepEqual(await store.getDomain("www.example.com"), updated);
      await store.removeDomain(app.id, "example.com");
      assert.equal((await store.listDomains()).length, 1);
      assert.deepEqual(
        changes.map((c) => c.kind),
        ["domain", "domain", "domain", "domain"],
      );
    });

    it("refuses a domain another app (or the same one) has with ConflictError", async () => {
      const a = await store.createApp("aaa");
      const b = await store.createApp("bbb");
      await store.addDomain(a.id, "example.com", "acme");
      await assert.rejects(store.addDomain(b.id, "example.com", "acme"), ConflictError);
      await assert.rejects(store.addDomain(a.id, "example.com", "acme"), ConflictError);
      await assert.rejects(store.removeDomain(b.id, "example.com"), NotFoundError);
      assert.equal((await store.getDomain("example.com"))?.appId, a.id);
    });

    it("drops an app's domains with the app", async () => {
      const app = await store.createApp("shop");
      await store.addDomain(app.id, "example.com", "acme");
      await store.deleteApp(app.id);
      assert.deepEqual(await store.listDomains(), []);
    });
  });
}
