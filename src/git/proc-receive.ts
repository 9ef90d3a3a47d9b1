/**
 * The one hook of every Slipway repository: receive.procReceiveRefs covers every ref, so
 * git hands it all the ref updates of a push, with the pushed objects stored. A push that
 * may not be made (src/git/push-plan.ts) is refused whole, each reason a "remote:" line
 * and next to every ref. Otherwise it builds the commit through the daemon, streams the
 * log to the pusher, and only if the build succeeded moves the branch itself and answers
 * "ok". A failed build answers "ng REF build failed: REASON", which git prints next to the
 * ref.
 * Protocol: githooks(5), "proc-receive", version 1, in pkt-lines on stdin and stdout.
 */
import { spawnSync } from "node:child_process";
import { deployCommit, say } from "./hook-client.ts";
import { decodeBranches } from "./deploy-branch.ts";
import { HOOK_ENV } from "./hook-protocol.ts";
import { FLUSH_PKT, pktLine } from "./pkt-line.ts";
import { parseRefUpdates, planPush, ZERO_SHA, type RefUpdate } from "./push-plan.ts";
import { PktReader } from "./pkt-reader.ts";

function send(lines: readonly string[]): void {
  for (const line of lines) process.stdout.write(pktLine(`${line}\n`));
  process.stdout.write(FLUSH_PKT);
}

async function main(): Promise<number> {
  const reader = new PktReader(process.stdin);
  // Version negotiation: git sends "version=1\0features" and a flush; we speak version 1.
  const hello = await reader.section();
  if (!hello.some((line) => line.startsWith("version=1"))) {
    say("! unsupported proc-receive protocol version");
    return 1;
  }
  send(["version=1"]);
  const commands = (await reader.section()).join("\n");

  let updates: RefUpdate[];
  try {
    updates = parseRefUpdates(commands);
  } catch (error) {
    say(`! ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  const reject = (reason: string): number => {
    send(updates.map((u) => `ng ${u.ref} ${reason}`));
    return 0;
  };
  const socketPath = process.env[HOOK_ENV.socket];
  const pushId = process.env[HOOK_ENV.pushId];
  if (socketPath === undefined || pushId === undefined) {
    return reject("this repository only accepts pushes through Slipway");
  }
  const plan = planPush(updates, decodeBranches(process.env[HOOK_ENV.branches]));
  if (plan.kind === "refuse") {
    for (const reason of plan.reasons) say(`! refused: ${reason}`);
    return reject(plan.reasons.join("; "));
  }
  if (plan.kind === "nothing") {
    send([]);
    return 0;
  }
  const { update } = plan;
  say(`-----> Deploying ${update.newSha.slice(0, 12)} (${update.ref})`);
  const result = await deployCommit(socketPath, pushId, update);
  if (!result.ok) {
    say(`! push rejected: ${result.reason}`);
    return reject(result.reason);
  }
  // The build succeeded: move the branch ourselves (proc-receive owns these refs), only
  // from the value the pusher saw, so a concurrent push cannot be overwritten.
  const moved = spawnSync(
    "git",
    [
      "update-ref",
      "-m",
      "slipway deploy",
      update.ref,
      update.newSha,
      update.oldSha === ZERO_SHA ? "" : update.oldSha,
    ],
    { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" },
  );
  if (moved.status !== 0) {
    return reject(`deployed, but the branch did not move: ${moved.stderr.trim()}`);
  }
  send([`ok ${update.ref}`]);
  return 0;
}

process.exit(await main());
