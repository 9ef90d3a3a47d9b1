import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { cappedLog } from "./build-files.ts";

describe("build logs", () => {
  it("keep their first bytes and their last lines once they pass their size", async () => {
    const dir = mkdtempSync(join(tmpdir(), "slipway-buildlog-"));
    try {
      const small = cappedLog(join(dir, "small.log"), 1000);
      small.write("one");
      small.write("two");
      await small.close();
      assert.equal(readFileSync(join(dir, "small.log"), "utf8"), "one\ntwo\n");

      const big = cappedLog(join(dir, "big.log"), 1000);
      for (let i = 0; i < 1000; i++)
        big.write(`line ${String(i).padStart(4, "0")} ${"x".repeat(40)}`);
      big.write("-----> Build succeeded");
      await big.close();
      const lines = readFileSync(join(dir, "big.log"), "utf8").trimEnd().split("\n");
      assert.match(lines[0] ?? "", /^line 0000 /);
      assert.ok(lines.some((l) => /^-----> \d+ lines left out: the log passed 0 MiB$/.test(l)));
      assert.equal(lines.at(-1), "-----> Build succeeded");
      assert.ok(lines.length < 250, String(lines.length));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
