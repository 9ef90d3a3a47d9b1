import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";

/**
 * read_go_line (buildpacks/_runner/go-line.sh), the runner's wait for its go line, on the
 * host with bash: from stdin, and from the workspace file the platform puts when the
 * engine broke the attach that carries stdin (build-container.ts).
 */
const GO_LINE_SH = join(import.meta.dirname, "../../buildpacks/_runner/go-line.sh");
const LINE = "slipway-build-end-00ff nodejs python";

let root = "";
before(async () => {
  root = await mkdtemp(join(tmpdir(), "slipway-go-line-"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Waiting {
  readonly workspace: string;
  /** The runner's stdin. */
  readonly stdin: NodeJS.WritableStream & { end(): void };
  /** Resolves with what the runner took ("END|BUILDPACKS") and its exit code. */
  readonly done: Promise<{ output: string; code: number | null }>;
}

/** Starts bash waiting for its go line, as build.sh does, in a workspace of its own. */
async function waiting(name: string): Promise<Waiting> {
  const workspace = join(root, name);
  await mkdir(workspace);
  const script = [
    "set -euo pipefail",
    `WORKSPACE=${JSON.stringify(workspace)}`,
    `source ${JSON.stringify(GO_LINE_SH)}`,
    "read_go_line || exit 70",
    'echo "$SLIPWAY_BUILD_END|$SLIPWAY_BUILDPACKS"',
  ].join("\n");
  const child = spawn("bash", ["-c", script], { stdio: ["pipe", "pipe", "inherit"] });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    output += chunk;
  });
  const done = new Promise<{ output: string; code: number | null }>((resolve) => {
    child.once("close", (code) => {
      resolve({ output: output.trim(), code });
    });
  });
  return { workspace, stdin: child.stdin, done };
}

describe("read_go_line", () => {
  it("takes the line from stdin, even when it comes in parts more than a second apart", async () => {
    const runner = await waiting("stdin");
    runner.stdin.write("slipway-build-end-00ff node");
    await sleep(1300); // past the runner's one-second look at the workspace
    runner.stdin.write("js python\n");
    assert.deepEqual(await runner.done, {
      output: "slipway-build-end-00ff|nodejs python",
      code: 0,
    });
  });

  it("takes the workspace file when stdin ended without a line (a broken attach closed it)", async () => {
    const runner = await waiting("closed");
    runner.stdin.end();
    await sleep(200);
    // The platform's archive may show the file before its newline: not a line yet.
    await writeFile(join(runner.workspace, "go"), "slipway-build-end-00ff node");
    await sleep(200);
    await writeFile(join(runner.workspace, "go"), `${LINE}\n`);
    assert.deepEqual(await runner.done, {
      output: "slipway-build-end-00ff|nodejs python",
      code: 0,
    });
  });

  it("takes the workspace file while stdin stays open without a line", async () => {
    const runner = await waiting("open");
    await sleep(100);
    await writeFile(join(runner.workspace, "go"), `${LINE}\n`);
    assert.deepEqual(await runner.done, {
      output: "slipway-build-end-00ff|nodejs python",
      code: 0,
    });
    runner.stdin.end();
  });

  it("fails on an empty line (no end marker)", async () => {
    const runner = await waiting("empty");
    runner.stdin.write("\n");
    assert.equal((await runner.done).code, 70);
  });
});
