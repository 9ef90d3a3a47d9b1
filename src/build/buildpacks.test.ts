/**
 * Integration test of the built-in buildpacks and the buildpack API on the real engine
 * (one Podman service and one stack import shared by every case): a Python stdlib app, a
 * static site, a Go stdlib app and a Procfile-only app each build and serve; a third-party
 * style fixture buildpack runs unchanged with `export`, ENV_DIR and .profile.d; and builds
 * that run out of memory, time or disk fail cleanly while an app keeps serving.
 * Needs root, podman and debootstrap; skipped otherwise.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, cp, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { BuildFailedError } from "../domain/errors.ts";
import type { DockerEngine } from "../engine/docker/docker-engine.ts";
import type { ContainerLimits } from "../engine/engine.ts";
import { startStackSandbox, type StackSandbox } from "./testing/stack-sandbox.ts";
import { runBuild, type BuildResult, type RunBuildOptions } from "./builder.ts";
import { openSourceArchive } from "./source-archive.ts";
import type { StackImages } from "./stack-builder.ts";

const ROOT = join(import.meta.dirname, "../..");
const FIXTURES = join(ROOT, "test/fixtures");
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

describe("buildpacks on Podman", { skip: !canRun && "needs root, podman and debootstrap" }, () => {
  const instance = `bp${randomBytes(4).toString("hex")}`;
  const network = `sw-build-${instance}`;
  const timings: Record<string, number> = {};
  let home = "";
  let sandbox: StackSandbox | undefined;
  let engine: DockerEngine;
  let stack: StackImages;
  /** A running app that every failing build must leave alone. */
  let bystander: { id: string; url: string } | undefined;

  before(async () => {
    sandbox = await startStackSandbox({ prefix: "sw-bp-", instance, networkPool: "10.216.0.0/16" });
    ({ home, engine, stack } = sandbox);
    timings.stack = sandbox.stackMs;
  });

  after(async () => {
    await sandbox?.destroy();
    console.log(`timings (ms): ${JSON.stringify(timings)}`);
  });

  async function build(
    dir: string,
    buildId: string,
    extra: Partial<RunBuildOptions> = {},
  ): Promise<{ result: BuildResult; log: string }> {
    const lines: string[] = [];
    const file = join(home, `${buildId}.tgz`);
    execFileSync("tar", ["czf", file, "-C", dir, "."]);
    const source = await openSourceArchive(file, { limits: SOURCE_LIMITS });
    const started = Date.now();
    try {
      const result = await runBuild({
        engine,
        app: { id: `app-${buildId}`, name: extra.app?.name ?? buildId },
        buildId,
        sourceTar: source.tar(),
        sourceChecksum: source.checksum,
        stack,
        buildpacksDir: join(ROOT, "buildpacks"),
        caFiles: ["/etc/ssl/certs/ca-certificates.crt"],
        npmRegistry: "https://registry.npmjs.org/",
        limits: LIMITS,
        timeoutSeconds: 300,
        network,
        log: (line) => lines.push(line),
        ...extra,
      });
      return { result, log: lines.join("\n") };
    } catch (error) {
      if (error instanceof Error) error.message += `\n--- build log ---\n${lines.join("\n")}`;
      throw error;
    } finally {
      timings[buildId] = Date.now() - started;
    }
  }

  /** Starts the image's web process and returns its URL (the container stays for later). */
  async function serve(result: BuildResult, name: string): Promise<{ id: string; url: string }> {
    const id = await engine.createContainer({
      name,
      image: result.imageRef,
      env: { PORT: "5000" },
      labels: { "io.slipway.app": name },
      network,
      limits: { ...LIMITS, memoryBytes: 256 * 2 ** 20 },
    });
    await engine.startContainer(id);
    const address = (await engine.inspectContainer(id))?.addresses[network];
    assert.ok(address, "the app container has an address");
    return { id, url: `http://${address}:5000` };
  }

  /** Runs one process type to completion and returns its output. */
  async function runProcess(result: BuildResult, type: string): Promise<string[]> {
    const id = await engine.createContainer({
      name: `run-${type}-${randomBytes(3).toString("hex")}`,
      image: result.imageRef,
      cmd: ["/app/.slipway/launch", type],
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
      return lines;
    } finally {
      await engine.removeContainer(id);
    }
  }

  it("builds a Python stdlib app with the stack's python3 and serves it", async () => {
    const { result, log } = await build(join(FIXTURES, "apps/python-stdlib"), "python");
    assert.match(log, /-----> Python app detected/);
    assert.match(log, /requirements.txt lists nothing to install/);
    assert.deepEqual(result.buildpacks, ["python"]);
    assert.deepEqual(result.processTypes, { web: "python app.py" });
    const app = await serve(result, "python-web");
    assert.match(
      await fetchText(`${app.url}/`),
      /^Hello from Python 3\.11 in \/app\/\.heroku\/python/,
    );

    // Unchanged requirements: the environment comes from the cache.
    const again = await build(join(FIXTURES, "apps/python-stdlib"), "python2", {
      app: { id: "app-python", name: "python" },
    });
    assert.match(again.log, /Requirements unchanged: restoring the cached environment/);
  });

  it("serves a static site with types, caching headers, no listing, .slugignore applied", async () => {
    const { result, log } = await build(join(FIXTURES, "apps/static-site"), "static");
    assert.match(log, /-----> Static site app detected/);
    assert.match(log, /Removed 2 entries matching .slugignore/);
    assert.deepEqual(result.buildpacks, ["static"]);
    bystander = await serve(result, "static-web");
    const page = await fetchWithRetry(`${bystander.url}/`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(page.headers.get("cache-control"), "no-cache");
    assert.match(await page.text(), /Hello from a static site/);
    const css = await fetch(`${bystander.url}/css/site.css`);
    assert.equal(css.headers.get("content-type"), "text/css; charset=utf-8");
    assert.equal(css.headers.get("cache-control"), "public, max-age=3600");
    const etag = css.headers.get("etag") ?? "";
    await css.text();
    const revalidated = await fetch(`${bystander.url}/css/site.css`, {
      headers: { "if-none-match": etag },
    });
    assert.equal(revalidated.status, 304);
    for (const path of ["/css/", "/drafts/secret.html", "/logo.psd", "/.profile.d/", "/Procfile"]) {
      const response = await fetch(`${bystander.url}${path}`);
      await response.text();
      assert.equal(response.status, 404, path);
    }
  });

  it("builds a Go stdlib module with the stack's toolchain", async () => {
    const { result, log } = await build(join(FIXTURES, "apps/go-stdlib"), "go");
    assert.match(log, /-----> Go app detected/);
    assert.match(log, /Built bin\/hello-go/);
    assert.deepEqual(result.processTypes, { web: "bin/hello-go" });
    const app = await serve(result, "go-web");
    assert.match(await fetchText(`${app.url}/`), /^Hello from Go go1\./);
    await engine.removeContainer(app.id);
  });

  it("runs a Procfile-only app with the run image's tools", async () => {
    const { result, log } = await build(join(FIXTURES, "apps/procfile-only"), "procfile");
    assert.match(log, /-----> Procfile app detected/);
    assert.deepEqual(result.processTypes, { web: "bash server.sh" });
    const app = await serve(result, "procfile-web");
    assert.equal(await fetchText(`${app.url}/index.txt`), "Hello from a Procfile\n");
    await engine.removeContainer(app.id);
  });

  it("builds an app's Dockerfile when no buildpack matches, and runs it like the others", async () => {
    const { result, log } = await build(join(FIXTURES, "apps/dockerfile"), "docker");
    assert.match(log, /No buildpack matched; building the app's Dockerfile/);
    assert.deepEqual(result.buildpacks, ["dockerfile"]);
    assert.equal(
      result.processTypes.web,
      "cd '/srv' && 'python3' '-m' 'http.server' '5000' '--directory' 'site'",
    );
    const image = await engine.inspectImage(result.imageRef);
    assert.equal(image?.labels["io.slipway.buildpacks"], "dockerfile");
    const app = await serve(result, "docker-web");
    assert.equal(await fetchText(`${app.url}/index.txt`), "Hello from a Dockerfile\n");
    // The RUN step ran, as the image's user, without a network (only lo: Podman ignores
    // networkmode=none, see src/engine/docker/docker-images.ts), logged in the build log.
    assert.match(log, /STEP \d+\/\d+: RUN python3/);
    assert.equal(
      await fetchText(`${app.url}/run.txt`),
      "RUN works as uid 1000 with ['lo'] and CapBnd 0000000000000000\n",
    );
    await engine.removeContainer(app.id);
  });

  it("fails a Dockerfile whose RUN step fails, with what the step printed", async () => {
    const dir = join(home, "docker-run-fails");
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, "Dockerfile"),
      'FROM slipway/stack-run:24.1\nRUN ls /no-such-dir\nCMD ["sleep", "1"]\n',
    );
    await assert.rejects(build(dir, "docker-run-fails"), (error: unknown) => {
      assert.ok(error instanceof BuildFailedError, String(error));
      assert.match(error.message, /the Dockerfile did not build: .*exit status 2/);
      assert.match(error.message, /cannot access '\/no-such-dir': No such file or directory/);
      return true;
    });
  });

  it("refuses a Dockerfile whose RUN steps would run as root, before anything runs", async () => {
    const dir = join(home, "docker-root");
    await mkdir(dir, { recursive: true });
    // The build stack's user is root; the engine's builder has no user namespace.
    await writeFile(
      join(dir, "Dockerfile"),
      'FROM slipway/stack-build:24.1\nRUN id\nFROM slipway/stack-run:24.1\nUSER 0\nRUN id\nCMD ["sleep", "1"]\n',
    );
    await assert.rejects(build(dir, "docker-root"), (error: unknown) => {
      assert.ok(error instanceof BuildFailedError, String(error));
      assert.match(error.message, /runs RUN steps as root \(line 2, 5\)/);
      return true;
    });
  });

  it("builds a pnpm app: build script, devDependencies pruned", async () => {
    const dir = join(home, "pnpm");
    await mkdir(dir, { recursive: true });
    const pkg = {
      name: "pnpm-app",
      private: true,
      packageManager: "pnpm@9.15.0",
      engines: { node: "24.x" },
      scripts: {
        build: "node -e \"require('is-number'); require('fs').writeFileSync('built.txt', 'ok')\"",
        start: "node -e 0",
      },
      devDependencies: { "is-number": "7.0.0" },
    };
    await writeFile(join(dir, "package.json"), JSON.stringify(pkg));
    await writeFile(
      join(dir, "Procfile"),
      'check: echo "$(cat built.txt)"; test -e node_modules/is-number && echo kept || echo pruned; pnpm --version\n',
    );
    const { result, log } = await build(dir, "pnpm");
    assert.match(log, /Installing pnpm 9\.15\.0/);
    assert.match(log, /Installing dependencies with pnpm/);
    assert.deepEqual(await runProcess(result, "check"), ["ok", "pruned", "9.15.0"]);
  });

  it("builds a yarn (1.x) app from its yarn.lock, devDependencies pruned", async () => {
    const dir = join(home, "yarn");
    await mkdir(dir, { recursive: true });
    const pkg = {
      name: "yarn-app",
      version: "1.0.0",
      private: true,
      engines: { node: "24.x" },
      scripts: {
        build: "node -e \"require('is-number'); require('fs').writeFileSync('built.txt', 'ok')\"",
      },
      devDependencies: { "is-number": "7.0.0" },
    };
    await writeFile(join(dir, "package.json"), JSON.stringify(pkg));
    await writeFile(
      join(dir, "yarn.lock"),
      [
        "# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.",
        "# yarn lockfile v1",
        "",
        "",
        "is-number@7.0.0:",
        '  version "7.0.0"',
        '  resolved "https://registry.npmjs.org/is-number/-/is-number-7.0.0.tgz#7535345b896734d5f80c4d06c50955527a14f12b"',
        "  integrity sha512-41Cifkg6e8TylSpdtTpeLVMqvSBEVzTttHvERD741+pnZ8ANv0004MRL43QKPDlK9cGvNp6NZWZUBlbGXYxxng==",
        "",
      ].join("\n"),
    );
    await writeFile(
      join(dir, "Procfile"),
      'check: echo "$(cat built.txt)"; test -e node_modules/is-number && echo kept || echo pruned; yarn --version\n',
    );
    const { result, log } = await build(dir, "yarn");
    assert.match(log, /Installing yarn 1\./);
    assert.match(log, /Installing dependencies with yarn/);
    const [built, pruned, version] = await runProcess(result, "check");
    assert.deepEqual([built, pruned], ["ok", "pruned"]);
    assert.match(version ?? "", /^1\.\d+\.\d+$/);
  });

  it("runs several buildpacks in .buildpacks order: a directory, a git repository, a built-in", async () => {
    const dir = join(home, "multi");
    await mkdir(join(dir, "exporter/bin"), { recursive: true });
    await writeFile(join(dir, "exporter/bin/detect"), "#!/bin/sh\necho Exporter\n");
    await writeFile(
      join(dir, "exporter/bin/compile"),
      '#!/bin/sh\necho "export EARLIER_EXPORT=from-exporter" > "$(dirname "$0")/../export"\n',
    );
    await chmod(join(dir, "exporter/bin/detect"), 0o755);
    await chmod(join(dir, "exporter/bin/compile"), 0o755);
    // The fixture buildpack as a git repository inside the app: cloned like a git URL.
    const work = join(home, "fixture-work");
    await cp(join(FIXTURES, "buildpacks/fixture"), work, { recursive: true });
    const git = (cwd: string, ...args: string[]) =>
      execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], {
        cwd,
        stdio: "ignore",
      });
    git(work, "init", "-q", "-b", "main");
    git(work, "add", ".");
    git(work, "commit", "-q", "-m", "fixture");
    git(home, "clone", "-q", "--bare", work, join(dir, "fixture.git"));
    await writeFile(join(dir, ".buildpacks"), "exporter\nfixture.git\n# comment\nprocfile\n");
    await writeFile(join(dir, "fixture.txt"), "yes\n");
    await writeFile(
      join(dir, "Procfile"),
      "check: cat fixture-output.txt; echo $FIXTURE_PROFILE\n",
    );

    const env = { GREETING: "hello from ENV_DIR" };
    const { result, log } = await build(dir, "multi", { env });
    assert.match(
      log,
      /Exporter app detected[\s\S]*Fixture app detected[\s\S]*Procfile app detected/,
    );
    assert.deepEqual(result.buildpacks, ["exporter", "fixture.git", "procfile"]);
    assert.deepEqual(Object.keys(result.processTypes).sort(), ["check", "fixture", "web"]);
    assert.deepEqual(await runProcess(result, "check"), [
      "greeting=hello from ENV_DIR",
      "exported-by-earlier=from-exporter",
      "cached-runs=1",
      "loaded",
    ]);
  });

  it("fails a build that runs out of memory, leaving running apps alone", async () => {
    const dir = await hogApp("oom", 'python3 -c "x = bytearray(512 * 2**20); print(len(x))"');
    await assert.rejects(
      build(dir, "oom", { limits: { ...LIMITS, memoryBytes: 128 * 2 ** 20 } }),
      (error: unknown) => {
        assert.ok(error instanceof BuildFailedError, String(error));
        assert.match(error.message, /build ran out of memory \(limit 128 MB\)/);
        return true;
      },
    );
    await assertCleanAfter("oom");
  });

  it("fails a build that runs out of time", async () => {
    const dir = await hogApp("slow", "sleep 3600");
    const started = Date.now();
    await assert.rejects(build(dir, "slow", { timeoutSeconds: 3 }), /build timed out after 3 s/);
    assert.ok(Date.now() - started < 30_000);
    await assertCleanAfter("slow");
  });

  it("fails a build that writes more than its disk allowance", async () => {
    const dir = await hogApp(
      "disk",
      'for i in $(seq 1 200); do head -c 5M /dev/zero > "$1/fill-$i"; sleep 0.05; done',
    );
    await assert.rejects(
      build(dir, "disk", { diskLimitBytes: 64 * 2 ** 20, diskCheckMs: 300 }),
      /build used more than 64 MB of disk/,
    );
    await assertCleanAfter("disk");
  });

  /** An app whose only buildpack (a directory in the app) runs `script` to compile. */
  async function hogApp(name: string, script: string): Promise<string> {
    const dir = join(home, name);
    await mkdir(join(dir, "hog/bin"), { recursive: true });
    await writeFile(join(dir, "hog/bin/detect"), "#!/bin/sh\necho Hog\n");
    await writeFile(join(dir, "hog/bin/compile"), `#!/bin/bash\nset -e\n${script}\n`);
    await chmod(join(dir, "hog/bin/detect"), 0o755);
    await chmod(join(dir, "hog/bin/compile"), 0o755);
    await writeFile(join(dir, ".buildpacks"), "hog\n");
    await writeFile(join(dir, "Procfile"), "web: sleep 1\n");
    return dir;
  }

  /** The failed build left nothing behind and the bystander app still serves. */
  async function assertCleanAfter(buildId: string): Promise<void> {
    assert.equal((await engine.listContainers({ "io.slipway.build": buildId })).length, 0);
    assert.equal((await engine.listVolumes({ "io.slipway.build": buildId })).length, 0);
    if (bystander !== undefined) {
      const response = await fetch(`${bystander.url}/`, { signal: AbortSignal.timeout(5000) });
      assert.equal(response.status, 200);
      await response.text();
    }
  }
});

async function fetchText(url: string): Promise<string> {
  return (await fetchWithRetry(url)).text();
}

async function fetchWithRetry(url: string): Promise<Response> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      return await fetch(url, { signal: AbortSignal.timeout(2000) });
    } catch (error) {
      lastError = error;
      await sleep(200);
    }
  }
  throw new Error(`no answer from ${url}`, { cause: lastError });
}
