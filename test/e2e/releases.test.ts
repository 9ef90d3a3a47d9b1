/**
 * Releases end to end on one platform: deploy the example twice, check that every running
 * container runs exactly its release's image, change config vars (a new release of the same
 * image rolls the containers), roll back without a build, and see a failing release phase
 * stop a deploy while the previous release keeps serving. Every step is an event.
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { must, startPlatform, type TestPlatform, engineGet } from "./harness.ts";
import { loadLoop } from "./load.ts";

const example = join(import.meta.dirname, "..", "..", "examples", "hello-node");
const host = "rel.slipway.localhost";

interface PsEntry {
  readonly id: string;
  readonly type: string;
  readonly release: number;
  readonly state: string;
}

interface ReleaseEntry {
  readonly version: number;
  readonly imageRef: string;
  readonly imageDigest: string;
  readonly status: string;
  readonly statusDetail: string | null;
  readonly source: string | null;
  readonly deployedBy: string | null;
  readonly buildpacks: string[];
  readonly stack: string;
  readonly description: string;
}

describe("releases, config vars and rollback, end to end", { timeout: 1_800_000 }, () => {
  let p: TestPlatform;
  const work = mkdtempSync(join(tmpdir(), "sw-rel-"));

  before(async () => {
    p = await startPlatform();
    await must(p.cli(["apps:create", "rel"]), "apps:create");
  });
  after(async () => {
    await p.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("deploys v1 and v2 and lists them with source, buildpacks, stack and deployer", async () => {
    await must(p.cli(["deploy", example, "--app", "rel"]), "deploy v1");
    assert.match((await p.get(host)).body, /^Hello from Slipway/);
    const v2 = variant("v2", (server) =>
      server.replace('"Hello from Slipway"', '"Hello v2 from Slipway"'),
    );
    await must(p.cli(["deploy", v2, "--app", "rel"]), "deploy v2");
    assert.match((await p.get(host)).body, /^Hello v2 from Slipway/);
    // A warm build of the same buildpacks: its image and v2's web container were made while
    // its buildpacks ran, and the rollout only started that container (docs/runtime.md).
    const started = readFileSync(join(p.home, "logs", "daemon.log"), "utf8")
      .split("\n")
      .filter((line) => line.includes('"starting container'))
      .map((line) => JSON.parse(line) as { message: string; release: number });
    assert.deepEqual(
      started.map((line) => `${line.message} v${String(line.release)}`),
      ["starting container v1", "starting container made ahead v2"],
    );
    const list = await releases(p);
    assert.deepEqual(
      list.map((r) => r.version),
      [2, 1],
    );
    for (const r of list) {
      assert.match(r.source ?? "", /^sha256:[0-9a-f]{64}$/);
      assert.ok(r.buildpacks.length > 0);
      assert.ok(r.stack !== "");
      assert.match(r.deployedBy ?? "", /^admin/);
      assert.equal(r.status, "succeeded");
    }
    const table = await must(p.cli(["releases", "--app", "rel"]), "releases");
    assert.match(table.stdout, /BUILDPACKS/);
  });

  it("runs every container on exactly its release's image", async () => {
    await assertImagesMatch(p);
  });

  it("env:set makes a release of the same image, rolls the containers, the app sees it", async () => {
    const before = await ps(p);
    const load = loadLoop(p, host);
    try {
      const set = await must(
        p.cli(["env:set", "GREETING=Hi from config", "SECRET_TOKEN=hunter2", "--app", "rel"]),
        "env:set",
      );
      assert.match(set.stdout, /v3 is serving/);
      assert.ok(!set.stdout.includes("hunter2"), "values are not echoed");
      assert.equal((await p.get(host)).body.split("\n")[0], "Hi from config");
      // "serving" means the router moved; the old containers are still draining until gone.
      await assertReplaced(p, before);
    } finally {
      await assertNoFailure(load, "config change");
    }
    const list = await releases(p);
    assert.equal(list[0]?.imageDigest, list[1]?.imageDigest, "no build: the same image");
    const env = JSON.parse(
      (await must(p.cli(["env", "--app", "rel", "--json"]), "env")).stdout,
    ) as Record<string, string>;
    assert.deepEqual(env, { GREETING: "Hi from config", SECRET_TOKEN: "hunter2" });
    // Sealed at rest: neither the database nor the daemon log holds the value in the clear.
    for (const file of ["slipway.db", join("logs", "daemon.log")]) {
      assert.ok(!readFileSync(join(p.home, file)).includes("hunter2"), `${file} leaks`);
    }
    await must(p.cli(["env:unset", "SECRET_TOKEN", "--app", "rel"]), "env:unset");
    await assertImagesMatch(p);
  });

  it("rolls back to v1 in seconds, without a build, restoring its body and config", async () => {
    const buildsBefore = await buildCount(p);
    const before = await ps(p);
    const load = loadLoop(p, host);
    const started = Date.now();
    const back = await must(p.cli(["rollback", "v1", "--app", "rel"]), "rollback");
    const seconds = (Date.now() - started) / 1000;
    try {
      await assertReplaced(p, before);
    } finally {
      await assertNoFailure(load, "rollback");
    }
    assert.match(back.stdout, /v5 is serving/);
    assert.ok(seconds < 30, `rollback took ${seconds.toFixed(1)} s`);
    assert.equal(await buildCount(p), buildsBefore, "no build");
    assert.match((await p.get(host)).body, /^Hello from Slipway/);
    const [v5] = await releases(p);
    assert.equal(v5?.description, "Rollback to v1");
    await assertImagesMatch(p);
  });

  it("stops a deploy whose release phase fails; the previous release keeps serving", async () => {
    const broken = variant("release-fails", (server) =>
      server.replace('"Hello from Slipway"', '"Hello broken from Slipway"'),
    );
    writeFileSync(
      join(broken, "Procfile"),
      "web: node server.js\nrelease: echo migrating the database; echo migration failed >&2; exit 3\n",
    );
    const deploy = await p.cli(["deploy", broken, "--app", "rel"]);
    assert.equal(deploy.code, 1, deploy.stdout + deploy.stderr);
    assert.match(deploy.stderr, /v6 failed: release phase exited with code 3/);
    assert.match(deploy.stderr, /migration failed/);
    assert.match((await p.get(host)).body, /^Hello from Slipway/);
    const [v6] = await releases(p);
    assert.equal(v6?.status, "failed");
    const events = await must(p.cli(["events", "--app", "rel"]), "events");
    assert.match(events.stdout, /release\.failed .*v6 release phase exited with code 3/);
    await assertImagesMatch(p);
  });

  it("shows builds and releases as events", async () => {
    const events = JSON.parse(
      (await must(p.cli(["events", "--app", "rel", "--json"]), "events")).stdout,
    ) as { type: string; message: string }[];
    const types = new Set(events.map((e) => e.type));
    for (const type of ["build.succeeded", "config.changed", "release.created", "release.failed"])
      assert.ok(types.has(type), `event ${type} in ${[...types].join(", ")}`);
    assert.ok(events.every((e) => !e.message.includes("hunter2")));
  });

  function variant(name: string, edit: (server: string) => string): string {
    const dir = join(work, name);
    cpSync(example, dir, { recursive: true });
    const server = join(dir, "server.js");
    writeFileSync(server, edit(readFileSync(server, "utf8")));
    return dir;
  }
});

async function eventually(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return false;
}

async function ps(p: TestPlatform): Promise<PsEntry[]> {
  const r = await must(p.cli(["ps", "--app", "rel", "--json"]), "ps");
  return (JSON.parse(r.stdout) as PsEntry[]).filter((c) => c.state === "running");
}

async function releases(p: TestPlatform): Promise<ReleaseEntry[]> {
  const r = await must(p.cli(["releases", "--app", "rel", "--json"]), "releases");
  return JSON.parse(r.stdout) as ReleaseEntry[];
}

async function buildCount(p: TestPlatform): Promise<number> {
  const r = await must(p.cli(["events", "--app", "rel", "--json", "--limit", "1000"]), "events");
  return (JSON.parse(r.stdout) as { type: string }[]).filter((e) => e.type.startsWith("build."))
    .length;
}

/** Every running container's image (engine inspect) is its release's imageRef/imageDigest. */
async function assertImagesMatch(p: TestPlatform): Promise<void> {
  const byVersion = new Map((await releases(p)).map((r) => [r.version, r]));
  const running = await ps(p);
  assert.ok(running.length > 0);
  for (const c of running) {
    const inspect = (await engineGet(p, `/v1.41/containers/${c.id}/json`)) as {
      Image?: string;
      message?: string;
    };
    if (inspect.Image === undefined) {
      // An old release's container that finished draining between ps and this inspect.
      assert.match(inspect.message ?? "", /no such container/, `inspect of ${c.id}`);
      continue;
    }
    const release = byVersion.get(c.release);
    assert.ok(release, `release v${String(c.release)} exists`);
    const image = inspect.Image.startsWith("sha256:") ? inspect.Image : `sha256:${inspect.Image}`;
    assert.equal(image, release.imageRef, `container ${c.id} runs v${String(c.release)}'s image`);
    assert.equal(image, release.imageDigest);
  }
}

/** Stops a client loop and asserts that no request failed while it ran. */
async function assertNoFailure(
  load: ReturnType<typeof loadLoop>,
  operation: string,
): Promise<void> {
  const stats = await load.stop();
  assert.equal(
    stats.failed,
    0,
    `${operation}: ${String(stats.failed)} failed requests: ${stats.errors.slice(0, 5).join("; ")}`,
  );
  assert.ok(stats.ok > 0, `${operation}: no request was made`);
}

/** Waits until none of the `before` containers runs any more (a minute at most). */
async function assertReplaced(p: TestPlatform, before: readonly PsEntry[]): Promise<void> {
  assert.ok(
    await eventually(
      async () => (await ps(p)).every((c) => !before.some((b) => b.id === c.id)),
      60_000,
    ),
    "containers were replaced",
  );
}
