/**
 * Slipway's side of git's proc-receive conversation (githooks(5), "proc-receive", version
 * 1, in pkt-lines): receive.procReceiveRefs covers every ref, so git hands over all the
 * ref updates of a push, with the pushed objects stored. A push that may not be made
 * (src/git/push-plan.ts) is refused whole, each reason a "remote:" line and next to every
 * ref. Otherwise the commit is deployed, and only if the build succeeded the branch moves
 * and the ref is "ok"; a failed build answers "ng REF build failed: REASON", which git
 * prints next to the ref.
 *
 * Two callers speak it: the daemon itself for HTTPS pushes, over descriptors the hook only
 * relays (src/git/push-relay.ts), and the Node.js hook for SSH pushes (proc-receive.ts).
 */
import type { Readable, Writable } from "node:stream";
import type { HookResult } from "./hook-protocol.ts";
import { FLUSH_PKT, pktLine } from "./pkt-line.ts";
import { PktReader } from "./pkt-reader.ts";
import { parseRefUpdates, planPush, ZERO_SHA, type RefUpdate } from "./push-plan.ts";

/** What the conversation needs besides git's two streams. */
export interface ProcReceiveDeps {
  /** The app's deploy branches, or null when the push did not come through Slipway. */
  readonly branches: readonly string[] | null;
  /** Prints a line for the pusher (git shows it as "remote: ..."). */
  say(text: string): void;
  /** Builds and releases the commit, telling the pusher how it goes. */
  deploy(update: RefUpdate): Promise<HookResult>;
  /** Moves the branch after a successful deploy; resolves with an error text, or null. */
  moveRef(update: RefUpdate): Promise<string | null>;
}

/**
 * Answers git on output from input. Resolves with the hook's exit status: 1 when git spoke
 * something else than version 1 of the protocol (git then fails the push), else 0, the
 * refusals and failures being in the report.
 */
export async function answerProcReceive(
  input: Readable,
  output: Writable,
  deps: ProcReceiveDeps,
): Promise<number> {
  const send = (lines: readonly string[]): void => {
    for (const line of lines) output.write(pktLine(`${line}\n`));
    output.write(FLUSH_PKT);
  };
  const reader = new PktReader(input);
  // Version negotiation: git sends "version=1\0features" and a flush; we speak version 1.
  const hello = await reader.section();
  if (!hello.some((line) => line.startsWith("version=1"))) {
    deps.say("! unsupported proc-receive protocol version");
    return 1;
  }
  send(["version=1"]);
  let updates: RefUpdate[];
  try {
    updates = parseRefUpdates((await reader.section()).join("\n"));
  } catch (error) {
    deps.say(`! ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  const reject = (reason: string): number => {
    send(updates.map((u) => `ng ${u.ref} ${reason}`));
    return 0;
  };
  if (deps.branches === null) return reject("this repository only accepts pushes through Slipway");
  const plan = planPush(updates, deps.branches);
  if (plan.kind === "refuse") {
    for (const reason of plan.reasons) deps.say(`! refused: ${reason}`);
    return reject(plan.reasons.join("; "));
  }
  if (plan.kind === "nothing") {
    send([]);
    return 0;
  }
  const { update } = plan;
  deps.say(`-----> Deploying ${update.newSha.slice(0, 12)} (${update.ref})`);
  const result = await deps.deploy(update);
  if (!result.ok) {
    deps.say(`! push rejected: ${result.reason}`);
    return reject(result.reason);
  }
  // The build succeeded: move the branch (proc-receive owns these refs), only from the
  // value the pusher saw, so a concurrent push cannot be overwritten.
  const notMoved = await deps.moveRef(update);
  if (notMoved !== null) return reject(`deployed, but the branch did not move: ${notMoved}`);
  send([`ok ${update.ref}`]);
  return 0;
}

/** `git update-ref` arguments that move update.ref only from the value the pusher saw. */
export function updateRefArgs(update: RefUpdate): string[] {
  return [
    "update-ref",
    "-m",
    "slipway deploy",
    update.ref,
    update.newSha,
    update.oldSha === ZERO_SHA ? "" : update.oldSha,
  ];
}
