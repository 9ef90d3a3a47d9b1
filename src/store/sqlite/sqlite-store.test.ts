import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, describe, it } from "node:test";
import { Worker } from "node:worker_threads";
import { DriverError } from "../../domain/errors.ts";
import { runStoreContract } from "../store.contract.ts";
import type { StoreChange } from "../store.ts";
import { applyMigrations, currentVersion } from "./migrate.ts";
import { migrations } from "./migrations.ts";
import { SqliteStore } from "./sqlite-store.ts";

const dir = mkdtempSync(join(tmpdir(), "slipway-store-"));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

let files = 0;
const newFile = (): string => join(dir, `store-${++files}.db`);

runStoreContract("SqliteStore (file)", () => new SqliteStore(newFile()));
runStoreContract("SqliteStore (:memory:)", () => new SqliteStore(":memory:"));

describe("SqliteStore", () => {
  it("runs a file database in WAL mode", async () => {
    const path = newFile();
    const store = new SqliteStore(path);
    await store.close();
    const db = new DatabaseSync(path, { readOnly: true });
    assert.equal(db.prepare("PRAGMA journal_mode").get()?.journal_mode, "wal");
    db.close();
  });

  it("keeps data across reopening and migrates only once", async () => {
    const path = newFile();
    const first = new SqliteStore(path);
    await first.createApp("shop");
    await first.close();
    const second = new SqliteStore(path);
    assert.equal((await second.getApp("shop"))?.name, "shop");
    await second.close();
    const db = new DatabaseSync(path);
    assert.equal(currentVersion(db), migrations.length);
    assert.equal(
      db.prepare("SELECT COUNT(*) AS n FROM schema_version").get()?.n,
      migrations.length,
    );
    db.close();
  });

  it("numbers releases without gaps or duplicates across two connections", async () => {
    const path = newFile();
    const a = new SqliteStore(path);
    const b = new SqliteStore(path);
    const app = await a.createApp("shop");
    const release = {
      appId: app.id,
      imageDigest: "sha256:0",
      imageRef: "x",
      buildId: null,
      processTypes: {},
      stack: "s",
      buildpacks: [],
      description: "",
    };
    const made = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).createRelease(release)),
    );
    const versions = made.map((r) => r.version).sort((x, y) => x - y);
    assert.deepEqual(
      versions,
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    await a.close();
    await b.close();
  });

  it("numbers releases without gaps or duplicates across threads writing at once", async () => {
    const path = newFile();
    const store = new SqliteStore(path);
    const app = await store.createApp("shop");
    const perWorker = 25;
    const batches = await Promise.all(
      [1, 2, 3].map(() => releaseInWorker(path, app.id, perWorker)),
    );
    const versions = batches.flat().sort((x, y) => x - y);
    assert.deepEqual(
      versions,
      Array.from({ length: 3 * perWorker }, (_, i) => i + 1),
    );
    await store.close();
  });

  it("reports a throwing listener without failing the committed write", async () => {
    const reported: [unknown, StoreChange][] = [];
    const store = new SqliteStore(":memory:", {
      onListenerError: (error, change) => reported.push([error, change]),
    });
    const seen: string[] = [];
    store.onChange(() => {
      throw new Error("listener bug");
    });
    store.onChange((change) => seen.push(change.kind));
    const app = await store.createApp("shop");
    assert.equal((await store.getApp("shop"))?.id, app.id);
    assert.deepEqual(seen, ["app"]);
    assert.equal(reported.length, 1);
    assert.equal((reported[0]?.[0] as Error).message, "listener bug");
    await store.close();
  });

  it("uses the injected clock for timestamps", async () => {
    const store = new SqliteStore(":memory:", { now: () => new Date("2025-05-05T05:05:05Z") });
    assert.equal((await store.createApp("shop")).createdAt, "2025-05-05T05:05:05.000Z");
    await store.close();
  });

  it("closes twice without error", async () => {
    const store = new SqliteStore(":memory:");
    await store.close();
    await store.close();
  });
});

