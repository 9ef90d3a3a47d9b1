import assert from "node:assert/strict";
import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { setTimeout as sleep } from "node:timers/promises";
import { after, describe, it } from "node:test";
import { Launcher, launchRequest, runProgram, type LaunchedChild } from "./launcher.ts";

const ENV = { PATH: "/usr/bin:/bin", ONLY_THIS: "a b 'c' \\d" };
const dir = realpathSync(mkdtempSync(join(tmpdir(), "launcher-")));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function exited(child: LaunchedChild): Promise<number | null> {
  return new Promise((resolve) => child.once("close", resolve));
}

describe("Launcher", () => {
  it("runs the program in a shell started ahead: its arguments, environment, directory and exit code", async () => {
    const launcher = new Launcher({ size: 2, refillDelayMs: 60_000 });
    try {
      assert.equal(launcher.ready, 2);
      const args = [
        "-c",
        'printf "%s|" "$@"; echo; env | sort; pwd; exit 7',
        "sh",
        "two words",
        "",
        "x\\y",
      ];
      const child = launcher.launch("sh", args, { cwd: dir, env: ENV });
      assert.equal(launcher.ready, 1, "a started shell was used");
      const [out, code] = await Promise.all([text(child.stdout), exited(child)]);
      assert.equal(code, 7);
      const lines = out.split("\n");
      assert.equal(lines[0], "two words||x\\y|");
      assert.ok(lines.includes("ONLY_THIS=a b 'c' \\d"), out);
      assert.deepEqual(
        lines.filter((line) => /^[A-Z_]+=/.test(line)).map((line) => line.split("=")[0]),
        ["ONLY_THIS", "PATH", "PWD"],
        "nothing but the environment given (and the shell's PWD)",
      );
      assert.ok(lines.includes(dir), out);
    } finally {
      launcher.close();
    }
  });

  it("passes stdin through, and fds 3 and 4 when asked for five pipes", async () => {
    const launcher = new Launcher({ size: 2, refillDelayMs: 60_000 });
    try {
      const cat = launcher.launch("cat", [], { env: ENV });
      cat.stdin.end("piped in\n");
      assert.equal(await text(cat.stdout), "piped in\n");

      const five = launcher.launch("sh", ["-c", "echo three >&3; echo four >&4"], {
        env: ENV,
        pipes: 5,
      });
      const [three, four] = await Promise.all([
        text(five.stdio[3] as Readable),
        text(five.stdio[4] as Readable),
      ]);
      assert.deepEqual([three, four], ["three\n", "four\n"]);
    } finally {
      launcher.close();
    }
  });

  it("closes fds 3 and 4 of a program with three pipes", async () => {
    const launcher = new Launcher({ size: 1, refillDelayMs: 60_000 });
    try {
      const child = launcher.launch("sh", ["-c", "echo x >&3 && echo open || echo closed"], {
        env: ENV,
      });
      assert.equal((await text(child.stdout)).trim(), "closed");
    } finally {
      launcher.close();
    }
  });

  it("spawns as usual when no shell is ready or a line cannot carry an argument", async () => {
    const launcher = new Launcher({ size: 1, refillDelayMs: 60_000 });
    try {
      const multiline = launcher.launch("printf", ["%s", "a\nb"], { env: ENV });
      assert.equal(await text(multiline.stdout), "a\nb");
      assert.equal(launcher.ready, 1, "the started shell was not used");
      const first = exited(launcher.launch("true", [], { env: ENV }));
      const second = launcher.launch("echo", ["spawned"], { env: ENV });
      assert.equal(await text(second.stdout), "spawned\n");
      assert.equal(await first, 0);
    } finally {
      launcher.close();
    }
  });

  it("starts shells again once launches pause", async () => {
    const launcher = new Launcher({ size: 2, refillDelayMs: 20 });
    try {
      // Both taken before the event loop runs: no refill can have started yet.
      const first = launcher.launch("true", [], { env: ENV });
      const second = launcher.launch("true", [], { env: ENV });
      assert.equal(launcher.ready, 0);
      await Promise.all([exited(first), exited(second)]);
      // Started again after the pause (20 ms), each as fast as the machine forks (10 s is
      // only a bound on waiting for shells that never come).
      const deadline = Date.now() + 10_000;
      const ready = (): number => launcher.ready; // not narrowed by the assertion above
      while (ready() < 2 && Date.now() < deadline) await sleep(10);
      assert.equal(launcher.ready, 2);
    } finally {
      launcher.close();
    }
  });

  it("runProgram collects the output and the exit code, and kills at the timeout", async () => {
    const launcher = new Launcher({ size: 2, refillDelayMs: 60_000 });
    try {
      const done = await runProgram(launcher, "sh", ["-c", "echo out; echo err >&2; exit 3"], {
        env: ENV,
        timeoutMs: 10_000,
      });
      assert.deepEqual(done, { code: 3, signal: null, stdout: "out\n", stderr: "err\n" });
      const slow = await runProgram(launcher, "sleep", ["10"], { env: ENV, timeoutMs: 50 });
      assert.equal(slow.signal, "SIGKILL");
    } finally {
      launcher.close();
    }
  });
});

describe("launchRequest", () => {
  it("refuses what a line cannot carry and names that are not environment names", () => {
    assert.equal(launchRequest("git", ["a\nb"], { env: {} }), undefined);
    assert.equal(launchRequest("git", [], { env: { "A-B": "x" } }), undefined);
    assert.equal(launchRequest("git", [], { env: { A: "x\0" } }), undefined);
    assert.equal(
      launchRequest("git", ["status"], { cwd: "/repo", env: { A: "1" }, pipes: 5 }),
      "/repo\n1\nA=1\n2\ngit\nstatus\n5\n",
    );
  });
});
