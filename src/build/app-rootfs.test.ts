import assert from "node:assert/strict";
import type { Readable } from "node:stream";
import { describe, it } from "node:test";
import { appRootfs } from "./app-rootfs.ts";
import { asNodeReadable, forEachTarEntry, packStream } from "./tar-stream-node.ts";

async function listing(tar: Readable): Promise<string[]> {
  const seen: string[] = [];
  await forEachTarEntry(tar, async (entry) => {
    const h = entry.header;
    let body = "";
    for await (const chunk of asNodeReadable(entry)) body += (chunk as Buffer).toString();
    const owner = `${String(h.uid)}:${String(h.gid)}`;
    seen.push(`${h.name} ${h.type} ${h.mode.toString(8)} ${owner} ${h.linkname || body}`);
  });
  return seen;
}

describe("appRootfs", () => {
  it("lays the slug over the run stack as /app owned by uid 1000, with Slipway's files", async () => {
    const run = packStream((pack) => {
      pack.entry({ name: "./", type: "directory", mode: 0o755 });
      pack.entry({ name: "./bin/bash", mode: 0o755 }, "elf");
      pack.entry({ name: "./bin/sh", type: "link", linkname: "./bin/bash", mode: 0o755 });
      pack.entry({ name: "./app/", type: "directory", mode: 0o755, uid: 1000, gid: 1000 });
      return Promise.resolve();
    });
    const slug = packStream((pack) => {
      const host = { uid: 2147549181, gid: 2147549181 };
      pack.entry({ ...host, name: "slug", type: "directory", mode: 0o755 });
      pack.entry({ ...host, name: "slug/server.js", mode: 0o4755 }, "x");
      pack.entry({ ...host, name: "slug/same.js", type: "link", linkname: "slug/server.js" });
      pack.entry({ ...host, name: "slug/.bin/s", type: "symlink", linkname: "../server.js" });
      pack.entry({ ...host, name: "slug/.slipway/launch" }, "the app's own, dropped");
      pack.entry({ ...host, name: "slug/dev", type: "character-device" });
      return Promise.resolve();
    });
    const out = appRootfs({
      runRootfs: run,
      slug,
      extra: [
        { path: ".slipway/launch", content: "#!/bin/bash\n", mode: 0o755 },
        { path: ".slipway/processes/web", content: "node server.js", mode: 0o644 },
      ],
    });
    assert.deepEqual(await listing(out), [
      "bin/bash file 755 0:0 elf",
      "bin/sh link 755 0:0 bin/bash",
      "app directory 755 1000:1000 ",
      "app/server.js file 755 1000:1000 x",
      "app/same.js link 644 1000:1000 app/server.js",
      "app/.bin/s symlink 644 1000:1000 ../server.js",
      "app/.slipway directory 755 1000:1000 ",
      "app/.slipway/processes directory 755 1000:1000 ",
      "app/.slipway/launch file 755 1000:1000 #!/bin/bash\n",
      "app/.slipway/processes/web file 644 1000:1000 node server.js",
    ]);
  });

  it("adds the parts the runner moved out of the slug below /app, without a second root", async () => {
    const empty = packStream(() => Promise.resolve());
    const slug = packStream((pack) => {
      pack.entry({ name: "slug", type: "directory", mode: 0o755 });
      pack.entry({ name: "slug/server.js", mode: 0o644 }, "x");
      return Promise.resolve();
    });
    const runtime = packStream((pack) => {
      pack.entry({ name: "runtime", type: "directory", mode: 0o700 });
      pack.entry({ name: "runtime/.heroku/node", mode: 0o755 }, "elf");
      pack.entry({
        name: "runtime/.heroku/nodejs",
        type: "link",
        linkname: "runtime/.heroku/node",
      });
      return Promise.resolve();
    });
    const out = appRootfs({
      runRootfs: empty,
      slug,
      parts: [() => Promise.resolve(runtime)],
      extra: [],
    });
    assert.deepEqual(await listing(out), [
      "app directory 755 1000:1000 ",
      "app/server.js file 644 1000:1000 x",
      "app/.heroku/node file 755 1000:1000 elf",
      "app/.heroku/nodejs link 644 1000:1000 app/.heroku/node",
    ]);
  });

  it("fails on an empty slug", async () => {
    const empty = () => packStream(() => Promise.resolve());
    const out = appRootfs({ runRootfs: empty(), slug: empty(), extra: [] });
    await assert.rejects(listing(out), /empty slug/);
  });
});
