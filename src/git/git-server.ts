import { createAdaptorServer } from "@hono/node-server";
import type { ChildProcessByStdio } from "node:child_process";
import { randomBytes } from "node:crypto";
import { access, chmod, mkdir, rename, rm, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { Hono } from "hono";
import { linesBody } from "../api/log-stream.ts";
import { withStreamedUpload, withUpload } from "../api/upload.ts";
import type { App } from "../domain/app.ts";
import type { Logger } from "../domain/logger.ts";
import { ForbiddenError, NotFoundError } from "../domain/errors.ts";
import { principalOf, type Principal } from "../security/permissions.ts";
import type { SshKeyRecord, Store } from "../store/store.ts";
import { authorizedKeyLine, parseSshGitCommand } from "./ssh-command.ts";
import { HOOK_ENV, resultLine } from "./hook-protocol.ts";
import type { GitService } from "./pkt-line.ts";
import {
  DEFAULT_DEPLOY_BRANCHES,
  DEPLOY_BRANCH_SETTING,
  deployBranches,
  encodeBranches,
} from "./deploy-branch.ts";
import { gitApp } from "./git-access.ts";
import { pushProgress, type PushDeployDeps, type PushTimings } from "./push-deploy.ts";
import { RELAY_ENV, RELAY_PIPES, RELAY_SCRIPT, relayPush, type StageSource } from "./push-relay.ts";
import { runProgram, spawnLauncher, type ProcessLauncher } from "../process/launcher.ts";

/** Who pushes, for events and (later) per-app permissions. */
export interface PushActor {
  /** The token's name, or "key ID" for an SSH key. */
  readonly name: string;
  readonly via: "http" | "ssh";
}

/** A git child process with piped stdin, stdout and stderr. */
export type GitChild = ChildProcessByStdio<Writable, Readable, Readable>;

/** What the HTTP remote (src/git/git-http.ts) needs from the git host. */
export interface GitHost {
  /** Runs `git SERVICE ARGS REPO` for app, the repository created first if missing. */
  spawn(
    app: App,
    service: GitService,
    args: readonly string[],
    actor: PushActor,
  ): Promise<GitChild>;
}

export interface GitServerOptions {
  /** Bare repositories, one NAME.git per app. */
  readonly reposDir: string;
  /** The hooks every repository runs (core.hooksPath): only Slipway's proc-receive. */
  readonly hooksDir: string;
  /** Private unix socket the hooks talk to. */
  readonly socketPath: string;
  /** Where pushed archives are staged (same filesystem as the sources). */
  readonly uploadsDir: string;
  /** Limit on the exported source archive (SLIPWAY_MAX_UPLOAD_MB). */
  readonly maxUploadBytes: number;
  /** Limit on one received pack. */
  readonly maxPackBytes: number;
  readonly deploy: PushDeployDeps;
  /** Apps, their deploy branch, SSH keys and the tokens that own them. */
  readonly store: Pick<
    Store,
    "getApp" | "getAppSettings" | "getSshKey" | "findSshKeyByFingerprint" | "getToken"
  >;
  readonly logger: Logger;
  /** The Node.js binary that runs the hook of SSH pushes (the daemon's own). */
  readonly nodePath?: string;
  /**
   * Node's compile cache for the Node.js hook (NODE_COMPILE_CACHE): a cached compile of
   * its TypeScript saves about 0.1 s of every SSH push.
   */
  readonly compileCacheDir?: string;
  readonly timings?: PushTimings;
  /** Starts git for pushes and fetches (the daemon's starts them ahead); default spawn. */
  readonly launcher?: ProcessLauncher;
}

interface PushSession {
  readonly app: App;
  readonly actor: PushActor;
  used: boolean;
}

const COMMIT = /^[0-9a-f]{40}$/;

/**
 * Slipway's git host: bare repositories per app, git processes with Slipway's fixed
 * configuration, and the hook endpoint through which a push becomes a build. Each
 * receive-pack gets a one-time push id in its environment; the hook presents it to deploy,
 * so only a push the daemon authenticated can submit a build, and only for its own app.
 */
export class GitServer implements GitHost {
  readonly #options: GitServerOptions;
  readonly #sessions = new Map<string, PushSession>();
  #server: Server | undefined;

  constructor(options: GitServerOptions) {
    this.#options = options;
  }

  /** Writes the hooks and serves the hook socket (replacing a stale one). */
  async start(): Promise<void> {
    const { reposDir, hooksDir, socketPath } = this.#options;
    await mkdir(reposDir, { recursive: true, mode: 0o700 });
    await mkdir(hooksDir, { recursive: true, mode: 0o700 });
    const node = this.#options.nodePath ?? process.execPath;
    const cache = this.#options.compileCacheDir;
    if (cache !== undefined) await mkdir(cache, { recursive: true, mode: 0o700 });
    const env = cache === undefined ? "" : `NODE_COMPILE_CACHE=${shellQuote(cache)} `;
    // One hook decides every push (an older Slipway also had a pre-receive hook): for
    // HTTPS pushes it relays to the daemon (src/git/push-relay.ts), for SSH pushes it is
    // the Node.js program.
    await rm(join(hooksDir, "pre-receive"), { force: true });
    const path = join(hooksDir, "proc-receive");
    const script = join(import.meta.dirname, "proc-receive.ts");
    await writeFile(
      `${path}.tmp`,
      `#!/bin/sh\n${RELAY_SCRIPT}\n${env}exec ${shellQuote(node)} ${shellQuote(script)}\n`,
      { mode: 0o700 },
    );
    await rename(`${path}.tmp`, path);

    await rm(socketPath, { force: true });
    const server = createAdaptorServer({ fetch: this.#hookApi().fetch }) as Server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socketPath, () => {
        resolve();
      });
    });
    await chmod(socketPath, 0o600);
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    const closed = new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
    // A push in progress holds its connection for the whole build: cut it rather than wait
    // (its hook then refuses the push, and the pusher can push again).
    server.closeAllConnections();
    await closed;
    await rm(this.#options.socketPath, { force: true });
  }

  /** Path of the app's bare repository. */
  repoPath(appName: string): string {
    return join(this.#options.reposDir, `${appName}.git`);
  }

  /** Creates the app's bare repository (branch main) unless it exists; returns its path. */
  async ensureRepo(appName: string): Promise<string> {
    const path = this.repoPath(appName);
    try {
      await access(join(path, "HEAD"));
      return path;
    } catch {
      // Created below; a half-made repository from a crash is replaced.
    }
    const staging = `${path}.${randomBytes(4).toString("hex")}.tmp`;
    await runGit(["init", "--quiet", "--bare", "--initial-branch=main", staging]);
    await rm(path, { recursive: true, force: true });
    await rename(staging, path);
    return path;
  }

  /** Deletes the app's repository (with the app). */
  async removeRepo(appName: string): Promise<void> {
    await rm(this.repoPath(appName), { recursive: true, force: true });
  }

  /** Registers a push of app by actor; returns the environment its receive-pack needs. */
  openSession(
    app: App,
    actor: PushActor,
    branches: readonly string[] = DEFAULT_DEPLOY_BRANCHES,
  ): { id: string; env: Record<string, string> } {
    const id = randomBytes(32).toString("base64url");
    this.#sessions.set(id, { app, actor, used: false });
    return {
      id,
      env: {
        [HOOK_ENV.socket]: this.#options.socketPath,
        [HOOK_ENV.pushId]: id,
        [HOOK_ENV.branches]: encodeBranches(branches),
      },
    };
  }

  /** The branches whose push deploys app (its setting, else main and master). */
  async deployBranchesOf(app: App): Promise<readonly string[]> {
    const settings = await this.#options.store.getAppSettings(app.id);
    return deployBranches(settings[DEPLOY_BRANCH_SETTING]);
  }

  closeSession(id: string): void {
    this.#sessions.delete(id);
  }

  /** The `-c` options every git service of a Slipway repository runs with. */
  gitConfig(): string[] {
    return [
      `core.hooksPath=${this.#options.hooksDir}`,
      "receive.fsckObjects=true",
      "receive.denyDeletes=true",
      "receive.denyNonFastForwards=false",
      `receive.maxInputSize=${String(this.#options.maxPackBytes)}`,
      "receive.advertisePushOptions=false",
      // Every ref goes through Slipway's proc-receive hook
      // (src/git/proc-receive-conversation.ts): it refuses what a push may not do, and
      // moves a deploy branch only when its build succeeded. (One hook, not a pre-receive
      // as well: each was a Node.js start, 0.05 s of every push.)
      "receive.procReceiveRefs=refs/",
      // receive-pack's connectivity check also takes the tips of "alternate" object
      // stores, running `git for-each-ref` on each: while a push is quarantined, the only
      // alternate is this repository itself, whose refs the check already has (--all).
      // `true` answers none without a git start (about a millisecond of every push).
      "core.alternateRefsCommand=true",
      "uploadpack.allowAnySHA1InWant=false",
    ].flatMap((setting) => ["-c", setting]);
  }

  async spawn(
    app: App,
    service: GitService,
    args: readonly string[],
    actor: PushActor,
  ): Promise<GitChild> {
    const repo = await this.ensureRepo(app.name);
    const gitArgs = [...this.gitConfig(), service.slice("git-".length), ...args, repo];
    const launcher = this.#options.launcher ?? spawnLauncher;
    // A push over HTTP asks for the refs first: the build's lookups start then.
    if (service === "git-receive-pack" && args.includes("--advertise-refs")) {
      this.#options.deploy.pushStarting?.(app);
    }
    if (service !== "git-receive-pack" || args.includes("--advertise-refs")) {
      return launcher.launch("git", gitArgs, { env: gitEnv() });
    }
    // A push: the daemon answers its proc-receive hook itself.
    const branches = await this.deployBranchesOf(app);
    const child = launcher.launch("git", gitArgs, {
      pipes: RELAY_PIPES,
      env: { ...gitEnv(), [RELAY_ENV]: "1" },
    });
    relayPush(child, {
      repo,
      branches,
      launcher,
      env: gitEnv(),
      logger: this.#options.logger,
      stageArchive: (archive, use) =>
        withStreamedUpload(archive, this.#options.uploadsDir, this.#options.maxUploadBytes, use),
      deploy: (update, stage, signal) =>
        this.#deploy(app, actor, update.newSha, update.ref, stage, signal),
    });
    return child;
  }

  /**
   * A push's deploy, as the hook protocol's lines: the staged source submitted as a build,
   * then the build's log, release and rollout, then the verdict.
   */
  async *#deploy(
    app: App,
    actor: PushActor,
    commit: string,
    ref: string,
    stage: StageSource,
    signal: AbortSignal,
  ): AsyncGenerator<string> {
    const { deploy, logger } = this.#options;
    let build;
    try {
      build = await stage((path) =>
        deploy.submitBuild(app, path, { commit, createdBy: actor.name }),
      );
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      logger.warn("push refused", { app: app.name, commit, error: message });
      yield resultLine({ ok: false, reason: message });
      return;
    }
    await deploy.addEvent(
      app.id,
      "git.push",
      `${actor.name} pushed ${commit.slice(0, 12)} to ${ref} over ${actor.via}: build ${build.id}`,
    );
    yield* pushProgress(deploy, app, build, signal, this.#options.timings);
  }

  /** sshd's AuthorizedKeysCommand line: prints the key line for fingerprint %f. */
  authorizedKeysCommand(): string {
    return this.#command("ssh-keys-command.ts", [this.#options.socketPath, "%f"]);
  }

  /** The forced command of key keyId. */
  #gitShellCommand(keyId: string): string {
    return this.#command("git-shell.ts", [this.#options.socketPath, keyId]);
  }

  #command(script: string, args: readonly string[]): string {
    const words = [
      this.#options.nodePath ?? process.execPath,
      join(import.meta.dirname, script),
      ...args,
    ];
    // sshd splits these lines on spaces; refuse paths that would need quoting.
    for (const word of words) {
      if (!/^[A-Za-z0-9_./%:=+-]+$/.test(word)) {
        throw new RangeError(`path unusable in an sshd command line: ${word}`);
      }
    }
    return words.join(" ");
  }

  /** Who a key acts as: its token's principal, an admin for keys from before tokens. */
  async #keyPrincipal(key: SshKeyRecord): Promise<Principal | undefined> {
    if (key.tokenId === null) {
      return { tokenId: "", name: key.createdBy ?? "admin", role: "admin", appIds: [] };
    }
    const token = await this.#options.store.getToken(key.tokenId);
    return token === undefined || token.revokedAt !== null ? undefined : principalOf(token);
  }

  #hookApi(): Hono {
    const api = new Hono();
    const { store } = this.#options;

    api.get("/ssh/authorized-keys", async (c) => {
      const key = await store.findSshKeyByFingerprint(c.req.query("fingerprint") ?? "");
      // A key whose token was revoked is as unknown as an unregistered one.
      if (key === undefined || (await this.#keyPrincipal(key)) === undefined) {
        return c.text("", 200);
      }
      return c.text(`${authorizedKeyLine(this.#gitShellCommand(key.id), key.publicKey)}\n`);
    });

    api.post("/ssh/sessions", async (c) => {
      const body = await c.req.json<{ keyId?: unknown; command?: unknown }>();
      const refuse = (message: string): Response => c.json({ ok: false, message });
      const key = typeof body.keyId === "string" ? await store.getSshKey(body.keyId) : undefined;
      if (key === undefined) return refuse("this key is no longer registered");
      const command = typeof body.command === "string" ? body.command : "";
      const parsed = parseSshGitCommand(command);
      if (parsed === undefined) {
        this.#options.logger.warn("ssh command refused", { key: key.id, command });
        return refuse(
          "only git push and fetch are allowed here (no shell). Use: git push ssh://HOST:PORT/APP.git main",
        );
      }
      // A key may do what the token that added it may: admins every app, deploy tokens
      // their own apps; nothing once that token is revoked.
      const principal = await this.#keyPrincipal(key);
      if (principal === undefined) {
        return refuse("the token that added this key was revoked: add the key again");
      }
      let app: App;
      try {
        app = await gitApp(store, principal, parsed.app, parsed.service);
      } catch (error) {
        if (error instanceof ForbiddenError || error instanceof NotFoundError) {
          return refuse(`${error.message} (key ${key.id})`);
        }
        throw error;
      }
      const repo = await this.ensureRepo(app.name);
      const branches = await this.deployBranchesOf(app);
      const session =
        parsed.service === "git-receive-pack"
          ? this.openSession(app, { name: `key ${key.id}`, via: "ssh" }, branches)
          : undefined;
      if (session !== undefined) {
        // An SSH push that never deploys (refused, or broken off) frees its id after an hour.
        setTimeout(() => {
          this.closeSession(session.id);
        }, 3_600_000).unref();
      }
      return c.json({
        ok: true,
        args: [...this.gitConfig(), parsed.service.slice("git-".length), repo],
        env: { ...gitEnv(), ...session?.env },
      });
    });

    api.post("/pushes/:id/deploy", async (c) => {
      const session = this.#sessions.get(c.req.param("id"));
      const commit = c.req.query("commit") ?? "";
      const ref = c.req.query("ref") ?? "";
      const fail = (reason: string): Response =>
        c.text(`${resultLine({ ok: false, reason })}\n`, 200);
      if (session === undefined) return fail("unknown or expired push");
      if (session.used) return fail("this push already deployed");
      if (!COMMIT.test(commit)) return fail("malformed commit id");
      session.used = true;
      const stop = new AbortController();
      const signal = AbortSignal.any([stop.signal, c.req.raw.signal]);
      const stage: StageSource = (use) =>
        withUpload(c.req.raw, this.#options.uploadsDir, this.#options.maxUploadBytes, use);
      const body = await linesBody(
        this.#deploy(session.app, session.actor, commit, ref, stage, signal),
        () => {
          stop.abort();
        },
      );
      return c.body(body, 200, { "Content-Type": "text/plain; charset=utf-8" });
    });
    return api;
  }
}

/** A minimal environment for git: nothing of the daemon's own leaks into hooks. */
function gitEnv(): Record<string, string> {
  return {
    // A fixed system PATH: hooks run on process.execPath, git and its helpers from the system.
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: "/nonexistent",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_TERMINAL_PROMPT: "0",
    LANG: "C.UTF-8",
  };
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}

async function runGit(args: readonly string[]): Promise<void> {
  const done = await runProgram(spawnLauncher, "git", args, { env: gitEnv(), timeoutMs: 60_000 });
  if (done.code !== 0) {
    throw new Error(`git ${args[0] ?? ""} exited ${String(done.code)}: ${done.stderr.trim()}`);
  }
}
