import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import tar from "tar-stream";
import {
  packTar,
  tarDirectory,
  tarFile,
  tarSymlink,
  unpackTar,
  type TarFile,
} from "../engine/tar-files.ts";
import { sourceLayer, splitSlug, type SourceLayer } from "./source-layer.ts";
import { asNodeReadable, forEachTarEntry } from "./tar-stream-node.ts";

const ROOT = "out/slug";

/** A normalized source tar (SourceArchive.tar()): entries below out/slug. */
function source(files: readonly TarFile[]): Readable {
  return packTar([tarDirectory(ROOT), ...files.map((f) => ({ ...f, path: `${ROOT}/${f.path}` }))]);
}

/** The slug as the build container hands it over: root "slug". */
function slug(files: readonly TarFile[]): Readable {
  return packTar([tarDirectory("slug"), ...files.map((f) => ({ ...f, path: `slug/${f.path}` }))]);
}

const APP = [
  tarFile("package.json", "{}"),
  tarDirectory("lib"),
  tarFile("lib/server.js", "serve()"),
  tarFile("bin/run", "#!/bin/sh\n", 0o755), // its directory only implied
  tarSymlink("current", "lib"),
];

/** What the build container's tar of the slug has for the source: its directories too. */
const BUILT = [
  tarFile("package.json", "{}"),
  tarDirectory("lib"),
  tarFile("lib/server.js", "serve()"),
  tarDirectory("bin"),
  tarFile("bin/run", "#!/bin/sh\n", 0o755),
  tarSymlink("current", "lib"),
];

const ADDED = [tarDirectory(".profile.d"), tarFile(".profile.d/nodejs.sh", "export X=1\n")];
const extra = [{ path: ".slipway/launch", content: "#!/bin/sh\n", mode: 0o755 }];

async function layerOf(files: readonly TarFile[]): Promise<SourceLayer> {
  const layer = await sourceLayer(source(files), ROOT);
  assert.ok(layer !== undefined, "the source is a layer");
  return layer;
}

/** Each entry of a tar: name, type, mode, owner, time, content or target. */
async function entries(bytes: Buffer): Promise<string[]> {
  const out: string[] = [];
  await forEachTarEntry(Readable.from([bytes]), async (entry) => {
    const h = entry.header;
    const chunks: Buffer[] = [];
    for await (const chunk of asNodeReadable(entry)) chunks.push(chunk as Buffer);
    const body = h.type === "symlink" ? `-> ${h.linkname}` : Buffer.concat(chunks).toString();
    const owner = `${String(h.uid)}:${String(h.gid)}`;
    out.push(
      `${h.name} ${h.type} ${h.mode.toString(8)} ${owner} ${String(h.mtime.getTime())} ${body}`,
    );
  });
  return out;
}

describe("sourceLayer", () => {
  it("makes the source's layer below app/, owned by the app user at time 0, its implied directories made", async () => {
    const layer = await layerOf([...APP, tarFile(".slipway/launch", "the app's own: left out")]);
    assert.deepEqual(await entries(layer.tar), [
      "app directory 755 1000:1000 0 ",
      "app/package.json file 644 1000:1000 0 {}",
      "app/lib directory 755 1000:1000 0 ",
      "app/lib/server.js file 644 1000:1000 0 serve()",
      "app/bin directory 755 1000:1000 0 ",
      "app/bin/run file 755 1000:1000 0 #!/bin/sh\n",
      "app/current symlink 777 1000:1000 0 -> lib",
    ]);
    assert.deepEqual([...layer.expected.keys()].sort(), [
      "bin",
      "bin/run",
      "current",
      "lib",
      "lib/server.js",
      "package.json",
    ]);
    // The same source, the same bytes: the layer's digest names it across builds.
    assert.deepEqual((await layerOf(APP)).tar, layer.tar);
  });

  it("is no layer for a source with a hard link, a .slugignore, or more bytes than allowed", async () => {
    const pack = tar.pack();
    pack.entry({ name: ROOT, type: "directory", mode: 0o755 });
    pack.entry({ name: `${ROOT}/a`, mode: 0o644 }, "x");
    pack.entry({ name: `${ROOT}/b`, type: "link", linkname: `${ROOT}/a`, mode: 0o644 });
    pack.finalize();
    assert.equal(await sourceLayer(asNodeReadable(pack), ROOT), undefined);
    assert.equal(
      await sourceLayer(source([...APP, tarFile(".slugignore", "test/\n")]), ROOT),
      undefined,
    );
    assert.equal(await sourceLayer(source(APP), ROOT, 10), undefined);
    assert.ok((await sourceLayer(source(APP), ROOT, 100)) !== undefined);
  });
});

