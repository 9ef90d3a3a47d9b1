/**
 * The proc-receive hook as a Node.js program, for pushes over SSH (the git shell starts
 * receive-pack; HTTPS pushes are answered by the daemon itself: src/git/push-relay.ts).
 * It speaks the conversation (src/git/proc-receive-conversation.ts) on stdin and stdout,
 * and deploys through the daemon's hook socket with the push id it was given.
 */
import { spawnSync } from "node:child_process";
import { deployCommit, say } from "./hook-client.ts";
import { decodeBranches } from "./deploy-branch.ts";
import { HOOK_ENV } from "./hook-protocol.ts";
import { answerProcReceive, updateRefArgs } from "./proc-receive-conversation.ts";

const socketPath = process.env[HOOK_ENV.socket];
const pushId = process.env[HOOK_ENV.pushId];
const fromSlipway = socketPath !== undefined && pushId !== undefined;

const status = await answerProcReceive(process.stdin, process.stdout, {
  branches: fromSlipway ? decodeBranches(process.env[HOOK_ENV.branches]) : null,
  say,
  deploy: (update) => deployCommit(socketPath ?? "", pushId ?? "", update),
  moveRef: (update) => {
    const moved = spawnSync("git", updateRefArgs(update), {
      stdio: ["ignore", "ignore", "pipe"],
      encoding: "utf8",
    });
    return Promise.resolve(moved.status === 0 ? null : moved.stderr.trim());
  },
});
// Not only exitCode: a relayed request or git child must not keep the push waiting.
process.exit(status);