describe("applyMigrations", () => {
  it("is idempotent", () => {
    const db = new DatabaseSync(":memory:");
    assert.equal(applyMigrations(db, migrations), migrations.length);
    assert.equal(applyMigrations(db, migrations), migrations.length);
    db.close();
  });

  it("applies only the new steps of a longer list", () => {
    const db = new DatabaseSync(":memory:");
    applyMigrations(db, migrations);
    const next = [
      ...migrations,
      { version: migrations.length + 1, name: "notes", sql: "CREATE TABLE notes (x TEXT)" },
    ];
    assert.equal(applyMigrations(db, next), migrations.length + 1);
    db.prepare("INSERT INTO notes VALUES ('ok')").run();
    db.close();
  });

  it("rolls back every pending step when one fails", () => {
    const db = new DatabaseSync(":memory:");
    const broken = [
      { version: 1, name: "good", sql: "CREATE TABLE good (x TEXT)" },
      { version: 2, name: "bad", sql: "CREATE TABLE bad (x TEXT); THIS IS NOT SQL" },
    ];
    assert.throws(() => applyMigrations(db, broken), DriverError);
    assert.equal(currentVersion(db), 0);
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('good', 'bad')")
      .all();
    assert.deepEqual(tables, []);
    db.close();
  });

  it("refuses a database newer than the code", () => {
    const db = new DatabaseSync(":memory:");
    applyMigrations(db, migrations);
    assert.throws(() => applyMigrations(db, migrations.slice(0, -1)), /newer than this Slipway/);
    db.close();
  });

  it("refuses a list that is not numbered 1, 2, 3", () => {
    const db = new DatabaseSync(":memory:");
    assert.throws(
      () => applyMigrations(db, [{ version: 2, name: "x", sql: "SELECT 1" }]),
      /out of order/,
    );
    db.close();
  });
});

/** Creates releases from a worker thread (its own connection), returning their versions. */
function releaseInWorker(path: string, appId: string, count: number): Promise<number[]> {
  const code = `
    const { workerData, parentPort } = require("node:worker_threads");
    import(workerData.module).then(async ({ SqliteStore }) => {
      const store = new SqliteStore(workerData.path);
      const versions = [];
      for (let i = 0; i < workerData.count; i++) {
        const release = await store.createRelease({
          appId: workerData.appId, imageDigest: "sha256:0", imageRef: "x", buildId: null,
          processTypes: {}, stack: "s", buildpacks: [], description: "",
        });
        versions.push(release.version);
      }
      await store.close();
      parentPort.postMessage(versions);
    });`;
  const module = new URL("./sqlite-store.ts", import.meta.url).href;
  const worker = new Worker(code, { eval: true, workerData: { module, path, appId, count } });
  return new Promise((resolve, reject) => {
    worker.once("message", (versions: number[]) => {
      resolve(versions);
    });
    worker.once("error", reject);
    worker.once("exit", (code) => {
      reject(new Error(`release worker exited with ${code} before answering`));
    });
  });
}

describe("SqliteStore event retention", () => {
  it("keeps about the newest maxEventsPerApp events of each app", async () => {
    const store = new SqliteStore(":memory:", { maxEventsPerApp: 20 });
    const shop = await store.createApp("shop");
    const blog = await store.createApp("blog");
    await store.addEvent(blog.id, "deploy", "blog's only event");
    for (let i = 0; i < 120; i++) await store.addEvent(shop.id, "tick", String(i));
    const kept = await store.listEvents(shop.id, 1000);
    assert.ok(kept.length >= 20 && kept.length < 20 + 50, String(kept.length));
    assert.equal(kept[0]?.message, "119");
    assert.equal((await store.listEvents(blog.id, 10)).length, 1);
    await store.close();
  });
});
