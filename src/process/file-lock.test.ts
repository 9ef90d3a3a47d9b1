import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { DriverError } from "../domain/errors.ts";
import { withFileLock } from "./file-lock.ts";

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "slipway-file-lock-test-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Whether another process could take the lock now (flock(1) without waiting). */
function free(path: string): boolean {
  return spawnSync("flock", ["--nonblock", path, "true"]).status === 0;
}

describe("withFileLock", () => {
  it("holds the kernel's lock for other processes while use() runs, and creates the file private", async () => {
    const path = join(dir, "a.lock");
    const result = await withFileLock(path, () => {
      assert.equal(free(path), false);
      return Promise.resolve(42);
    });
    assert.equal(result, 42);
    assert.equal(free(path), true);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
  });

  it("runs one holder at a time, the second after the first, and tells the waiter", async () => {
    const path = join(dir, "b.lock");
    const order: string[] = [];
    let waited = 0;
    const first = withFileLock(path, async () => {
      order.push("first in");
      await sleep(300);
      order.push("first out");
    });
    await sleep(100);
    const second = withFileLock(
      path,
      () => {
        order.push("second in");
        return Promise.resolve();
      },
      {
        waitNoticeMs: 50,
        onWait: () => {
          waited += 1;
        },
      },
    );
    await Promise.all([first, second]);
    assert.deepEqual(order, ["first in", "first out", "second in"]);
    assert.equal(waited, 1);
  });

  it("releases the lock when use() throws", async () => {
    const path = join(dir, "c.lock");
    await assert.rejects(
      withFileLock(path, () => Promise.reject(new Error("boom"))),
      /boom/,
    );
    assert.equal(free(path), true);
  });

  it("stops waiting when aborted, with a DriverError", async () => {
    const path = join(dir, "d.lock");
    await withFileLock(path, async () => {
      const controller = new AbortController();
      const waiting = withFileLock(path, () => Promise.resolve(), { signal: controller.signal });
      await sleep(100);
      controller.abort(new Error("the build was cancelled"));
      await assert.rejects(
        waiting,
        (error: unknown) =>
          error instanceof DriverError && /the build was cancelled/.test(error.message),
      );
    });
    assert.equal(free(path), true);
  });

  it("is released when the process holding it is killed", async () => {
    const path = join(dir, "e.lock");
    const module = join(import.meta.dirname, "file-lock.ts");
    const holder = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const { withFileLock } = await import(${JSON.stringify(module)});
         await withFileLock(${JSON.stringify(path)}, () => {
           console.log("locked");
           return new Promise(() => setInterval(() => undefined, 1000));
         });`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    await new Promise<void>((resolve) => {
      holder.stdout.on("data", () => {
        resolve();
      });
    });
    assert.equal(free(path), false);
    holder.kill("SIGKILL");
    await withFileLock(path, () => Promise.resolve());
  });
});
