import assert from "node:assert/strict";
import { mkdtempSync, openSync, readFileSync, rmSync, writeSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { rotateBySize } from "./log-rotation.ts";

describe("log rotation", () => {
  it("copies a log past its size to FILE.1 and truncates it; appenders keep writing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "slipway-rotate-"));
    try {
      const file = join(dir, "daemon.log");
      // A writer like the daemon: one descriptor opened for appending, kept open.
      const fd = openSync(file, "a");
      writeSync(fd, "x".repeat(100) + "\n");
      assert.equal(await rotateBySize(file, 1000), false);
      writeSync(fd, "y".repeat(1000) + "\n");
      assert.equal(await rotateBySize(file, 1000), true);
      writeSync(fd, "after rotation\n");
      closeSync(fd);
      assert.equal(readFileSync(file, "utf8"), "after rotation\n");
      assert.equal(readFileSync(`${file}.1`, "utf8").length, 1102);
      assert.equal(await rotateBySize(join(dir, "missing.log"), 10), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
