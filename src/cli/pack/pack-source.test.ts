import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { UsageError } from "../errors.ts";
import { packSource } from "./pack-source.ts";
import type { SkippedEntry } from "./source-tree.ts";
import { writeTar, type TarEntry } from "./tar-writer.ts";

const scratch = mkdtempSync(join(tmpdir(), "slipway-pack-"));
after(() => {
  rmSync(scratch, { recursive: true, force: true });
});
let dirs = 0;
const newDir = (): string => {
  const dir = join(scratch, `d${++dirs}`);
  mkdirSync(dir);
  return dir;
};

async function archive(dir: string): Promise<{ file: string; skipped: SkippedEntry[] }> {
  const skipped: SkippedEntry[] = [];
  const chunks: Buffer[] = [];
  for await (const chunk of await packSource(dir, (entry) => skipped.push(entry))) {
    chunks.push(chunk as Buffer);
  }
  const file = join(scratch, `a${++dirs}.tar.gz`);
  writeFileSync(file, Buffer.concat(chunks));
  return { file, skipped };
}

function extract(file: string): string {
  const out = newDir();
  execFileSync("tar", ["-xzf", file, "-C", out]);
  return out;
}

const listing = (file: string): string[] =>
  execFileSync("tar", ["-tzf", file], { encoding: "utf8" }).split("\n").filter(Boolean);

