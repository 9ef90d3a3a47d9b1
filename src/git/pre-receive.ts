/**
 * The pre-receive hook of every Slipway repository, run by `git receive-pack` (over HTTP or
 * SSH) with the pushed objects still in quarantine. It checks the ref updates, exports the
 * pushed commit with `git archive`, sends it to the daemon, and prints the build log as it
 * comes (git relays it to the pusher as "remote:" lines). Exiting non-zero refuses every
 * ref of the push, so a failed build never moves the branch.
 */
import { spawn } from "node:child_process";
import { request } from "node:http";
import { createInterface } from "node:readline";
import { HOOK_ENV, parseHookLine, type HookResult } from "./hook-protocol.ts";
import { parseRefUpdates, planPush, type RefUpdate } from "./push-plan.ts";

function say(text: string): void {
  process.stderr.write(`${text}\n`);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Streams `git archive` of the commit to the daemon and relays its answer. */
function deploy(socketPath: string, pushId: string, update: RefUpdate): Promise<HookResult> {
  return new Promise((resolve) => {
    const archive = spawn("git", ["archive", "--format=tar.gz", update.newSha], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const query = new URLSearchParams({ ref: update.ref, commit: update.newSha });
    const req = request(
      {
        socketPath,
        method: "POST",
        path: `/pushes/${encodeURIComponent(pushId)}/deploy?${query.toString()}`,
        headers: { "content-type": "application/gzip", host: "slipway-hook" },
      },
      (res) => {
        let result: HookResult | undefined;
        const lines = createInterface({ input: res, crlfDelay: Infinity });
        lines.on("line", (line) => {
          const parsed = parseHookLine(line);
          if (parsed.kind === "output") say(parsed.text);
          else if (parsed.kind === "result") result = parsed.result;
        });
        lines.on("close", () => {
          resolve(
            result ??
              (res.statusCode === 200
                ? { ok: false, reason: "the platform ended the push without a verdict" }
                : { ok: false, reason: `the platform answered ${String(res.statusCode)}` }),
          );
        });
      },
    );
    req.on("error", (error) => {
      archive.kill();
      resolve({ ok: false, reason: `cannot reach the platform: ${error.message}` });
    });
    archive.on("exit", (code) => {
      if (code !== 0) {
        req.destroy(new Error(`git archive exited with ${String(code)}`));
      }
    });
    archive.stdout.pipe(req);
  });
}

async function main(): Promise<number> {
  const socketPath = process.env[HOOK_ENV.socket];
  const pushId = process.env[HOOK_ENV.pushId];
  if (socketPath === undefined || pushId === undefined) {
    say("! this repository only accepts pushes through Slipway");
    return 1;
  }
  let updates: RefUpdate[];
  try {
    updates = parseRefUpdates(await readStdin());
  } catch (error) {
    say(`! ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  const plan = planPush(updates);
  switch (plan.kind) {
    case "refuse":
      for (const reason of plan.reasons) say(`! refused: ${reason}`);
      return 1;
    case "nothing":
      return 0;
    case "deploy": {
      say(`-----> Deploying ${plan.update.newSha.slice(0, 12)} (${plan.update.ref})`);
      const result = await deploy(socketPath, pushId, plan.update);
      if (result.ok) return 0;
      say(`! push rejected: ${result.reason}`);
      return 1;
    }
  }
}

process.exitCode = await main();
