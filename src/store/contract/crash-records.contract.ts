import assert from "node:assert/strict";
import { it } from "node:test";
import type { Store } from "../store.ts";

/**
 * The crash-history cases of the Store contract (called from runStoreContract, which owns
 * the store's lifecycle): kept across calls, updated in place, dropped with the app.
 */
export function crashRecordCases(current: () => Store): void {
  it("keeps one crash record per process type, updated in place", async () => {
    const store = current();
    const app = await store.createApp("shop");
    const other = await store.createApp("blog");
    assert.deepEqual(await store.listCrashRecords(), []);
    const first = { count: 1, restarts: 1, lastCrashAt: 1_000, backoffUntil: 1_000 };
    await store.saveCrashRecord({ appId: app.id, processType: "web", ...first });
    await store.saveCrashRecord({ appId: other.id, processType: "worker", ...first });
    const second = { count: 2, restarts: 2, lastCrashAt: 5_000, backoffUntil: 6_000 };
    await store.saveCrashRecord({ appId: app.id, processType: "web", ...second });
    const records = await store.listCrashRecords();
    assert.equal(records.length, 2);
    assert.deepEqual(
      records.find((r) => r.appId === app.id),
      { appId: app.id, processType: "web", ...second },
    );
  });

  it("drops an app's crash records with the app and ignores records of unknown apps", async () => {
    const store = current();
    const app = await store.createApp("shop");
    const record = { processType: "web", count: 3, restarts: 3, lastCrashAt: 1, backoffUntil: 2 };
    await store.saveCrashRecord({ appId: app.id, ...record });
    await store.deleteApp(app.id);
    await store.saveCrashRecord({ appId: "app_missing", ...record });
    assert.deepEqual(await store.listCrashRecords(), []);
  });
}
