/**
 * The API wired to the real platform services (source validation, build submission, app
 * teardown) over a real store and a fake engine: bad uploads are refused with a clear 4xx
 * and leave nothing behind; good ones become exactly one pending build.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createApi } from "../api/api.ts";
import { createTestToken } from "../api/fake-deps.ts";
import type { ControllerManager } from "../controllers/manager.ts";
import { RuntimeState } from "../controllers/runtime-state.ts";
import { FakeEngine } from "../engine/fake-engine.ts";
import { SqliteStore } from "../store/sqlite/sqlite-store.ts";
import { platformApiDeps } from "./platform.ts";
import { releaseOps } from "../api/release-ops.ts";
import { SecretBox } from "../security/secrets.ts";
import { randomBytes } from "node:crypto";

describe("platform API deps", () => {
  const dir = mkdtempSync(join(tmpdir(), "sw-platform-"));
  const uploadsDir = join(dir, "uploads");
  const sourcesDir = join(dir, "sources");
  mkdirSync(uploadsDir);
  mkdirSync(sourcesDir);
  const store = new SqliteStore(":memory:");
  const engine = new FakeEngine({ instance: "t1" });
  const reconciled: string[] = [];
  const controllers = {
    reconcileApp: (id: string) => {
      reconciled.push(id);
      return Promise.resolve();
    },
  } as unknown as ControllerManager;
  const api = createApi({
    ...platformApiDeps({
      store,
      engine,
      controllers,
      state: new RuntimeState(),
      instance: "t1",
      maxUploadBytes: 1024 * 1024,
      uploadsDir,
      sourcesDir,
      buildLogsDir: join(dir, "logs"),
    }),
    ...releaseOps({
      store,
      box: new SecretBox(randomBytes(32)),
      imageExists: () => Promise.resolve(true),
    }),
  });
  let token = "";

  before(async () => {
    token = (await createTestToken(store)).secret;
    await store.createApp("hello");
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function upload(body: Buffer): Promise<Response> {
    return Promise.resolve(
      api.request("/v1/apps/hello/builds", {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/gzip" },
        body,
      }),
    );
  }

  /** Makes a tar.gz with GNU tar from a directory prepared by `prepare`. */
  function archive(prepare: (root: string) => void, tarArgs: string[] = ["."]): Buffer {
    const root = mkdtempSync(join(dir, "src-"));
    prepare(root);
    const out = execFileSync("tar", ["-czf", "-", "-C", root, "-P", ...tarArgs]);
    rmSync(root, { recursive: true, force: true });
    return out;
  }

  async function expectRefused(body: Buffer, pattern: RegExp): Promise<void> {
    const res = await upload(body);
    const problem = (await res.json()) as { detail: string; errors: string[] };
    assert.ok(res.status >= 400 && res.status < 500, `status ${String(res.status)}`);
    assert.match(`${problem.detail} ${problem.errors.join(" ")}`, pattern);
    assert.deepEqual(readdirSync(uploadsDir), [], "no upload left behind");
    assert.deepEqual(readdirSync(sourcesDir), [], "no source stored");
    const app = await store.getApp("hello");
    assert.deepEqual(await store.listBuilds(app?.id ?? ""), [], "no build created");
  }

  it("refuses entries with .. in their path", async () => {
    await expectRefused(
      archive(
        (root) => {
          writeFileSync(join(root, "a"), "x");
        },
        ["--transform=s,^\\./a,../evil,", "./a"],
      ),
      /\.\./,
    );
  });

  it("refuses absolute paths", async () => {
    const absolute = join(dir, "absolute.txt");
    writeFileSync(absolute, "x");
    await expectRefused(
      archive(() => undefined, [absolute]),
      /absolute/i,
    );
  });

  it("refuses symlinks that escape the tree", async () => {
    await expectRefused(
      archive((root) => {
        symlinkSync("../../etc/passwd", join(root, "link"));
      }),
      /link|escape|outside/i,
    );
  });

  it("refuses data that is not a gzipped tarball", async () => {
    await expectRefused(Buffer.from("definitely not gzip"), /gzip|archive|tar/i);
  });

  it("turns a good upload into one pending build with its source stored by checksum", async () => {
    const res = await upload(
      archive((root) => {
        writeFileSync(join(root, "package.json"), "{}");
        writeFileSync(join(root, "server.js"), "");
      }),
    );
    assert.equal(res.status, 201, await res.clone().text());
    const build = (await res.json()) as { id: string; status: string; sourceChecksum: string };
    assert.equal(build.status, "pending");
    assert.match(build.sourceChecksum, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(readdirSync(sourcesDir), [`${build.sourceChecksum.slice(7)}.tar.gz`]);
    assert.deepEqual(readdirSync(uploadsDir), []);
    assert.ok(readFileSync(join(sourcesDir, readdirSync(sourcesDir)[0] ?? "")).length > 0);
  });

  it("destroys an app: the store row goes, the controller converges, images and cache go", async () => {
    const app = await store.getApp("hello");
    const res = await api.request("/v1/apps/hello", {
      method: "DELETE",
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 204);
    assert.equal(await store.getApp("hello"), undefined);
    assert.deepEqual(reconciled, [app?.id]);
  });
});
