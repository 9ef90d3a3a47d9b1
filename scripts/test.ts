/**
 * `npm test`: format check, lint, type check, then every test (unit, integration and end
 * to end on real Podman and HAProxy) in one node:test run, so its closing summary counts
 * them all. Runs every stage even when one fails, and exits non-zero if any did.
 */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { testTmpdir } from "./test-tmpdir.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name: string): string => join(root, "node_modules", ".bin", name);
const only = process.argv.slice(2);

interface Stage {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** Runs with the tests' TMPDIR (test-tmpdir.ts). */
  readonly tmpdir?: true;
}

const testFiles = only.length > 0 ? only : ["src/**/*.test.ts", "test/**/*.test.ts"];
const stages: Stage[] = [
  ...(only.length > 0
    ? []
    : [
        { name: "format", command: bin("prettier"), args: ["--check", "--log-level", "warn", "."] },
        { name: "lint", command: bin("eslint"), args: ["--max-warnings", "0", "."] },
        { name: "types", command: bin("tsc"), args: ["--noEmit", "-p", "."] },
      ]),
  {
    name: "tests",
    command: process.execPath,
    args: [
      "--test",
      "--test-reporter=spec",
      "--test-concurrency=2",
      "--test-timeout=900000",
      ...testFiles,
    ],
    tmpdir: true,
  },
];

const tmp = testTmpdir();
const failed: string[] = [];
for (const stage of stages) {
  console.log(
    `\n==> ${stage.name}: ${[stage.command.replace(root + "/", ""), ...stage.args].join(" ")}`,
  );
  let env = process.env;
  if (stage.tmpdir === true) {
    if ("dir" in tmp) {
      console.log(`==> temporary directories in memory: TMPDIR=${tmp.dir}`);
      env = { ...process.env, TMPDIR: tmp.dir };
    } else {
      console.log(`==> temporary directories on the disk (${tmp.why})`);
    }
  }
  const started = Date.now();
  const result = spawnSync(stage.command, stage.args, { stdio: "inherit", cwd: root, env });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (result.status === 0) {
    console.log(`==> ${stage.name}: ok (${seconds} s)`);
  } else {
    console.log(`==> ${stage.name}: FAILED (${seconds} s)`);
    failed.push(stage.name);
  }
}
if ("dir" in tmp) {
  try {
    tmp.remove();
  } catch (error) {
    console.log(`==> could not remove ${tmp.dir}: ${String(error)}`);
  }
}
if (failed.length > 0) {
  console.log(`\nnpm test failed: ${failed.join(", ")}`);
  process.exit(1);
}
