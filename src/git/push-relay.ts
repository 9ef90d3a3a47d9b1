/**
 * HTTPS pushes without a Node.js hook. The daemon starts their receive-pack itself, with
 * two more descriptors: fd 3, a socket on which the daemon speaks proc-receive with git
 * (src/git/proc-receive-conversation.ts), and fd 4, for the lines the pusher sees. The
 * hook git runs is then a shell script that only relays (its stdin to fd 3, fd 3 to its
 * stdout, fd 4 to its stderr): no Node.js start, and no round trip through the hook
 * socket, in every push (0.05 s). SSH pushes, whose receive-pack the git shell starts,
 * keep the Node.js hook.
 */
import type { ChildProcess } from "node:child_process";
import { PassThrough, type Duplex } from "node:stream";
import { PayloadTooLargeError } from "../domain/errors.ts";
import type { Logger } from "../domain/logger.ts";
import { runProgram, type ProcessLauncher } from "../process/launcher.ts";
import { parseHookLine, type HookResult } from "./hook-protocol.ts";
import { answerProcReceive, updateRefArgs } from "./proc-receive-conversation.ts";
import type { RefUpdate } from "./push-plan.ts";

/** Set in the environment of a receive-pack whose hook relays (the hook looks for it). */
export const RELAY_ENV = "SLIPWAY_PUSH_RELAY";

/** The pipes of a relayed receive-pack: stdin, stdout, stderr, the conversation, the pusher's lines. */
export const RELAY_PIPES = 5;

/**
 * The lines of the hook script that relay, for /bin/sh. `exec cat >&3` is the hook's own
 * process: git closes the hook's stdin once it has read the report, and that ends it; the
 * two others end when the daemon closes its ends.
 */
export const RELAY_SCRIPT = [
  `if [ "\${${RELAY_ENV}:-}" = 1 ]; then`,
  "  cat <&4 >&2 &",
  "  cat <&3 &",
  "  exec cat >&3",
  "fi",
].join("\n");

export interface RelayDeps {
  /** The app's bare repository. */
  readonly repo: string;
  readonly branches: readonly string[];
  /** Starts git archive and git update-ref. */
  readonly launcher: ProcessLauncher;
  /** The environment of git commands in the repository. */
  readonly env: Readonly<Record<string, string>>;
  /** Stages an archive to a private file, hands it to use(), and removes it (withStreamedUpload). */
  stageArchive<T>(
    archive: AsyncIterable<Uint8Array>,
    use: (path: string) => Promise<T>,
  ): Promise<T>;
  /**
   * Deploys the commit, whose source stage() hands over as a staged tar.gz: the hook
   * protocol's lines (src/git/hook-protocol.ts), the last one the verdict.
   */
  deploy(update: RefUpdate, stage: StageSource, signal: AbortSignal): AsyncIterable<string>;
  readonly logger: Logger;
}

/** Hands a push's source, staged as a tar.gz file, to use(), then removes it. */
export type StageSource = <T>(use: (path: string) => Promise<T>) => Promise<T>;

/** Answers the proc-receive conversation of child, a receive-pack started with RELAY_STDIO. */
export function relayPush(child: ChildProcess, deps: RelayDeps): void {
  const conversation = child.stdio[3] as Duplex;
  const pusher = child.stdio[4] as Duplex;
  const gone = new AbortController();
  const close = (): void => {
    gone.abort();
    // git's children (a detached `git gc --auto`) hold these descriptors as well: the
    // daemon's ends go with receive-pack.
    conversation.destroy();
    pusher.destroy();
  };
  child.once("exit", close);
  const say = (text: string): void => {
    if (!pusher.destroyed) pusher.write(`${text}\n`);
  };
  answerProcReceive(conversation, conversation, {
    branches: deps.branches,
    say,
    deploy: (update) => relayDeploy(deps, update, say, gone.signal),
    moveRef: (update) => git(deps, updateRefArgs(update)),
  })
    .catch((error: unknown) => {
      // The push breaks off (git sees the conversation end) and says so.
      deps.logger.warn("git push: proc-receive failed", { error: String(error) });
      say(`! the platform failed: ${error instanceof Error ? error.message : String(error)}`);
    })
    .finally(() => {
      pusher.end();
      conversation.end();
    });
  conversation.on("error", () => undefined);
  pusher.on("error", () => undefined);
}

async function relayDeploy(
  deps: RelayDeps,
  update: RefUpdate,
  say: (text: string) => void,
  signal: AbortSignal,
): Promise<HookResult> {
  let result: HookResult | undefined;
  const stage: StageSource = (use) => withArchive(deps, update.newSha, use);
  for await (const line of deps.deploy(update, stage, signal)) {
    const parsed = parseHookLine(line);
    if (parsed.kind === "output") say(parsed.text);
    else if (parsed.kind === "result") result = parsed.result;
  }
  return result ?? { ok: false, reason: "the platform ended the push without a verdict" };
}

/** Stages `git archive --format=tar.gz COMMIT`, then use(path) if git succeeded. */
async function withArchive<T>(
  deps: RelayDeps,
  commit: string,
  use: (path: string) => Promise<T>,
): Promise<T> {
  const child = deps.launcher.launch("git", ["archive", "--format=tar.gz", commit], {
    cwd: deps.repo,
    env: { ...deps.env, GIT_DIR: deps.repo },
  });
  child.stdin.end();
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    if (stderr.length < 4096) stderr += chunk;
  });
  // Read from now on: Node discards the output of a child that exits while nobody reads
  // it (and git archive of a small tree may be done before the staging file is open).
  const archive = child.stdout.pipe(new PassThrough());
  const exited = new Promise<number | null>((resolve) => {
    child.once("error", () => {
      resolve(null);
    });
    child.once("close", resolve);
  });
  const failed = async (): Promise<Error | undefined> => {
    const code = await exited;
    return code === 0
      ? undefined
      : new Error(`git archive of ${commit.slice(0, 12)} failed: ${stderr.trim() || String(code)}`);
  };
  try {
    return await deps.stageArchive(archive, async (path) => {
      const error = await failed();
      if (error !== undefined) throw error;
      return use(path);
    });
  } catch (error) {
    // What git said explains a short or empty archive better than the staging does (an
    // archive over the limit is the staging's to explain: it stopped reading).
    if (error instanceof PayloadTooLargeError) throw error;
    throw (await failed()) ?? error;
  } finally {
    // Staging stopped early (an archive over the limit): git archive has no reader left.
    if (child.exitCode === null) child.kill();
  }
}

/** Runs git in the repository; resolves with its error text, or null when it succeeded. */
async function git(deps: RelayDeps, args: readonly string[]): Promise<string | null> {
  try {
    const done = await runProgram(deps.launcher, "git", args, {
      cwd: deps.repo,
      env: { ...deps.env, GIT_DIR: deps.repo },
      timeoutMs: 60_000,
    });
    return done.code === 0 ? null : done.stderr.trim() || `git exited ${String(done.code)}`;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
