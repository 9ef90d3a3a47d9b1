import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { unpackTar } from "../engine/tar-files.ts";
import { splitBuildOutput } from "./build-output.ts";
import { packStream, type PackHeader } from "./tar-stream-node.ts";

/** An archive of /workspace/out as the engine gives it: entries in the order given. */
function outArchive(entries: readonly (PackHeader & { readonly body?: string })[]) {
  return packStream((pack) => {
    for (const { body, ...header } of entries) {
      if (body === undefined) pack.entry(header);
      else pack.entry(header, body);
    }
    return Promise.resolve();
  });
}

describe("splitBuildOutput", () => {
  it("gives the metadata first, then the slug as an archive of its own", async () => {
    const { meta, slug } = splitBuildOutput(
      outArchive([
        { name: "out", type: "directory" },
        { name: "out/meta", type: "directory" },
        { name: "out/meta/Procfile", body: "web: node server.js\n" },
        { name: "out/meta/layers", body: "deps abc\n" },
        { name: "out/slug", type: "directory" },
        { name: "out/slug/server.js", body: "console.log(1)\n", mode: 0o644 },
        { name: "out/slug/bin", type: "directory" },
        { name: "out/slug/bin/run", type: "symlink", linkname: "../server.js" },
        { name: "out/slug/copy.js", type: "link", linkname: "out/slug/server.js" },
      ]),
      1024,
    );
    const files = await meta;
    assert.deepEqual(
      [...files].map(([name, data]) => [name, data.toString("utf8")]),
      [
        ["meta/Procfile", "web: node server.js\n"],
        ["meta/layers", "deps abc\n"],
      ],
    );
    const entries = await unpackTar(slug);
    assert.deepEqual(
      entries.map((e) => [e.path, e.type, e.linkname ?? e.data.toString("utf8")]),
      [
        ["slug", "directory", ""],
        ["slug/server.js", "file", "console.log(1)\n"],
        ["slug/bin", "directory", ""],
        ["slug/bin/run", "symlink", "../server.js"],
      ],
    );
  });

  it("names a hard link's target by its path in the slug archive", async () => {
    const { meta, slug } = splitBuildOutput(
      outArchive([
        { name: "out/meta/buildpacks", body: "nodejs\tNode.js\n" },
        { name: "out/slug/a", body: "x" },
        { name: "out/slug/b", type: "link", linkname: "out/slug/a" },
      ]),
      1024,
    );
    await meta;
    const headers: PackHeader[] = [];
    const { default: tar } = await import("tar-stream");
    const extract = tar.extract();
    slug.pipe(extract);
    for await (const entry of extract) {
      headers.push(entry.header);
      entry.resume();
    }
    assert.deepEqual(
      headers.map((h) => [h.name, h.type, h.linkname ?? null]),
      [
        ["slug/a", "file", null],
        ["slug/b", "link", "slug/a"],
      ],
    );
  });

  it("resolves the metadata of an output without a slug (a failed build)", async () => {
    const { meta, slug } = splitBuildOutput(
      outArchive([{ name: "out/meta/dockerfile", body: "FROM x\n" }]),
      1024,
    );
    assert.deepEqual([...(await meta).keys()], ["meta/dockerfile"]);
    assert.deepEqual(await unpackTar(slug), []);
  });

  it("refuses metadata over its limit, and metadata after the slug", async () => {
    const big = splitBuildOutput(outArchive([{ name: "out/meta/x", body: "1234567" }]), 4);
    await assert.rejects(big.meta, /metadata holds more than 4 bytes/);
    const late = splitBuildOutput(
      outArchive([
        { name: "out/slug/a", body: "x" },
        { name: "out/meta/Procfile", body: "web: x\n" },
      ]),
      1024,
    );
    assert.deepEqual([...(await late.meta).keys()], [], "the slug came first: nothing read");
    await assert.rejects(unpackTar(late.slug), /lists meta\/Procfile after the slug/);
  });
});
