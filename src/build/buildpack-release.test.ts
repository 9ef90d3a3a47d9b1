import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BuildFailedError, ValidationError } from "../domain/errors.ts";
import { buildMetaFrom } from "./build-meta.ts";
import { parseReleaseYaml } from "./buildpack-release.ts";

describe("parseReleaseYaml", () => {
  it("reads default_process_types and ignores other keys", () => {
    const yaml = [
      "---",
      "addons: []",
      "default_process_types:",
      "  web: npm start",
      '  worker: "node worker.js --name \\"w\\""',
      "  clock: 'node clock.js'",
      "config_vars:",
      "  NODE_ENV: production",
    ].join("\n");
    assert.deepEqual(parseReleaseYaml(yaml), {
      web: "npm start",
      worker: 'node worker.js --name "w"',
      clock: "node clock.js",
    });
  });

  it("is empty without default_process_types", () => {
    assert.deepEqual(parseReleaseYaml("---\naddons: []\n"), {});
    assert.deepEqual(parseReleaseYaml(""), {});
  });

  it("rejects a malformed entry and an invalid type name", () => {
    assert.throws(
      () => parseReleaseYaml("default_process_types:\n  just words\n"),
      BuildFailedError,
    );
    assert.throws(() => parseReleaseYaml("default_process_types:\n  we.b: x\n"), ValidationError);
  });
});

describe("buildMetaFrom", () => {
  const meta = (files: Record<string, string>) =>
    Promise.resolve().then(() =>
      buildMetaFrom(
        new Map(
          Object.entries(files).map(([name, content]) => [`meta/${name}`, Buffer.from(content)]),
        ),
      ),
    );

  it("lets the Procfile override the buildpack's defaults", async () => {
    const result = await meta({
      buildpack: "nodejs\nNode.js\n",
      "release.yml": "---\ndefault_process_types:\n  web: npm start\n  release: npm run migrate\n",
      Procfile: "web: node server.js\nworker: node worker.js\n",
    });
    assert.ok(result.kind === "buildpacks");
    assert.equal(result.buildpack, "nodejs");
    assert.equal(result.buildpackName, "Node.js");
    assert.deepEqual(result.processTypes, {
      web: "node server.js",
      release: "npm run migrate",
      worker: "node worker.js",
    });
  });

  it("reads several buildpacks and merges their default process types in order", async () => {
    const result = await meta({
      buildpacks: "python\tPython\nbuildpacks/fixture\tFixture\n",
      "release-0.yml": "---\ndefault_process_types:\n  web: python app.py\n  worker: w\n",
      "release-1.yml": "---\ndefault_process_types:\n  web: fixture-web\n",
    });
    assert.deepEqual(result, {
      kind: "buildpacks",
      buildpack: "python",
      buildpackName: "Python",
      buildpacks: [
        { id: "python", name: "Python" },
        { id: "buildpacks/fixture", name: "Fixture" },
      ],
      processTypes: { web: "fixture-web", worker: "w" },
      parts: [],
    });
  });

  it("reads the parts the runner moved out of the slug, and refuses a malformed list", async () => {
    const runtime = "a".repeat(64);
    const deps = "b".repeat(64);
    const result = await meta({
      buildpack: "nodejs\nNode.js\n",
      Procfile: "web: node server.js\n",
      layers: `runtime ${runtime}\ndeps ${deps}\n`,
    });
    assert.ok(result.kind === "buildpacks");
    assert.deepEqual(result.parts, [
      { name: "runtime", digest: runtime, reused: false },
      { name: "deps", digest: deps, reused: false },
    ]);
    const declared = await meta({
      buildpack: "nodejs\nNode.js\n",
      Procfile: "web: node server.js\n",
      layers: `nodejs ${runtime} reused\ndeps ${deps}\n`,
    });
    assert.ok(declared.kind === "buildpacks");
    assert.deepEqual(declared.parts, [
      { name: "nodejs", digest: runtime, reused: true },
      { name: "deps", digest: deps, reused: false },
    ]);
    for (const layers of [
      `app ${runtime}\n`,
      "runtime abc\n",
      `deps ${deps}\ndeps ${deps}\n`,
      `deps ${deps} reused\n`,
      `Node ${runtime}\n`,
    ]) {
      await assert.rejects(
        meta({ buildpack: "nodejs\nNode.js\n", Procfile: "web: x\n", layers }),
        BuildFailedError,
      );
    }
  });

  it("says when the Dockerfile is to be built instead", async () => {
    assert.deepEqual(await meta({ dockerfile: "FROM x\n", Procfile: "web: y\n" }), {
      kind: "dockerfile",
      dockerfile: "FROM x\n",
      procfile: "web: y\n",
    });
  });

  it("turns a malformed Procfile into a BuildFailedError that says where", async () => {
    await assert.rejects(
      meta({ buildpack: "nodejs\nNode.js\n", Procfile: "web node server.js\n" }),
      (error: unknown) =>
        error instanceof BuildFailedError && /Procfile line 1: expected/.test(error.message),
    );
  });

  it("fails when there is nothing to run", async () => {
    await assert.rejects(meta({ buildpack: "x\nX\n" }), /no process types: add a Procfile/);
  });
});
