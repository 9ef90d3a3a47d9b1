import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { ConflictError, NotFoundError } from "../domain/errors.ts";
import { accessCases } from "./contract/access.contract.ts";
import { crashRecordCases } from "./contract/crash-records.contract.ts";
import { historyCases } from "./contract/history.contract.ts";
import type { NewRelease, Store, StoreChange } from "./store.ts";

/** Makes a new, empty store for one test; the suite closes it afterwards. */
export type StoreFactory = () => Store | Promise<Store>;

/**
 * The behaviour every Store implementation must have, as one suite run against each of them
 * (SqliteStore on a file and in memory today, PostgreSQL later), in the way Hono runs one
 * router suite against every router. Implementation details (migrations, WAL, locking
 * across connections) are tested next to each implementation instead.
 */
export function runStoreContract(name: string, makeStore: StoreFactory): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    describe("apps", () => {
      it("creates an app and finds it by name and by id", async () => {
        const app = await store.createApp("shop");
        assert.equal(app.name, "shop");
        assert.match(app.id, /\S{8,}/);
        assert.ok(!Number.isNaN(Date.parse(app.createdAt)));
        assert.deepEqual(await store.getApp("shop"), app);
        assert.deepEqual(await store.getAppById(app.id), app);
      });

      it("returns undefined for an app that does not exist", async () => {
        assert.equal(await store.getApp("nope"), undefined);
        assert.equal(await store.getAppById("app_nope"), undefined);
      });

      it("gives every app a distinct random id", async () => {
        const a = await store.createApp("aaa");
        const b = await store.createApp("bbb");
        assert.notEqual(a.id, b.id);
      });

      it("lists apps by name", async () => {
        await store.createApp("zeta");
        await store.createApp("alpha");
        await store.createApp("mid");
        const names = (await store.listApps()).map((app) => app.name);
        assert.deepEqual(names, ["alpha", "mid", "zeta"]);
      });

      it("refuses a duplicate name with ConflictError and keeps the first app", async () => {
        const first = await store.createApp("shop");
        await assert.rejects(store.createApp("shop"), ConflictError);
        assert.deepEqual(await store.listApps(), [first]);
      });

      it("starts every app with the default formation", async () => {
        const app = await store.createApp("shop");
        assert.deepEqual(await store.getFormation(app.id), [
          { appId: app.id, type: "web", quantity: 1, size: "S" },
        ]);
      });

      it("deletes an app and everything it owns", async () => {
        const app = await store.createApp("shop");
        const other = await store.createApp("other");
        const build = await store.createBuild(app.id, "sha256:abc");
        await store.createRelease(newRelease(app.id, build.id));
        await store.updateBuild(build.id, { status: "succeeded" });
        await store.addEvent(app.id, "deploy", "v1");
        await store.createBuild(other.id, "sha256:def");

        await store.deleteApp(app.id);

        assert.equal(await store.getApp("shop"), undefined);
        assert.equal(await store.getBuild(build.id), undefined);
        assert.deepEqual(await store.listBuilds(app.id), []);
        assert.deepEqual(await store.listReleases(app.id), []);
        assert.deepEqual(await store.getFormation(app.id), []);
        assert.deepEqual(await store.listEvents(app.id, 10), []);
        assert.equal((await store.listBuilds(other.id)).length, 1);
        assert.equal((await store.getFormation(other.id)).length, 1);
      });

      it("treats deleting an absent app as done", async () => {
        await store.deleteApp("app_missing");
      });

      it("lets a deleted app's name be used again", async () => {
        const app = await store.createApp("shop");
        await store.deleteApp(app.id);
        const again = await store.createApp("shop");
        assert.notEqual(again.id, app.id);
      });
    });

    describe("builds", () => {
      it("creates a pending build", async () => {
        const app = await store.createApp("shop");
        const build = await store.createBuild(app.id, "sha256:abc");
        assert.equal(build.appId, app.id);
        assert.equal(build.status, "pending");
        assert.equal(build.sourceChecksum, "sha256:abc");
        assert.equal(build.finishedAt, null);
        assert.equal(build.error, null);
        assert.equal(build.releaseId, null);
        assert.deepEqual(await store.getBuild(build.id), build);
      });

      it("refuses a build of an unknown app with NotFoundError", async () => {
        await assert.rejects(store.createBuild("app_missing", "x"), NotFoundError);
      });

      it("updates only the fields given; null clears one", async () => {
        const app = await store.createApp("shop");
        const build = await store.createBuild(app.id, "x");
        const failed = await store.updateBuild(build.id, {
          status: "failed",
          error: "no buildpack",
          finishedAt: "2025-01-01T00:00:00.000Z",
        });
        assert.equal(failed.status, "failed");
        assert.equal(failed.error, "no buildpack");
        assert.equal(failed.finishedAt, "2025-01-01T00:00:00.000Z");

        const running = await store.updateBuild(build.id, { status: "running", error: null });
        assert.equal(running.error, null);
        assert.equal(running.finishedAt, "2025-01-01T00:00:00.000Z");
        assert.deepEqual(await store.getBuild(build.id), running);
      });

      it("links a build to the release it produced", async () => {
        const app = await store.createApp("shop");
        const build = await store.createBuild(app.id, "x");
        const release = await store.createRelease(newRelease(app.id, build.id));
        const done = await store.updateBuild(build.id, {
          status: "succeeded",
          releaseId: release.id,
        });
        assert.equal(done.releaseId, release.id);
        await assert.rejects(
          store.updateBuild(build.id, { status: "succeeded", releaseId: "rel_missing" }),
          NotFoundError,
        );
      });

      it("refuses to update an unknown build with NotFoundError", async () => {
        await assert.rejects(
          store.updateBuild("bld_missing", { status: "running" }),
          NotFoundError,
        );
      });

      it("lists an app's builds newest first", async () => {
        const app = await store.createApp("shop");
        const other = await store.createApp("other");
        const first = await store.createBuild(app.id, "1");
        const second = await store.createBuild(app.id, "2");
        const third = await store.createBuild(app.id, "3");
        await store.createBuild(other.id, "x");
        const ids = (await store.listBuilds(app.id)).map((build) => build.id);
        assert.deepEqual(ids, [third.id, second.id, first.id]);
      });

      it("finds the unfinished builds of a source across apps", async () => {
        const shop = await store.createApp("shop");
        const blog = await store.createApp("blog");
        const done = await store.createBuild(shop.id, "same");
        await store.updateBuild(done.id, {
          status: "succeeded",
          finishedAt: "2026-12-01T00:00:00Z",
        });
        const running = await store.createBuild(shop.id, "same");
        await store.updateBuild(running.id, { status: "running" });
        const pending = await store.createBuild(blog.id, "same");
        await store.createBuild(blog.id, "other");
        const ids = (await store.unfinishedBuildsOfSource("same")).map((build) => build.id);
        assert.deepEqual(ids, [running.id, pending.id]);
        assert.deepEqual(await store.unfinishedBuildsOfSource("missing"), []);
      });
    });

    describe("releases", () => {
      it("numbers releases 1, 2, 3 per app", async () => {
        const a = await store.createApp("aaa");
        const b = await store.createApp("bbb");
        assert.equal((await store.createRelease(newRelease(a.id))).version, 1);
        assert.equal((await store.createRelease(newRelease(a.id))).version, 2);
        assert.equal((await store.createRelease(newRelease(b.id))).version, 1);
        assert.equal((await store.createRelease(newRelease(a.id))).version, 3);
      });

      it("gives a release the id chosen ahead, when there is one", async () => {
        const app = await store.createApp("ahead");
        const chosen = "rel_0123456789abcdef01234567";
        const release = await store.createRelease({ ...newRelease(app.id), id: chosen });
        assert.equal(release.id, chosen);
        assert.equal((await store.getRelease(chosen))?.version, 1);
        assert.match((await store.createRelease(newRelease(app.id))).id, /^rel_[0-9a-f]{24}$/);
      });

      it("gives concurrent releases distinct consecutive versions", async () => {
        const app = await store.createApp("shop");
        const releases = await Promise.all(
          Array.from({ length: 10 }, () => store.createRelease(newRelease(app.id))),
        );
        const versions = releases.map((release) => release.version).sort((x, y) => x - y);
        assert.deepEqual(versions, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      });

      it("stores every field and lists newest first", async () => {
        const app = await store.createApp("shop");
        const build = await store.createBuild(app.id, "x");
        const v1 = await store.createRelease(newRelease(app.id, build.id));
        const v2 = await store.createRelease({
          ...newRelease(app.id),
          processTypes: { web: "node server.js", worker: "node worker.js" },
          buildpacks: ["nodejs", "procfile"],
          description: "rollback to v1",
        });
        assert.equal(v1.buildId, build.id);
        assert.deepEqual(v2.processTypes, { web: "node server.js", worker: "node worker.js" });
        assert.deepEqual(v2.buildpacks, ["nodejs", "procfile"]);
        assert.deepEqual(await store.getRelease(v2.id), v2);
        assert.deepEqual(await store.listReleases(app.id), [v2, v1]);
        assert.deepEqual(await store.currentRelease(app.id), v2);
      });

      it("has no current release before the first one", async () => {
        const app = await store.createApp("shop");
        assert.equal(await store.currentRelease(app.id), undefined);
        assert.equal(await store.getRelease("rel_missing"), undefined);
      });

      it("refuses a release of an unknown app or build with NotFoundError", async () => {
        const app = await store.createApp("shop");
        await assert.rejects(store.createRelease(newRelease("app_missing")), NotFoundError);
        await assert.rejects(store.createRelease(newRelease(app.id, "bld_missing")), NotFoundError);
        assert.deepEqual(await store.listReleases(app.id), []);
      });
    });

    describe("release status, provenance and config versions", () => {
      it("keeps pending and failed releases out of currentRelease", async () => {
        const app = await store.createApp("shop");
        const v1 = await store.createRelease(newRelease(app.id));
        assert.equal(v1.status, "succeeded");
        const v2 = await store.createRelease({ ...newRelease(app.id), status: "pending" });
        assert.equal(v2.status, "pending");
        assert.equal((await store.currentRelease(app.id))?.id, v1.id);
        const failed = await store.setReleaseStatus(v2.id, "failed", "exit 1: boom");
        assert.equal(failed.status, "failed");
        assert.equal(failed.statusDetail, "exit 1: boom");
        assert.equal((await store.currentRelease(app.id))?.id, v1.id);
        const v3 = await store.createRelease({ ...newRelease(app.id), status: "pending" });
        await store.setReleaseStatus(v3.id, "succeeded");
        assert.equal((await store.currentRelease(app.id))?.version, 3);
        await assert.rejects(store.setReleaseStatus("rel_missing", "failed"), NotFoundError);
      });

      it("records the git commit of a pushed build", async () => {
        const app = await store.createApp("shop");
        const commit = "0123456789abcdef0123456789abcdef01234567";
        const pushed = await store.createBuild(app.id, "sha256:abc", "admin", commit);
        assert.equal(pushed.sourceCommit, commit);
        assert.equal((await store.getBuild(pushed.id))?.sourceCommit, commit);
        const uploaded = await store.createBuild(app.id, "sha256:def");
        assert.equal(uploaded.sourceCommit ?? null, null);
      });

      it("records config version, deployer, source and manifest on a release", async () => {
        const app = await store.createApp("shop");
        const build = await store.createBuild(app.id, "sha256:abc", "ci-token");
        assert.equal(build.createdBy, "ci-token");
        const manifest = {
          formation: { web: { quantity: 2, size: "M" } },
          postdeploy: "node seed.js",
          healthchecks: {
            web: [
              {
                type: "startup" as const,
                path: "/health",
                timeoutSeconds: 5,
                intervalSeconds: 10,
                attempts: 3,
              },
            ],
          },
        };
        const release = await store.createRelease({
          ...newRelease(app.id, build.id),
          configVersion: 3,
          deployedBy: "ci-token",
          source: "sha256:abc",
          manifest,
        });
        const read = await store.getRelease(release.id);
        assert.deepEqual(read, release);
        assert.equal(read.configVersion, 3);
        assert.equal(read.deployedBy, "ci-token");
        assert.deepEqual(read.manifest, manifest);
      });

      it("numbers config versions per app and returns the latest", async () => {
        const app = await store.createApp("shop");
        const other = await store.createApp("other");
        assert.equal(await store.latestConfigVersion(app.id), undefined);
        const c1 = await store.createConfigVersion(app.id, "sealed-1");
        const c2 = await store.createConfigVersion(app.id, "sealed-2");
        assert.equal((await store.createConfigVersion(other.id, "x")).version, 1);
        assert.deepEqual([c1.version, c2.version], [1, 2]);
        assert.deepEqual(await store.latestConfigVersion(app.id), c2);
        assert.deepEqual(await store.getConfigVersion(app.id, 1), c1);
        assert.equal(await store.getConfigVersion(app.id, 9), undefined);
        await assert.rejects(store.createConfigVersion("app_missing", "x"), NotFoundError);
        await store.deleteApp(app.id);
        assert.equal(await store.latestConfigVersion(app.id), undefined);
      });
    });

    describe("formation", () => {
      it("adds and replaces process types", async () => {
        const app = await store.createApp("shop");
        await store.setFormation({ appId: app.id, type: "worker", quantity: 2, size: "M" });
        await store.setFormation({ appId: app.id, type: "web", quantity: 3, size: "L" });
        assert.deepEqual(await store.getFormation(app.id), [
          { appId: app.id, type: "web", quantity: 3, size: "L" },
          { appId: app.id, type: "worker", quantity: 2, size: "M" },
        ]);
      });

      it("refuses the formation of an unknown app with NotFoundError", async () => {
        await assert.rejects(
          store.setFormation({ appId: "app_missing", type: "web", quantity: 1, size: "S" }),
          NotFoundError,
        );
      });
    });

    describe("app settings", () => {
      it("sets, replaces and removes settings per app", async () => {
        const app = await store.createApp("shop");
        const other = await store.createApp("other");
        await store.setAppSetting(app.id, "healthcheck.path", "/health");
        await store.setAppSetting(app.id, "healthcheck.path", "/up");
        await store.setAppSetting(app.id, "boot-timeout", "30");
        await store.setAppSetting(other.id, "boot-timeout", "5");
        assert.deepEqual(await store.getAppSettings(app.id), {
          "boot-timeout": "30",
          "healthcheck.path": "/up",
        });
        await store.setAppSetting(app.id, "boot-timeout", null);
        assert.deepEqual(await store.getAppSettings(app.id), { "healthcheck.path": "/up" });
      });

      it("refuses a setting of an unknown app with NotFoundError", async () => {
        await assert.rejects(store.setAppSetting("app_missing", "k", "v"), NotFoundError);
      });
    });

    accessCases(() => store);

    historyCases(() => store);

    describe("crash records", () => {
      crashRecordCases(() => store);
    });

    describe("onChange", () => {
      it("announces each committed change with its kind and app", async () => {
        const changes: StoreChange[] = [];
        store.onChange((change) => changes.push(change));
        const app = await store.createApp("shop");
        const build = await store.createBuild(app.id, "x");
        await store.updateBuild(build.id, { status: "running" });
        await store.createRelease(newRelease(app.id));
        await store.setFormation({ appId: app.id, type: "web", quantity: 2, size: "S" });
        await store.deleteApp(app.id);
        assert.deepEqual(
          changes.map((change) => [change.kind, change.appId]),
          [
            ["app", app.id],
            ["build", app.id],
            ["build", app.id],
            ["release", app.id],
            ["formation", app.id],
            ["app", app.id],
          ],
        );
      });

      it("fires only after the change is visible to readers", async () => {
        const seen: Promise<unknown>[] = [];
        store.onChange(() => seen.push(store.getApp("shop")));
        await store.createApp("shop");
        assert.equal(seen.length, 1);
        assert.equal(((await seen[0]) as { name: string } | undefined)?.name, "shop");
      });

      it("stays silent on writes that failed", async () => {
        await store.createApp("shop");
        const changes: StoreChange[] = [];
        store.onChange((change) => changes.push(change));
        await assert.rejects(store.createApp("shop"), ConflictError);
        await assert.rejects(store.createRelease(newRelease("app_missing")), NotFoundError);
        assert.deepEqual(changes, []);
      });

      it("stops after unsubscribe", async () => {
        const changes: StoreChange[] = [];
        const unsubscribe = store.onChange((change) => changes.push(change));
        await store.createApp("one");
        unsubscribe();
        await store.createApp("two");
        assert.equal(changes.length, 1);
      });
    });
  });
}

function newRelease(appId: string, buildId: string | null = null): NewRelease {
  return {
    appId,
    imageDigest: `sha256:${"0".repeat(64)}`,
    imageRef: "slipway/shop@sha256:0000",
    buildId,
    processTypes: { web: "node server.js" },
    stack: "debian-12@1",
    buildpacks: ["nodejs"],
    description: "deploy",
  };
}
