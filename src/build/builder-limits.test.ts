import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { BuildFailedError } from "../domain/errors.ts";
import type { ContainerSpec } from "../engine/engine.ts";
import { FakeEngine, type FakeProgram } from "../engine/fake-engine.ts";
import { runBuild, type RunBuildOptions } from "./builder.ts";
import { buildStack } from "./stack-builder.ts";
import { packTar } from "./tar-files.ts";
import { DEFAULT_RECIPE, seedStackCache } from "./testing-stack.ts";

/**
 * Config vars and the build's limits against the fake engine: ENV_DIR files, the disk
 * watchdog, out-of-memory and buildpack selection variables. The real engine runs the
 * same cases in buildpacks.test.ts.
 */
const BUILDPACKS = join(import.meta.dirname, "../../buildpacks");

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "slipway-builder-limits-"));
  await seedStackCache(dir);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function setUp(
  program: FakeProgram,
): Promise<{ engine: FakeEngine; options: RunBuildOptions }> {
  const engine = new FakeEngine({ program });
  const stack = await buildStack({
    recipeDir: DEFAULT_RECIPE,
    cacheDir: dir,
    engine,
    mirror: "http://mirror",
    log: () => undefined,
  });
  const options: RunBuildOptions = {
    engine,
    app: { id: "app_1", name: "hello" },
    buildId: "b-1",
    sourceTar: packTar([{ name: "src/Procfile", content: "web: x" }]),
    sourceChecksum: "sha256:abc",
    stack,
    buildpacksDir: BUILDPACKS,
    caFiles: [],
    npmRegistry: "https://registry.example/",
    limits: { memoryBytes: 512 * 2 ** 20, cpus: 1, pids: 256, tmpBytes: 2 ** 20 },
    timeoutSeconds: 10,
    network: "sw-test-build",
    log: () => undefined,
  };
  return { engine, options };
}

const success: FakeProgram = () => ({
  writes: {
    "/workspace/out/meta/buildpacks": "procfile\tProcfile\nfixture\tFixture\n",
    "/workspace/out/meta/release-1.yml": "---\ndefault_process_types:\n  worker: w\n",
    "/workspace/out/meta/Procfile": "web: x\n",
    "/workspace/out/slug/Procfile": "web: x\n",
  },
});

describe("runBuild config vars and limits (fake engine)", () => {
  it("writes config vars as ENV_DIR files and records every buildpack that ran", async () => {
    let seen: Record<string, string | undefined> = {};
    const { options } = await setUp((spec: ContainerSpec, read, input) => {
      if (!spec.name.startsWith("slipway-build-")) return { untilStopped: true };
      seen = {
        greeting: read("/workspace/env/GREETING"),
        buildpackUrl: read("/workspace/env/BUILDPACK_URL"),
        bad: read("/workspace/env/not a name"),
        runner: read("/workspace/buildpacks/_runner/build.sh"),
      };
      return success(spec, read, input);
    });
    const result = await runBuild({
      ...options,
      env: { GREETING: "hi there", BUILDPACK_URL: "https://x/y.git", "not a name": "z" },
    });
    assert.equal(seen.greeting, "hi there");
    assert.equal(seen.buildpackUrl, "https://x/y.git");
    assert.equal(seen.bad, undefined);
    assert.match(seen.runner ?? "", /bin\/compile/);
    assert.deepEqual(result.buildpacks, ["procfile", "fixture"]);
    assert.deepEqual(result.processTypes, { web: "x", worker: "w" });
  });

  it("stops a build that writes more than its disk allowance, and cleans up", async () => {
    const { engine, options } = await setUp((spec) =>
      spec.name.startsWith("slipway-build-")
        ? { untilStopped: true, writes: { "/workspace/out/slug/big": "x".repeat(4096) } }
        : { untilStopped: true },
    );
    await assert.rejects(
      runBuild({ ...options, diskLimitBytes: 1024, diskCheckMs: 10 }),
      (error: unknown) =>
        error instanceof BuildFailedError && /used more than 0 MB of disk/.test(error.message),
    );
    assert.equal((await engine.listContainers({ "io.slipway.build": "b-1" })).length, 0);
    assert.equal((await engine.listVolumes({ "io.slipway.build": "b-1" })).length, 0);
  });

  it("says the build ran out of memory when the kernel killed it", async () => {
    const { engine, options } = await setUp(() => ({ untilStopped: true }));
    const building = runBuild(options);
    const killed = (async () => {
      for (;;) {
        const [container] = await engine.listContainers({ "io.slipway.build": "b-1" });
        if (container?.state === "running") {
          engine.exitContainer(container.id, 137, true);
          return;
        }
        await sleep(5);
      }
    })();
    await assert.rejects(building, /build ran out of memory \(limit 512 MB\)/);
    await killed;
  });

  it("fails a Dockerfile app clearly on an engine that cannot build images", async () => {
    const { options } = await setUp(() => ({
      writes: { "/workspace/out/meta/dockerfile": 'FROM x\nCMD ["serve"]\n' },
    }));
    await assert.rejects(runBuild(options), /this engine cannot build Dockerfiles/);
  });
});