describe("packSource", () => {
  it("round-trips files, directories, modes and in-tree symlinks through tar", async () => {
    const src = newDir();
    mkdirSync(join(src, "bin"));
    mkdirSync(join(src, "lib/deep"), { recursive: true });
    writeFileSync(join(src, "package.json"), '{"name":"shop"}\n');
    writeFileSync(join(src, "bin/start"), "#!/bin/sh\necho hi\n");
    chmodSync(join(src, "bin/start"), 0o755);
    writeFileSync(join(src, "lib/deep/empty.txt"), "");
    writeFileSync(join(src, "lib/block.bin"), Buffer.alloc(512, 7));
    writeFileSync(join(src, "lib/odd.bin"), Buffer.alloc(1000, 9));
    writeFileSync(join(src, "héllo wörld.txt"), "unicode\n");
    symlinkSync("lib/deep", join(src, "deep-link"));
    symlinkSync("../package.json", join(src, "lib/pkg"));

    const { file, skipped } = await archive(src);
    assert.deepEqual(skipped, []);

    const verbose = execFileSync("tar", ["-tzvf", file], { encoding: "utf8" });
    assert.match(verbose, /^-rwxr-xr-x 0\/0 +\d+ .* bin\/start$/m);
    assert.match(verbose, /^lrwxrwxrwx 0\/0 .* deep-link -> lib\/deep$/m);
    assert.match(verbose, /^drwx.* lib\/deep\/$/m);
    assert.deepEqual(listing(file), [
      "bin/",
      "bin/start",
      "deep-link",
      "héllo wörld.txt",
      "lib/",
      "lib/block.bin",
      "lib/deep/",
      "lib/deep/empty.txt",
      "lib/odd.bin",
      "lib/pkg",
      "package.json",
    ]);

    const out = extract(file);
    for (const path of [
      "package.json",
      "bin/start",
      "lib/block.bin",
      "lib/odd.bin",
      "héllo wörld.txt",
    ]) {
      assert.deepEqual(readFileSync(join(out, path)), readFileSync(join(src, path)), path);
    }
    assert.equal(readFileSync(join(out, "lib/deep/empty.txt"), "utf8"), "");
    assert.equal(statSync(join(out, "bin/start")).mode & 0o777, 0o755);
    assert.equal(readlinkSync(join(out, "lib/pkg")), "../package.json");
    assert.equal(
      Math.floor(statSync(join(out, "package.json")).mtimeMs / 1000),
      Math.floor(statSync(join(src, "package.json")).mtimeMs / 1000),
    );
  });

  it("skips .git and node_modules at any depth", async () => {
    const src = newDir();
    mkdirSync(join(src, ".git/objects"), { recursive: true });
    writeFileSync(join(src, ".git/HEAD"), "ref: refs/heads/main\n");
    mkdirSync(join(src, "node_modules/left-pad"), { recursive: true });
    writeFileSync(join(src, "node_modules/left-pad/index.js"), "");
    mkdirSync(join(src, "packages/web/node_modules"), { recursive: true });
    writeFileSync(join(src, "packages/web/node_modules/x.js"), "");
    writeFileSync(join(src, "packages/web/.git"), "gitdir: ../../.git/worktrees/web\n");
    writeFileSync(join(src, "packages/web/index.js"), "");
    writeFileSync(join(src, ".gitignore"), "node_modules\n");
    const { file } = await archive(src);
    assert.deepEqual(listing(file), [
      ".gitignore",
      "packages/",
      "packages/web/",
      "packages/web/index.js",
    ]);
  });

  it("leaves out symlinks that escape the tree and special files, and says so", async () => {
    const src = newDir();
    writeFileSync(join(src, "ok.txt"), "ok");
    symlinkSync("/etc/passwd", join(src, "absolute"));
    symlinkSync("../../outside", join(src, "escape"));
    mkdirSync(join(src, "sub"));
    symlinkSync("..", join(src, "sub/up")); // the root itself is inside
    execFileSync("mkfifo", [join(src, "pipe")]);
    const { file, skipped } = await archive(src);
    assert.deepEqual(listing(file), ["ok.txt", "sub/", "sub/up"]);
    assert.deepEqual(
      skipped.map((entry) => entry.path),
      ["absolute", "escape", "pipe"],
    );
    assert.match(skipped[0]?.reason ?? "", /outside the source tree/);
  });

  it("stores long paths with a ustar prefix, longer ones and long link targets with PAX", async () => {
    const src = newDir();
    const medium = `${"m".repeat(90)}/${"n".repeat(90)}`; // 181 bytes: prefix + name
    const long = `${"a".repeat(120)}/${"b".repeat(120)}/${"c".repeat(110)}.txt`; // > 255: PAX
    mkdirSync(join(src, medium), { recursive: true });
    writeFileSync(join(src, medium, "f.txt"), "medium");
    mkdirSync(join(src, long, ".."), { recursive: true });
    writeFileSync(join(src, long), "long");
    symlinkSync(long, join(src, "link-to-long"));
    const { file } = await archive(src);
    const names = listing(file);
    assert.ok(names.includes(`${medium}/f.txt`));
    assert.ok(names.includes(long));
    const out = extract(file);
    assert.equal(readFileSync(join(out, medium, "f.txt"), "utf8"), "medium");
    assert.equal(readFileSync(join(out, long), "utf8"), "long");
    assert.equal(readlinkSync(join(out, "link-to-long")), long);
  });

  it("refuses a path that is not a directory", async () => {
    const src = newDir();
    writeFileSync(join(src, "file"), "");
    await assert.rejects(packSource(join(src, "file")), UsageError);
    await assert.rejects(packSource(join(src, "missing")), UsageError);
  });
});

describe("writeTar", () => {
  it("fails when a file yields fewer bytes than its size", async () => {
    const entry: TarEntry = {
      type: "file",
      path: "shrunk.txt",
      mode: 0o644,
      mtime: 0,
      size: 10,
      content: () => [Buffer.from("abc")],
    };
    await assert.rejects(async () => {
      for await (const chunk of writeTar([entry])) assert.ok(chunk);
    }, /changed while it was being archived/);
  });

  it("pads every member to 512-byte blocks and ends with two zero blocks", async () => {
    const entry: TarEntry = {
      type: "file",
      path: "a",
      mode: 0o644,
      mtime: 0,
      size: 3,
      content: () => [Buffer.from("abc")],
    };
    const chunks: Uint8Array[] = [];
    for await (const chunk of writeTar([entry])) chunks.push(chunk);
    const tar = Buffer.concat(chunks);
    assert.equal(tar.length, 512 + 512 + 1024);
    assert.equal(tar.subarray(257, 263).toString("latin1"), "ustar\0");
    assert.ok(tar.subarray(1024).every((byte) => byte === 0));
  });
});
