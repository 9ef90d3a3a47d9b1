import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { must, startPlatform } from "./test/e2e/harness.ts";

const p = await startPlatform();
try {
  const dir = mkdtempSync("/tmp/probe-");
  const repo = join(dir, "repo");
  cpSync("examples/hello-node", repo, { recursive: true });
  const env = { ...process.env, ...p.env, GIT_TERMINAL_PROMPT: "0" } as NodeJS.ProcessEnv;
  delete env.GIT_SSL_CAINFO;
  const git = (...args: string[]) => execFileSync("git", args, { cwd: repo, env, stdio: "pipe" });
  git("init", "-q", "--initial-branch=main");
  await must(p.cli(["apps:create", "bench"]), "apps:create");
  execFileSync(process.execPath, [join(process.cwd(), "bin/slipway.js"), "git:remote", "--app", "bench"], { cwd: repo, env });
  for (let i = 0; i < 3; i++) {
    writeFileSync(join(repo, "server.js"), readFileSync(join(repo, "server.js"), "utf8") + `\n// ${i}\n`);
    git("add", "-A");
    git("-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", String(i));
    const t0 = Date.now();
    const r = spawnSync("git", ["push", "slipway", "main"], { cwd: repo, env: { ...env, GIT_TRACE: i === 2 ? "1" : "0", GIT_TRACE_CURL: i === 2 ? "1" : "0", GIT_TRACE_CURL_NO_DATA: "1" }, encoding: "utf8" });
    console.log(`push ${i}: ${Date.now() - t0} ms, code ${r.status}`);
    if (i === 2) writeFileSync("/tmp/push-trace.txt", r.stderr);
  }
  const t1 = Date.now();
  spawnSync(process.execPath, [join(process.cwd(), "bin/slipway.js"), "git:credential", "get"], { env, input: "protocol=https\nhost=x\n\n" });
  console.log(`credential helper alone: ${Date.now() - t1} ms`);
  console.log(execFileSync("git", ["config", "--get-regexp", "credential"], { cwd: repo, env }).toString());
} finally {
  await p.stop();
}
