import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { unpackTar } from "../engine/tar-files.ts";
import { joinTars, packTar } from "./tar-files.ts";

const names = async (tar: Readable): Promise<string[]> =>
  (await unpackTar(tar)).map((f) => `${f.path}=${f.type === "file" ? f.data.toString() : ""}`);

describe("joinTars", () => {
  it("makes one archive of the parts' entries, in order", async () => {
    const big = "x".repeat(5000); // more than one read's worth of blocks
    const joined = joinTars([
      packTar([
        { name: "env/A", content: "1" },
        { name: "known-layers", content: big },
      ]),
      packTar([{ name: "src/server.js", content: "ok" }]),
    ]);
    assert.deepEqual(await names(joined), ["env/A=1", `known-layers=${big}`, "src/server.js=ok"]);
  });

  it("fails on a part that is not a whole tar archive", async () => {
    const joined = joinTars([
      Readable.from([Buffer.alloc(512, 1)]),
      packTar([{ name: "src/a", content: "a" }]),
    ]);
    await assert.rejects(joined.toArray(), /part 1 of a joined tar has no end-of-archive blocks/);
  });

  it("destroys the parts when the reader gives up", async () => {
    const first = packTar([{ name: "a", content: "a" }]);
    const second = packTar([{ name: "b", content: "b" }]);
    const joined = joinTars([first, second]);
    // A reader that stops after the first chunk, as a failed upload does.
    for await (const chunk of joined) if (chunk !== undefined) break;
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(first.destroyed && second.destroyed);
  });
});
