import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmod, cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";

/**
 * The buildpack runner (buildpacks/_runner/build.sh) on the host, in a scratch workspace:
 * buildpack selection, .slugignore, ENV_DIR, `export` and release files, with buildpacks
 * that need no network. The same runner runs in real build containers in
 * buildpacks.test.ts.
 */
const BUILDPACKS = join(import.meta.dirname, "../../buildpacks");
const FIXTURE = join(import.meta.dirname, "../../test/fixtures/buildpacks/fixture");
const run = promisify(execFile);

let root = "";
before(async () => {
  root = await mkdtemp(join(tmpdir(), "slipway-runner-"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

interface RunnerResult {
  readonly code: number;
  readonly output: string;
  readonly workspace: string;
  meta(name: string): Promise<string>;
}

/** Lays out a workspace like runBuild does and runs the runner in it. */
async function runner(
  name: string,
  files: Record<string, string>,
  env: Record<string, string> = {},
  processEnv: Record<string, string> = {},
  knownLayers?: string,
  sourceDir = "out/slug",
): Promise<RunnerResult> {
  const workspace = join(root, name);
  const source = join(workspace, sourceDir);
  await mkdir(source, { recursive: true });
  await mkdir(join(workspace, "env"), { recursive: true });
  if (knownLayers !== undefined) await writeFile(join(workspace, "known-layers"), knownLayers);
  await cp(BUILDPACKS, join(workspace, "buildpacks"), { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(source, path, ".."), { recursive: true });
    await writeFile(join(source, path), content);
    if (path.includes("/bin/")) await chmod(join(source, path), 0o755);
  }
  for (const [key, value] of Object.entries(env)) {
    await writeFile(join(workspace, "env", key), value);
  }
  const options = {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      SLIPWAY_WORKSPACE: workspace,
      SLIPWAY_CACHE: join(workspace, "cache"),
      ...processEnv,
    },
  };
  let code = 0;
  let output: string;
  try {
    const done = await run("bash", [join(workspace, "buildpacks/_runner/build.sh")], options);
    output = done.stdout + done.stderr;
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    code = failed.code;
    output = failed.stdout + failed.stderr;
  }
  return {
    code,
    output,
    workspace,
    meta: (file) => readFile(join(workspace, "out", "meta", file), "utf8"),
  };
}

describe("build runner", () => {
  it("detects in the built-in order and records the buildpack and its release", async () => {
    const result = await runner("detect", {
      "index.html": "<h1>hi</h1>",
      Procfile: "worker: sleep 1\n",
    });
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /-----> Static site app detected/);
    assert.equal(await result.meta("buildpacks"), "static\tStatic site\n");
    assert.match(await result.meta("release-0.yml"), /web: python3 \/app\/\.heroku\/static/);
    assert.equal(await result.meta("Procfile"), "worker: sleep 1\n");
  });

  it("builds a source put under src/ where builds happen (out/slug), and fails without one", async () => {
    const moved = await runner("src-layout", { Procfile: "web: x\n" }, {}, {}, undefined, "src");
    assert.equal(moved.code, 0, moved.output);
    assert.equal(await readFile(join(moved.workspace, "out/slug/Procfile"), "utf8"), "web: x\n");
    const none = await runner("no-source", {}, {}, {}, undefined, "elsewhere");
    assert.notEqual(none.code, 0);
    assert.match(none.output, /No source in the workspace/);
  });

  it("removes what .slugignore names before any buildpack runs", async () => {
    const result = await runner("slugignore", {
      Procfile: "web: x\n",
      ".slugignore": "# comment\n*.psd\n/docs/drafts\ntmp/\n",
      "art/logo.psd": "x",
      "docs/drafts/a.md": "x",
      "docs/keep.md": "x",
      "tmp/cache": "x",
      "a/tmp/b": "x",
    });
    assert.equal(result.code, 0, result.output);
    const slug = join(result.workspace, "out", "slug");
    const exists = (path: string) =>
      readFile(join(slug, path)).then(
        () => true,
        () => false,
      );
    assert.equal(await exists("art/logo.psd"), false);
    assert.equal(await exists("docs/drafts/a.md"), false);
    assert.equal(await exists("docs/keep.md"), true);
    assert.equal(await exists("tmp/cache"), false);
    assert.equal(await exists("a/tmp/b"), false);
  });

  it("runs .buildpacks in order, with ENV_DIR and export between them", async () => {
    const fixture = await readFixture();
    const result = await runner(
      "multi",
      {
        ".buildpacks": "first\n# a comment\nvendor/fixture\nprocfile\n",
        "first/bin/detect": "#!/bin/sh\necho First\n",
        "first/bin/compile":
          '#!/bin/sh\necho "export EARLIER_EXPORT=from-first" > "$(dirname "$0")/../export"\n',
        "fixture.txt": "",
        Procfile: "check: true\n",
        ...Object.fromEntries(
          Object.entries(fixture).map(([path, content]) => [`vendor/fixture/${path}`, content]),
        ),
      },
      { GREETING: "hello" },
    );
    assert.equal(result.code, 0, result.output);
    assert.equal(
      await result.meta("buildpacks"),
      "first\tFirst\nvendor/fixture\tFixture\nprocfile\tProcfile\n",
    );
    const output = await readFile(join(result.workspace, "out/slug/fixture-output.txt"), "utf8");
    assert.equal(output, "greeting=hello\nexported-by-earlier=from-first\ncached-runs=1\n");
  });

  it("lets BUILDPACKS win over BUILDPACK_URL and .buildpacks", async () => {
    const result = await runner(
      "precedence",
      { ".buildpacks": "nodejs\n", Procfile: "web: x\n", "index.html": "" },
      { BUILDPACKS: "heroku/procfile, static", BUILDPACK_URL: "python" },
    );
    assert.equal(result.code, 0, result.output);
    assert.equal(await result.meta("buildpacks"), "procfile\tProcfile\nstatic\tStatic site\n");
  });

  it("refuses an unknown buildpack and one whose detect says no", async () => {
    const unknown = await runner("unknown", { ".buildpacks": "no-such-thing\n" });
    assert.equal(unknown.code, 1);
    assert.match(unknown.output, / ! {5}Unknown buildpack: no-such-thing/);
    const escape = await runner("escape", { ".buildpacks": "../../etc\n" });
    assert.match(escape.output, / ! {5}Buildpack path must be relative to the app/);
    const incompatible = await runner("incompatible", { ".buildpacks": "go\n", Procfile: "" });
    assert.match(incompatible.output, / ! {5}App not compatible with buildpack go/);
  });

  it("says when nothing matches, or hands a Dockerfile over", async () => {
    const nothing = await runner("nothing", { "README.md": "hi" });
    assert.equal(nothing.code, 1);
    assert.match(nothing.output, / ! {5}No buildpack detected this app/);
    const docker = await runner("docker", { Dockerfile: "FROM slipway/stack-run:24.1\n" });
    assert.equal(docker.code, 0, docker.output);
    assert.equal(await docker.meta("dockerfile"), "FROM slipway/stack-run:24.1\n");
  });
});

describe("declared layers", () => {
  const KEY = "a".repeat(64);
  /** A buildpack whose compile runs this shell (BUILD_DIR is $1). */
  const pack = (dir: string, compile: string): Record<string, string> => ({
    [`${dir}/bin/detect`]: `#!/bin/sh\necho ${dir}\n`,
    [`${dir}/bin/compile`]: `#!/bin/bash\nset -e\ncd "$1"\n${compile}\n`,
  });
  const exists = (path: string) =>
    stat(path).then(
      () => true,
      () => false,
    );

  it("moves the last buildpack's declared directory into a layer of its own", async () => {
    const result = await runner("declare-made", {
      ".buildpacks": "first\nlast\n",
      Procfile: "web: x\n",
      ...pack("first", 'env | grep -c "^SLIPWAY_DECLARE_LAYER=" > first-saw || true'),
      ...pack(
        "last",
        `mkdir -p .heroku/tool/bin && echo t > .heroku/tool/bin/t
env | grep -c "^SLIPWAY_DECLARE_LAYER=" > last-saw || true
echo "tool ${KEY} .heroku/tool" >> "$SLIPWAY_DECLARE_LAYER"`,
      ),
    });
    assert.equal(result.code, 0, result.output);
    assert.equal(await result.meta("layers"), `tool ${KEY}\n`, "its key; no runtime part");
    const slug = join(result.workspace, "out", "slug");
    assert.equal(
      await readFile(join(slug, "first-saw"), "utf8"),
      "0\n",
      "only the last may declare",
    );
    assert.equal(await readFile(join(slug, "last-saw"), "utf8"), "1\n");
    const layer = join(result.workspace, "layers/tool/.heroku/tool/bin/t");
    assert.equal(await readFile(layer, "utf8"), "t\n");
    assert.equal(await exists(join(slug, ".heroku")), false, "the emptied parent goes too");
  });

  it("reuses a known layer the buildpack did not make, and refuses an unknown one", async () => {
    const declare = pack("last", `echo "tool ${KEY} .heroku/tool" >> "$SLIPWAY_DECLARE_LAYER"`);
    const files = { ".buildpacks": "last\n", Procfile: "web: x\n", ...declare };
    const known = await runner(
      "declare-known",
      files,
      {},
      {},
      `deps ${"b".repeat(64)}\ntool ${KEY}\n`,
    );
    assert.equal(known.code, 0, known.output);
    assert.equal(await known.meta("layers"), `tool ${KEY} reused\n`);
    const unknown = await runner("declare-unknown", files, {}, {}, `tool ${"c".repeat(64)}\n`);
    assert.equal(unknown.code, 1);
    assert.match(
      unknown.output,
      / ! {5}The buildpack declared the layer tool but made no \.heroku\/tool, and the app has no such layer/,
    );
  });

  it("reuses a declared layer on top of another only when the app has that chain", async () => {
    const OTHER = "d".repeat(64);
    const files = {
      ".buildpacks": "last\n",
      Procfile: "web: x\n",
      ...pack(
        "last",
        `echo "tool ${KEY} .heroku/tool" >> "$SLIPWAY_DECLARE_LAYER"
echo "mods ${OTHER} node_modules" >> "$SLIPWAY_DECLARE_LAYER"`,
      ),
    };
    const chain = await runner(
      "declare-chain",
      files,
      {},
      {},
      `tool ${KEY}\ntool ${KEY} mods ${OTHER}\n`,
    );
    assert.equal(chain.code, 0, chain.output);
    assert.equal(await chain.meta("layers"), `tool ${KEY} reused\nmods ${OTHER} reused\n`);
    // "mods" known on its own, but not on top of this "tool": it has to be made.
    const apart = await runner("declare-apart", files, {}, {}, `tool ${KEY}\nmods ${OTHER}\n`);
    assert.equal(apart.code, 1);
    assert.match(apart.output, /declared the layer mods but made no node_modules/);
    // Made layers go to their own directories, in the order declared.
    const made = await runner("declare-made-two", {
      ...files,
      ...pack(
        "last",
        `mkdir -p .heroku/tool node_modules/m && echo m > node_modules/m/i.js
echo "tool ${KEY} .heroku/tool" >> "$SLIPWAY_DECLARE_LAYER"
echo "mods ${OTHER} node_modules" >> "$SLIPWAY_DECLARE_LAYER"`,
      ),
    });
    assert.equal(made.code, 0, made.output);
    assert.equal(await made.meta("layers"), `tool ${KEY}\nmods ${OTHER}\n`, "no deps part left");
    assert.equal(
      await readFile(join(made.workspace, "layers/mods/node_modules/m/i.js"), "utf8"),
      "m\n",
    );
  });

  it("refuses a bad name, key or path, a name twice, and more than three layers", async () => {
    const cases: [string, RegExp][] = [
      [`runtime ${KEY} .heroku`, /declared a layer with a bad name: runtime/],
      [`tool abc .heroku/tool`, /The declared layer tool has a bad key: abc/],
      [`tool ${KEY} ../etc`, /The declared layer tool has a bad path: \.\.\/etc/],
      [`tool ${KEY} /etc`, /The declared layer tool has a bad path: \/etc/],
      [`tool ${KEY} Procfile`, /The declared layer tool is not a directory of the slug: Procfile/],
      [`tool ${KEY} a\ntool ${KEY} b`, /A buildpack declared the layer tool twice/],
      [`t1 ${KEY} a\nt2 ${KEY} b\nt3 ${KEY} c\nt4 ${KEY} d`, /A build may declare 3 layers/],
    ];
    for (const [index, [line, error]] of cases.entries()) {
      const result = await runner(`declare-bad-${String(index)}`, {
        ".buildpacks": "last\n",
        Procfile: "web: x\n",
        ...pack("last", `mkdir -p a b c d\nprintf '%s\\n' "${line}" >> "$SLIPWAY_DECLARE_LAYER"`),
      });
      assert.equal(result.code, 1, line);
      assert.match(result.output, error, line);
    }
  });
});

async function readFixture(): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of ["bin/detect", "bin/compile", "bin/release"]) {
    files[name] = await readFile(join(FIXTURE, name), "utf8");
  }
  return files;
}