describe("splitSlug", () => {
  it("keeps what the build added, when the source is in the slug unchanged", async () => {
    const layer = await layerOf(APP);
    const split = await splitSlug(slug([...BUILT, ...ADDED]), layer, extra);
    assert.ok(split !== undefined);
    const added = await unpackTar(Readable.from([split.added]));
    assert.deepEqual(
      added.map((f) => `${f.path} ${f.type} ${f.mode.toString(8)} ${f.data.toString()}`),
      [
        "slug directory 755 ",
        "slug/.profile.d directory 755 ",
        "slug/.profile.d/nodejs.sh file 644 export X=1\n",
      ],
    );
    // Another push of other code, the same added files: the same key.
    const other = await layerOf([
      ...APP.slice(0, 2),
      tarFile("lib/server.js", "v2"),
      ...APP.slice(3),
    ]);
    const again = await splitSlug(
      slug([...BUILT.slice(0, 2), tarFile("lib/server.js", "v2"), ...BUILT.slice(3), ...ADDED]),
      other,
      extra,
    );
    assert.equal(again?.digest, split.digest);
    // Other launcher, another key.
    const relaunched = await splitSlug(slug([...BUILT, ...ADDED]), layer, [
      { ...extra[0]!, content: "#!/bin/sh -e\n" },
    ]);
    assert.notEqual(relaunched?.digest, split.digest);
  });

  it("does not split a slug in which the build changed, removed or linked the source's files", async () => {
    const layer = await layerOf(APP);
    const without = (path: string): TarFile[] => BUILT.filter((f) => f.path !== path);
    const cases: Record<string, TarFile[]> = {
      "a changed file": [...without("lib/server.js"), tarFile("lib/server.js", "minified")],
      "a changed mode": [...without("bin/run"), tarFile("bin/run", "#!/bin/sh\n", 0o644)],
      "a removed file": without("package.json"),
      "a retargeted link": [...without("current"), tarSymlink("current", "bin")],
      "a directory made private": [...without("lib"), tarDirectory("lib", 0o700)],
      "a file turned directory": [...without("package.json"), tarDirectory("package.json")],
    };
    for (const [what, files] of Object.entries(cases)) {
      assert.equal(await splitSlug(slug([...files, ...ADDED]), layer, extra), undefined, what);
    }
    const pack = tar.pack();
    pack.entry({ name: "slug", type: "directory", mode: 0o755 });
    for (const file of BUILT) {
      const common = { name: `slug/${file.path}`, mode: file.mode };
      if (file.type === "symlink")
        pack.entry({ ...common, type: "symlink", linkname: file.linkname ?? "" });
      else if (file.type === "directory") pack.entry({ ...common, type: "directory" });
      else pack.entry(common, file.data);
    }
    pack.entry({ name: "slug/copy", type: "link", linkname: "slug/package.json", mode: 0o644 });
    pack.finalize();
    assert.equal(await splitSlug(asNodeReadable(pack), layer, extra), undefined, "a hard link");
    assert.equal(
      await splitSlug(slug([...BUILT, ...ADDED]), layer, extra, 4),
      undefined,
      "more added bytes than allowed",
    );
  });
});
