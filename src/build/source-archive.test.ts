import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import { after, before, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import tar from "tar-stream";
import { ValidationError } from "../domain/errors.ts";
import { openSourceArchive, type SourceArchiveLimits } from "./source-archive.ts";
import { asNodeReadable, forEachTarEntry, type PackHeader } from "./tar-stream-node.ts";

const LIMITS: SourceArchiveLimits = { maxEntries: 100, maxBytes: 1024 * 1024 };

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "slipway-source-archive-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Entry = PackHeader & { readonly body?: string | Buffer };

/** Hand-made archives: tar-stream writes whatever header we ask for, malicious or not. */
async function archive(name: string, entries: readonly Entry[], trailer?: Buffer): Promise<string> {
  const pack = tar.pack();
  for (const { body, ...header } of entries) pack.entry(header, body ?? "");
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of asNodeReadable(pack)) chunks.push(chunk as Buffer);
  if (trailer) chunks.push(trailer);
  const file = join(dir, name);
  await writeFile(file, gzipSync(Buffer.concat(chunks)));
  return file;
}

async function bytesOf(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The normalized tar's entries; held in memory or read from the file, the same bytes. */
async function listing(file: string, limits = LIMITS): Promise<Map<string, string>> {
  const source = await openSourceArchive(file, { limits });
  const fromFile = await openSourceArchive(file, { limits, memoryBytes: 0 });
  assert.deepEqual(await bytesOf(source.tar()), await bytesOf(fromFile.tar()));
  const out = new Map<string, string>();
  await forEachTarEntry(source.tar(), async (entry) => {
    const h = entry.header;
    let body = "";
    for await (const chunk of asNodeReadable(entry)) body += (chunk as Buffer).toString();
    out.set(h.name, `${h.type} ${h.mode.toString(8)} ${String(h.uid)} ${h.linkname || body}`);
  });
  return out;
}

async function rejects(file: string, message: RegExp, limits = LIMITS): Promise<void> {
  await assert.rejects(openSourceArchive(file, { limits }), (error: unknown) => {
    assert.ok(error instanceof ValidationError, `expected ValidationError, got ${String(error)}`);
    assert.match(error.message, message);
    return true;
  });
}

describe("openSourceArchive accepts", () => {
  it("a tar czf of a directory, normalized under src/ with its checksum", async () => {
    const tree = join(dir, "tree");
    await mkdir(join(tree, "lib"), { recursive: true });
    await writeFile(join(tree, "package.json"), "{}");
    await writeFile(join(tree, "run.sh"), "#!/bin/sh\n");
    await chmod(join(tree, "run.sh"), 0o4755);
    await writeFile(join(tree, "lib", "a.js"), "a");
    await symlink("lib/a.js", join(tree, "link.js"));
    const file = join(dir, "tree.tgz");
    execFileSync("tar", ["czf", file, "-C", tree, "."]);

    const source = await openSourceArchive(file, { limits: LIMITS });
    const expected = createHash("sha256")
      .update(await readFile(file))
      .digest("hex");
    assert.equal(source.checksum, `sha256:${expected}`);
    assert.equal(source.totalBytes, 2 + 10 + 1);
    const out = await listing(file);
    assert.deepEqual([...out.keys()].sort(), [
      "src",
      "src/lib",
      "src/lib/a.js",
      "src/link.js",
      "src/package.json",
      "src/run.sh",
    ]);
    assert.equal(out.get("src/run.sh"), "file 755 0 #!/bin/sh\n", "setuid dropped, owned by root");
    assert.equal(out.get("src/package.json"), "file 644 0 {}");
    assert.equal(out.get("src/link.js"), "symlink 777 0 lib/a.js");
  });

  it("a GitHub-style tarball, with its single top directory stripped", async () => {
    const file = await archive("top.tgz", [
      { name: "app-1234/", type: "directory" },
      { name: "app-1234/package.json", body: "{}" },
      { name: "app-1234/bin/x", body: "x", mode: 0o700 },
    ]);
    const out = await listing(file);
    assert.deepEqual([...out.keys()], ["src", "src/package.json", "src/bin/x"]);
    assert.equal(out.get("src/bin/x"), "file 755 0 x");
  });

  it("long names in GNU and pax formats, and hard links to earlier files", async () => {
    const deep = join(dir, "long", "d".repeat(120), "e".repeat(120));
    await mkdir(deep, { recursive: true });
    await writeFile(join(deep, "f".repeat(100)), "long");
    execFileSync("ln", [join(deep, "f".repeat(100)), join(dir, "long", "hard")]);
    for (const format of ["gnu", "pax"]) {
      const file = join(dir, `long-${format}.tgz`);
      execFileSync("tar", [`--format=${format}`, "-czf", file, "-C", join(dir, "long"), "."]);
      const out = await listing(file);
      const name = `src/${"d".repeat(120)}/${"e".repeat(120)}/${"f".repeat(100)}`;
      const linked = [...out.entries()].find(([, value]) => value.startsWith("link "));
      assert.ok(
        out.has(name) || linked?.[1].endsWith(name),
        `${format}: ${[...out.keys()].join()}`,
      );
      assert.ok(linked, `${format}: hard link kept`);
    }
  });
});

describe("openSourceArchive rejects", () => {
  const cases: [string, Entry[], RegExp][] = [
    [
      "an absolute path",
      [{ name: "/etc/cron.d/x", body: "x" }],
      /"\/etc\/cron.d\/x" has an absolute path/,
    ],
    [
      "a .. component",
      [{ name: "a/../../x", body: "x" }],
      /"a\/..\/..\/x" has a ".." path component/,
    ],
    [
      "a symlink to an absolute path",
      [{ name: "etc", type: "symlink", linkname: "/etc" }],
      /link "etc" has an absolute target/,
    ],
    [
      "a symlink that climbs out",
      [{ name: "a/b", type: "symlink", linkname: "../../outside" }],
      /symlink "a\/b" points outside/,
    ],
    [
      "a symlink that escapes through another symlink",
      [
        { name: "top", type: "symlink", linkname: "." },
        { name: "sneaky", type: "symlink", linkname: "top/.." },
      ],
      /symlink "sneaky" points outside/,
    ],
    [
      "a file written through a symlink",
      [
        { name: "sub/", type: "directory" },
        { name: "link", type: "symlink", linkname: "sub" },
        { name: "link/x", body: "x" },
      ],
      /"link\/x" is below symlink "link"/,
    ],
    [
      "a hard link to a file outside the archive",
      [{ name: "shadow", type: "link", linkname: "/etc/shadow" }],
      /link "shadow" has an absolute target/,
    ],
    [
      "a hard link to a missing entry",
      [{ name: "h", type: "link", linkname: "nope" }],
      /hard link "h" must point to an earlier file/,
    ],
    [
      "a character device",
      [{ name: "null", type: "character-device", devmajor: 1, devminor: 3 }],
      /"null" is a character-device/,
    ],
    ["a fifo", [{ name: "pipe", type: "fifo" }], /"pipe" is a fifo/],
    [
      "a duplicate entry",
      [
        { name: "a", body: "1" },
        { name: "./a", body: "2" },
      ],
      /"a" appears twice/,
    ],
  ];
  for (const [name, entries, message] of cases) {
    it(name, async () => {
      await rejects(await archive(`${name.replaceAll(" ", "-")}.tgz`, entries), message);
    });
  }

  it("too many entries", async () => {
    const entries = Array.from({ length: 11 }, (_, i) => ({ name: `f${String(i)}`, body: "x" }));
    await rejects(await archive("many.tgz", entries), /more than 10 entries/, {
      maxEntries: 10,
      maxBytes: 1000,
    });
  });

  it("too many bytes, before reading them", async () => {
    const big = Buffer.alloc(2 * 1024 * 1024);
    await rejects(
      await archive("big.tgz", [{ name: "zeros", body: big }]),
      /at "zeros", 2097152 bytes/,
    );
  });

  it("a decompression bomb hidden after the end of the tar", async () => {
    const file = await archive(
      "bomb.tgz",
      [{ name: "a", body: "a" }],
      Buffer.alloc(64 * 1024 * 1024),
    );
    await rejects(file, /expands to more than/, { maxEntries: 10, maxBytes: 1000 });
  });

  it("a file that is not gzip", async () => {
    const file = join(dir, "plain.tar");
    await writeFile(file, "this is not an archive at all".repeat(100));
    await rejects(file, /not a valid gzip file/);
  });

  it("a truncated gzip stream", async () => {
    const whole = await readFile(
      await archive("whole.tgz", [{ name: "a", body: "a".repeat(5000) }]),
    );
    const file = join(dir, "truncated.tgz");
    await writeFile(file, whole.subarray(0, whole.length - 20));
    await rejects(file, /not a valid (gzip file|tar archive)/);
  });

  it("gzip of something that is not a tar", async () => {
    const file = join(dir, "garbage.tgz");
    await writeFile(file, gzipSync(Buffer.from("x".repeat(2048))));
    await rejects(file, /not a valid tar archive/);
  });
});

describe("openSourceArchive keeps root files", () => {
  const keep = { limits: LIMITS, keepRootFiles: ["app.json"], maxKeptBytes: 16 };

  it("at the root, or below the stripped top directory; not deeper, not past the limit", async () => {
    const flat = await archive("flat.tgz", [
      { name: "app.json", body: '{"name":"a"}' },
      { name: "lib/app.json", body: "deeper" },
    ]);
    assert.equal(
      (await openSourceArchive(flat, keep)).rootFile("app.json")?.toString(),
      '{"name":"a"}',
    );
    const top = await archive("kept-top.tgz", [
      { name: "app-1/", type: "directory" },
      { name: "app-1/app.json", body: "{}" },
      { name: "app-1/lib/app.json", body: "deeper" },
    ]);
    assert.equal((await openSourceArchive(top, keep)).rootFile("app.json")?.toString(), "{}");
    const none = await archive("kept-none.tgz", [
      { name: "README", body: "r" },
      { name: "lib/app.json", body: "deeper" },
    ]);
    assert.equal((await openSourceArchive(none, keep)).rootFile("app.json"), null);
    const big = await archive("kept-big.tgz", [{ name: "app.json", body: "x".repeat(17) }]);
    assert.equal((await openSourceArchive(big, keep)).rootFile("app.json"), "too large");
    // Not asked for: not kept.
    assert.equal((await openSourceArchive(flat, { limits: LIMITS })).rootFile("app.json"), null);
  });

  it("reads the same archive where it moved, and notices a file that changed", async () => {
    const file = await archive("moving.tgz", [{ name: "a.txt", body: "a" }]);
    const source = await openSourceArchive(file, { ...keep, memoryBytes: 0 });
    const moved = join(dir, "moved.tgz");
    await rename(file, moved);
    const names: string[] = [];
    await forEachTarEntry(source.at(moved).tar(), async (entry) => {
      names.push(entry.header.name);
      await finished(asNodeReadable(entry).resume());
    });
    assert.deepEqual(names, ["src/a.txt"]);
    await writeFile(moved, await readFile(await archive("other.tgz", [{ name: "b", body: "b" }])));
    await assert.rejects(
      forEachTarEntry(source.at(moved).tar(), async (entry) => {
        await finished(asNodeReadable(entry).resume());
      }),
      /changed while it was being read/,
    );
  });

  it("holds a small source in memory once checked, and reads a larger one again", async () => {
    const file = await archive("held.tgz", [
      { name: "a.txt", body: "a" },
      { name: "app.json", body: "{}" },
    ]);
    const held = await openSourceArchive(file, { ...keep, memoryBytes: 4096 });
    const read = await openSourceArchive(file, { ...keep, memoryBytes: 1024 });
    const expected = await bytesOf(read.tar());
    await rm(file);
    assert.deepEqual(await bytesOf(held.tar()), expected, "no file needed");
    assert.deepEqual(await bytesOf(held.tar()), expected, "every time");
    assert.deepEqual(held.rootFile("app.json"), Buffer.from("{}"));
    assert.deepEqual(read.rootFile("app.json"), Buffer.from("{}"));
    await assert.rejects(bytesOf(read.tar()), /ENOENT/);
  });
});
