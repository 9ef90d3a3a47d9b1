import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { packTar, tarDirectory, tarFile } from "../engine/tar-files.ts";
import { sandboxPerFile, sandboxUnavailable } from "../engine/testing/podman-sandbox.ts";
import { appImageContext } from "./app-image-layers.ts";
import { asNodeReadable, forEachTarEntry } from "./tar-stream-node.ts";

const config = {
  env: ["HOME=/app"],
  cmd: ["/app/.slipway/launch", "web"],
  workingDir: "/app",
  user: "1000:1000",
};

function slug(code: string): ReturnType<typeof packTar> {
  return packTar([
    tarDirectory("slug"),
    tarDirectory("slug/.heroku"),
    tarFile("slug/.heroku/node", "#!runtime", 0o4755),
    tarDirectory("slug/node_modules"),
    tarFile("slug/node_modules/ms.js", "module.exports = 1;"),
    tarFile("slug/server.js", code),
    tarFile("slug/.slipway/launch", "app's own: dropped"),
  ]);
}

const extra = [{ path: ".slipway/launch", content: "#!/bin/sh\n", mode: 0o755 }];

describe("appImageContext", () => {
  it("puts runtime, dependencies and app files in their own COPY layers, normalized", async () => {
    const entries = new Map<string, { uid: number; mode: number; mtime: number; body: string }>();
    const context = appImageContext({
      baseImageId: `sha256:${"a".repeat(64)}`,
      slug: slug("console.log(1)"),
      extra,
      config,
    });
    await forEachTarEntry(context, async (entry) => {
      let body = "";
      for await (const chunk of asNodeReadable(entry)) body += String(chunk);
      entries.set(entry.header.name, {
        uid: entry.header.uid,
        mode: entry.header.mode,
        mtime: entry.header.mtime.getTime(),
        body,
      });
    });
    const dockerfile = entries.get("Dockerfile")?.body ?? "";
    assert.match(dockerfile, new RegExp(`^FROM ${"a".repeat(64)}\n`));
    assert.match(
      dockerfile,
      /COPY --chown=1000:1000 runtime\/ \/\nCOPY --chown=1000:1000 deps\/ \/\nCOPY --chown=1000:1000 app\/ \/\n/,
    );
    assert.match(dockerfile, /CMD \["\/app\/.slipway\/launch","web"\]/);
    assert.equal(entries.get("runtime/app/.heroku/node")?.mode, 0o755, "setuid dropped");
    assert.equal(entries.get("runtime/app/.heroku/node")?.uid, 1000);
    assert.equal(entries.get("deps/app/node_modules/ms.js")?.mtime, 0);
    assert.equal(entries.get("app/app/server.js")?.body, "console.log(1)");
    assert.equal(
      entries.get("app/app/.slipway/launch")?.body,
      "#!/bin/sh\n",
      "Slipway's launcher wins",
    );
  });
});

const unavailable = sandboxUnavailable();
const sandbox = sandboxPerFile();

describe("app images built in layers on Podman", { skip: unavailable }, () => {
  it("reuses the runtime and dependency layers when only the code changed, and runs", async () => {
    const box = await sandbox();
    const baseId = (await box.engine.inspectImage(box.image))?.id ?? "";
    const build = (code: string, tag: string) =>
      box.engine.buildImage(
        appImageContext({ baseImageId: baseId, slug: slug(code), extra, config }),
        { reference: `slipway/app-t:${tag}`, labels: { "io.slipway.app": "t" } },
      );
    const one = await build("one", "b1");
    const two = await build("two", "b2");
    assert.notEqual(one.id, two.id);
    assert.equal(two.labels["io.slipway.app"], "t");
    assert.equal(two.labels["io.slipway.instance"], box.instance);
    const layers = async (id: string): Promise<string[]> =>
      (
        JSON.parse(await box.podman(["image", "inspect", id])) as { RootFS: { Layers: string[] } }[]
      )[0]?.RootFS.Layers ?? [];
    const [l1, l2] = [await layers(one.id), await layers(two.id)];
    assert.equal(l1.length, l2.length);
    assert.deepEqual(l1.slice(0, -1), l2.slice(0, -1), "all but the app layer are shared");
    assert.notEqual(l1.at(-1), l2.at(-1));

    await box.engine.ensureNetwork(`sw-${box.instance}-layers`, {});
    const id = await box.engine.createContainer({
      name: `layers-${box.instance}`,
      image: two.id,
      cmd: ["sh", "-c", "id -u; cat /app/server.js; echo; ls -ln /app/server.js"],
      env: {},
      labels: {},
      network: `sw-${box.instance}-layers`,
      limits: { memoryBytes: 64 * 1024 * 1024, cpus: 0.5, pids: 64, tmpBytes: 8 * 1024 * 1024 },
    });
    await box.engine.startContainer(id);
    assert.equal(await box.engine.waitContainer(id, AbortSignal.timeout(30_000)), 0);
    const out: string[] = [];
    for await (const line of box.engine.logs(id, { follow: false })) out.push(line.line);
    await box.engine.removeContainer(id);
    assert.equal(out[0], "1000");
    assert.equal(out[1], "two");
    assert.match(out[2] ?? "", /1000 +1000/);
  });
});
