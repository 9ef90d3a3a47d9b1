import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { BuildFailedError } from "../domain/errors.ts";
import type { ContainerSpec } from "../engine/engine.ts";
import { FakeEngine, type FakeProgram } from "../engine/fake-engine.ts";
import { unpackTar } from "../engine/tar-files.ts";
import { runBuild, type RunBuildOptions } from "./builder.ts";
import { buildContainerKey, startBuildContainer } from "./started-build-container.ts";
import { buildStack, type StackImages } from "./stack-builder.ts";
import { packTar } from "./tar-files.ts";
import { DEFAULT_RECIPE, seedStackCache } from "./testing-stack.ts";

/**
 * The build flow against the fake engine: which objects runBuild creates, what it puts where,
 * and that it cleans up whatever happens. The real thing runs in builder.test.ts.
 */
const BUILDPACKS = join(import.meta.dirname, "../../buildpacks");

/** A build container that "compiles" a Node.js app, or fails like npm would. */
function buildProgram(exitCode: number): FakeProgram {
  return (spec: ContainerSpec) => {
    if (!spec.name.startsWith("slipway-build-")) return { untilStopped: true };
    if (exitCode !== 0) {
      return {
        exitCode,
        stdout: ["-----> Installing dependencies", " !     npm ci failed: npm error 404"],
      };
    }
    return {
      stdout: ["-----> Node.js app detected"],
      writes: {
        "/workspace/out/meta/buildpack": "nodejs\nNode.js\n",
        "/workspace/out/meta/release.yml": "---\ndefault_process_types:\n  web: npm start\n",
        "/workspace/out/meta/Procfile": "web: node server.js\nworker: node worker.js\n",
        "/workspace/out/slug/server.js": "console.log('hi')",
      },
    };
  };
}

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "slipway-builder-flow-"));
  await seedStackCache(dir);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function setUp(exitCode: number): Promise<{ engine: FakeEngine; options: RunBuildOptions }> {
  const engine = new FakeEngine({ program: buildProgram(exitCode) });
  const stack: StackImages = await buildStack({
    recipeDir: DEFAULT_RECIPE,
    cacheDir: dir,
    engine,
    mirror: "http://mirror",
    log: () => undefined,
  });
  engine.clearActions();
  const options: RunBuildOptions = {
    engine,
    app: { id: "app_1", name: "hello" },
    buildId: "b-1",
    sourceTar: packTar([{ name: "src/package.json", content: "{}" }]),
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

describe("runBuild (fake engine)", () => {
  it("builds in a container with the workspace and cache volumes, then imports the app image", async () => {
    const { engine, options } = await setUp(0);
    const lines: string[] = [];
    const result = await runBuild({ ...options, log: (line) => lines.push(line) });

    assert.deepEqual(result.processTypes, { web: "node server.js", worker: "node worker.js" });
    assert.deepEqual(result.buildpacks, ["nodejs"]);
    assert.ok(lines.includes("-----> Node.js app detected"));
    assert.deepEqual(
      engine.actions.map((a) => `${a.verb} ${a.kind} ${a.name}`),
      [
        "create network sw-test-build",
        "create volume slipway-build-b-1",
        "create volume slipway-cache-hello",
        "create container slipway-build-b-1",
        // The buildpacks, then the start: the runner waits for its go line.
        "put-archive container slipway-build-b-1",
        "start container slipway-build-b-1",
        // The build's inputs (CA, ENV_DIR, known layers) and the source, in one archive.
        "put-archive container slipway-build-b-1",
        "import image slipway/app-hello:b-1",
        "remove container slipway-build-b-1",
        "remove volume slipway-build-b-1",
      ],
    );
    const image = await engine.inspectImage(result.imageRef);
    assert.ok(image);
    assert.equal(image.labels["io.slipway.source-checksum"], "sha256:abc");
    assert.equal(image.labels["io.slipway.stack"], "slipway-24");

    // The image holds the stack, the slug as /app and the launcher's process table.
    const probe = await engine.createContainer({
      name: "probe",
      image: result.imageRef,
      env: {},
      labels: {},
      network: "sw-test-build",
      limits: options.limits,
    });
    const files = new Map<string, string>();
    for (const file of await unpackTar(await engine.getArchive(probe, "/"))) {
      files.set(file.path, file.data.toString());
    }
    assert.match(files.get("etc/os-release") ?? "", /run image/);
    assert.equal(files.get("app/server.js"), "console.log('hi')");
    assert.equal(files.get("app/.slipway/processes/worker"), "node worker.js");
    assert.match(files.get("app/.slipway/launch") ?? "", /^#!\/bin\/bash/);
  });

  it("builds in a container started ahead for the app, or replaces one made for another setup", async () => {
    const { engine, options } = await setUp(0);
    const ahead = await startBuildContainer(options, "slipway-build-next-1");
    engine.clearActions();
    const lines: string[] = [];
    await runBuild({ ...options, container: ahead, log: (line) => lines.push(line) });
    assert.ok(lines.includes("       In the build container started after the app's last build"));
    const verbs = engine.actions.map((a) => `${a.verb} ${a.kind} ${a.name}`);
    assert.ok(!verbs.some((v) => v.startsWith("create container") || v.startsWith("start")));
    assert.deepEqual(
      verbs.filter((v) => v.includes("slipway-build-")),
      [
        "put-archive container slipway-build-next-1",
        "remove container slipway-build-next-1",
        "remove volume slipway-build-next-1",
      ],
    );

    // Made before the build limits changed: it goes, and the build starts its own.
    const stale = await startBuildContainer(options, "slipway-build-next-2");
    engine.clearActions();
    lines.length = 0;
    await runBuild({
      ...options,
      limits: { ...options.limits, memoryBytes: 2 * options.limits.memoryBytes },
      container: stale,
      log: (line) => lines.push(line),
    });
    assert.ok(!lines.some((line) => line.includes("started after")));
    const after = engine.actions.map((a) => `${a.verb} ${a.kind} ${a.name}`);
    assert.deepEqual(after.slice(0, 3), [
      "remove container slipway-build-next-2",
      "remove volume slipway-build-next-2",
      "create volume slipway-build-b-1",
    ]);
    assert.ok(after.includes("start container slipway-build-b-1"));
  });

  it("puts the extra CAs in with the buildpacks, before the start; the build puts only its own inputs", async () => {
    const { engine, options } = await setUp(0);
    const pem = join(dir, "proxy-ca.pem");
    await writeFile(pem, "-----BEGIN CERTIFICATE-----\n");
    const withCa = { ...options, caFiles: [pem] };
    const ahead = await startBuildContainer(withCa, "slipway-build-next-1");
    const workspace = async (): Promise<string[]> =>
      (await unpackTar(await engine.getArchive(ahead.id, "/workspace")))
        .map((file) => file.path)
        .filter((path) => !path.startsWith("buildpacks"));
    assert.deepEqual(await workspace(), ["ca", "ca/0-proxy-ca.pem"]);
    await runBuild({ ...withCa, container: ahead, deferCleanup: true });
    const after = await workspace();
    assert.deepEqual(
      after.filter((path) => path.startsWith("ca/") || path.startsWith("env/")),
      ["ca/0-proxy-ca.pem"],
    );
    assert.ok(after.includes("known-layers"), after.join());
    // Another CA setting makes another container.
    assert.notEqual(buildContainerKey(withCa), buildContainerKey(options));
  });

  it("with deferCleanup, returns with the image and leaves the container to cleanUp", async () => {
    const { engine, options } = await setUp(0);
    const lines: string[] = [];
    const result = await runBuild({
      ...options,
      deferCleanup: true,
      log: (line) => lines.push(line),
    });
    assert.ok(await engine.inspectImage(result.imageRef));
    assert.ok(await engine.inspectContainer("slipway-build-b-1"), "left for cleanUp");
    await Promise.all([result.cleanUp(), result.cleanUp()]);
    await result.cleanUp();
    assert.equal(await engine.inspectContainer("slipway-build-b-1"), undefined);
    const done = engine.actions.map((a) => `${a.verb} ${a.kind} ${a.name}`);
    assert.deepEqual(done.slice(-2), [
      "remove container slipway-build-b-1",
      "remove volume slipway-build-b-1",
    ]);
    assert.ok(lines.some((line) => /^-----> Timings: prepare [\d.]+ s, buildpacks /.test(line)));
  });

  it("fails with the buildpack's reason and still removes the container and workspace", async () => {
    const { engine, options } = await setUp(1);
    await assert.rejects(
      runBuild(options),
      (error: unknown) =>
        error instanceof BuildFailedError && /npm ci failed: npm error 404/.test(error.message),
    );
    const verbs = engine.actions.map((a) => `${a.verb} ${a.kind} ${a.name}`);
    assert.ok(verbs.includes("remove container slipway-build-b-1"));
    assert.ok(verbs.includes("remove volume slipway-build-b-1"));
    assert.ok(!verbs.some((v) => v.startsWith("import")));
    assert.equal((await engine.listVolumes({ "io.slipway.role": "build-cache" })).length, 1);
  });

  it("cleans up when the engine fails halfway", async () => {
    const { engine, options } = await setUp(0);
    engine.failNext("startContainer", new Error("engine went away"));
    await assert.rejects(runBuild(options), /engine went away/);
    assert.equal((await engine.listContainers({ "io.slipway.build": "b-1" })).length, 0);
    assert.equal((await engine.listVolumes({ "io.slipway.build": "b-1" })).length, 0);
  });
});
