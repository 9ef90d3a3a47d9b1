/**
 * The pre-receive hook of every Slipway repository, run by `git receive-pack` (over HTTP or
 * SSH) before anything is stored. It checks the ref updates against what a push may do
 * (src/git/push-plan.ts); exiting non-zero refuses the whole push with the reasons as
 * "remote:" lines. The build itself runs in the proc-receive hook, which can refuse one
 * ref with a reason git shows next to it.
 */
import { say } from "./hook-client.ts";
import { decodeBranches } from "./deploy-branch.ts";
import { HOOK_ENV } from "./hook-protocol.ts";
import { parseRefUpdates, planPush, type RefUpdate } from "./push-plan.ts";

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function main(): Promise<number> {
  if (process.env[HOOK_ENV.socket] === undefined || process.env[HOOK_ENV.pushId] === undefined) {
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
  const plan = planPush(updates, decodeBranches(process.env[HOOK_ENV.branches]));
  if (plan.kind === "refuse") {
    for (const reason of plan.reasons) say(`! refused: ${reason}`);
    return 1;
  }
  return 0;
}

process.exit(await main());
