/**
 * The HTTP remote with real git on both sides: a GitServer (real repositories, hook and
 * hook socket) behind gitHttpRoutes on a loopback port, and a fake build pipeline.
 */
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createAdaptorServer } from "@hono/node-server";
import { Hono } from "hono";
import type { App } from "../domain/app.ts";
import type { Build } from "../domain/build.ts";
import type { Release } from "../domain/release.ts";
import { silentLogger } from "../domain/logger.ts";
import { generateToken, hashToken } from "../security/tokens.ts";
import { SqliteStore } from "../store/sqlite/sqlite-store.ts";
import { DEPLOY_BRANCH_SETTING } from "./deploy-branch.ts";
import { gitHttpRoutes } from "./git-http.ts";
import { GitServer } from "./git-server.ts";
import { Launcher, type ProcessLauncher } from "../process/launcher.ts";
import { parseSshPublicKey } from "./ssh-key.ts";
import { startSshd, stopSshd } from "./sshd.ts";

interface Run {
  code: number;
  out: string;
}

function git(cwd: string, args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      "git",
      args,
      { cwd, env: { ...process.env, GIT_TERMINAL_PROMPT: "0", ...env } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
        resolve({ code, out: `${stdout}${stderr}` });
      },
    );
  });
}

describe("git smart-HTTP remote", { timeout: 60_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), "sw-git-"));
  const store = new SqliteStore(":memory:");
  const secret = generateToken();
  const submitted: { commit: string | undefined; bytes: number }[] = [];
  let failNext = false;
  let app: App;
  let server: Server;
  let git1: GitServer;
  let base: string;
  // The daemon's way to start git: shells started ahead. Records each git command.
  const shells = new Launcher({ size: 8, refillDelayMs: 60_000 });
  const launched: string[] = [];
  const pushesStarted: string[] = [];
  const launcher: ProcessLauncher = {
    launch(command, args, options) {
      const subcommand = args.find((arg, i) => arg !== "-c" && args[i - 1] !== "-c");
      launched.push(
        `${command} ${subcommand ?? ""}${args.includes("--advertise-refs") ? " --advertise-refs" : ""}`,
      );
      return shells.launch(command, args, options);
    },
  };
  const work = join(root, "work");

  before(async () => {
    app = await store.createApp("hello");
    await store.createToken({
      id: "tok_1",
      name: "admin",
      hash: hashToken(secret),
      scopes: ["admin"],
    });
    const builds = new Map<string, Build>();
    git1 = new GitServer({
      reposDir: join(root, "repos"),
      hooksDir: join(root, "hooks"),
      socketPath: join(root, "hook.sock"),
      uploadsDir: root,
      maxUploadBytes: 1024 * 1024,
      maxPackBytes: 4 * 1024 * 1024,
      logger: silentLogger,
      store,
      compileCacheDir: join(root, "node-cache"),
      launcher,
      timings: { settleMs: 1000, rolloutMs: 1000, pollMs: 10 },
      deploy: {
        async submitBuild(a, path, options) {
          const { size } = await import("node:fs/promises").then((fs) => fs.stat(path));
          submitted.push({ commit: options.commit, bytes: size });
          const failed = failNext;
          failNext = false;
          const build: Build = {
            id: `bld_${String(submitted.length)}`,
            appId: a.id,
            status: failed ? "failed" : "succeeded",
            sourceChecksum: "sha256:x",
            createdAt: "",
            finishedAt: "",
            error: failed ? "npm install failed" : null,
            releaseId: failed ? null : "rel_1",
          };
          builds.set(build.id, build);
          return build;
        },
        async *buildLog(build) {
          await Promise.resolve();
          yield `-----> building ${build.id}`;
        },
        getBuild: (id) => Promise.resolve(builds.get(id)),
        getRelease: () => Promise.resolve({ version: 7 } as Release),
        rollout: () => Promise.resolve({ desired: 7, serving: 7 }),
        addEvent: (appId, type, message) => store.addEvent(appId, type, message),
        pushStarting: (a) => pushesStarted.push(a.name),
      },
    });
    await git1.start();
    const api = new Hono().route("/git", gitHttpRoutes({ store, git: git1 }));
    server = createAdaptorServer({ fetch: api.fetch }) as Server;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    base = `http://127.0.0.1:${String(port)}/git`;

    await git(root, ["init", "--quiet", "--initial-branch=main", work]);
    writeFileSync(join(work, "index.js"), "console.log('v1')\n");
    await git(work, ["add", "."]);
    await git(work, ["-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "v1"]);
  });

  after(async () => {
    shells.close();
    await stopSshd(join(root, "ssh"), root);
    await git1.stop();
    await new Promise((resolve) => server.close(resolve));
    await store.close();
    rmSync(root, { recursive: true, force: true });
  });

  const remote = (password = secret): string =>
    base.replace("//", `//git:${password}@`) + "/hello.git";

  it("refuses a push without credentials with 401", async () => {
    const run = await git(work, ["push", `${base}/hello.git`, "main"]);
    assert.notEqual(run.code, 0);
    assert.match(run.out, /could not read Username|Authentication failed|401/);
    const res = await fetch(`${base}/hello.git/info/refs?service=git-receive-pack`);
    assert.equal(res.status, 401);
    assert.match(res.headers.get("www-authenticate") ?? "", /^Basic/);
    assert.match(await res.text(), /API token as the password/);
  });

  it("refuses a wrong token", async () => {
    const run = await git(work, ["push", remote(generateToken()), "main"]);
    assert.notEqual(run.code, 0);
    assert.equal(submitted.length, 0);
  });

  it("answers 403 to a token that may not deploy", async () => {
    const reader = generateToken();
    await store.createToken({ id: "tok_2", name: "reader", hash: hashToken(reader), scopes: [] });
    const res = await fetch(`${base}/hello.git/info/refs?service=git-receive-pack`, {
      headers: { authorization: `Basic ${Buffer.from(`x:${reader}`).toString("base64")}` },
    });
    assert.equal(res.status, 403);
    assert.match(await res.text(), /token "reader" has no role: it may not push to app "hello"/);
  });

  it("answers 404 for an unknown app", async () => {
    const res = await fetch(`${base}/nope.git/info/refs?service=git-receive-pack`, {
      headers: { authorization: `Basic ${Buffer.from(`x:${secret}`).toString("base64")}` },
    });
    assert.equal(res.status, 404);
  });

  it("deploys a push of main, streaming the build log as remote: lines", async () => {
    const run = await git(work, ["push", remote(), "main"]);
    assert.equal(run.code, 0, run.out);
    assert.match(run.out, /remote: -----> building bld_1/);
    assert.match(run.out, /remote: -----> v7 is serving/);
    const head = (await git(work, ["rev-parse", "HEAD"])).out.trim();
    assert.equal(submitted[0]?.commit, head);
    const moved = (await git(work, ["ls-remote", remote(), "refs/heads/main"])).out;
    assert.match(moved, new RegExp(`^${head}`), "the branch moved after the build");
    assert.ok(submitted.length === 1 && submitted[0].bytes > 0);
    const events = await store.listEvents(app.id, 10);
    assert.ok(events.some((e) => e.type === "git.push" && e.message.includes(head.slice(0, 12))));
    // The daemon answered git itself: the hook only relayed, and no Node.js hook started
    // (it would have filled its compile cache).
    assert.deepEqual(readdirSync(join(root, "node-cache")), [], "no Node.js hook ran");
    // Every git command of the push came from a shell started ahead.
    for (const command of [
      "git receive-pack --advertise-refs",
      "git receive-pack",
      "git archive",
      "git update-ref",
    ]) {
      assert.ok(launched.includes(command), `${command} in ${launched.join(", ")}`);
    }
    assert.ok(shells.ready < 8, "the started shells ran them");
    // The platform heard of the push when git asked for the refs, before the pack came.
    assert.deepEqual(pushesStarted, ["hello"]);
  });

  it("rejects the push when the build fails and leaves the branch where it was", async () => {
    const before = (await git(work, ["rev-parse", "HEAD"])).out.trim();
    writeFileSync(join(work, "index.js"), "console.log('v2')\n");
    await git(work, ["-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qam", "v2"]);
    failNext = true;
    const run = await git(work, ["push", remote(), "main"]);
    assert.notEqual(run.code, 0);
    assert.match(run.out, /build failed: npm install failed/);
    assert.match(run.out, /\[remote rejected\] main -> main \(build failed: npm install failed\)/);
    const remoteHead = (await git(work, ["ls-remote", remote(), "refs/heads/main"])).out;
    assert.match(remoteHead, new RegExp(`^${before}`));
  });

  it("refuses other branches, tags and deleting main", async () => {
    const count = submitted.length;
    const other = await git(work, ["push", remote(), "main:feature"]);
    assert.notEqual(other.code, 0);
    assert.match(other.out, /remote: .*deploys only refs\/heads\/main or refs\/heads\/master/);
    const deletion = await git(work, ["push", remote(), ":main"]);
    assert.notEqual(deletion.code, 0);
    assert.match(deletion.out, /deletion prohibited|deleting the deploy branch/);
    await git(work, ["tag", "-f", "v1"]);
    const tag = await git(work, ["push", remote(), "v1"]);
    assert.notEqual(tag.code, 0);
    assert.match(tag.out, /\[remote rejected\] v1 -> v1 \(refs\/tags\/v1: this app deploys only/);
    // Refused whole: the deploy branch does not move along with a refused ref.
    const both = await git(work, ["push", remote(), "main", "main:feature"]);
    assert.notEqual(both.code, 0);
    assert.match(both.out, /\[remote rejected\] main -> main/);
    const refs = (await git(work, ["ls-remote", remote()])).out;
    assert.doesNotMatch(refs, /refs\/(tags\/v1|heads\/feature)/);
    assert.equal(submitted.length, count);
  });

  it("refuses a source archive over the upload limit, building nothing", async () => {
    const count = submitted.length;
    writeFileSync(join(work, "big.bin"), randomBytes(1536 * 1024));
    await git(work, ["add", "big.bin"]);
    await git(work, ["-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "big"]);
    const run = await git(work, ["push", remote(), "main"]);
    assert.notEqual(run.code, 0);
    assert.match(run.out, /exceeds the limit of 1048576 bytes/);
    assert.equal(submitted.length, count);
    await git(work, ["reset", "-q", "--hard", "HEAD~1"]);
  });

  it("deploys any branch pushed to main, and clones back", async () => {
    const run = await git(work, ["push", remote(), "HEAD:refs/heads/main"]);
    assert.equal(run.code, 0, run.out);
    const clone = await git(root, ["clone", "--quiet", remote(), join(root, "clone")]);
    assert.equal(clone.code, 0, clone.out);
  });

  /** A deploy token limited to the named apps; returns its secret. */
  async function deployToken(id: string, apps: readonly App[]): Promise<string> {
    const token = generateToken();
    await store.createToken({
      id,
      name: id,
      hash: hashToken(token),
      scopes: ["deploy"],
      apps: apps.map((a) => a.id),
    });
    return token;
  }

  async function commit(text: string): Promise<void> {
    writeFileSync(join(work, "index.js"), `console.log('${text}')\n`);
    await git(work, ["-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qam", text]);
  }

  it("refuses a deploy token scoped to another app, with a remote: line", async () => {
    const other = await store.createApp("other");
    const token = await deployToken("tok_other", [other]);
    await commit("scoped");
    const count = submitted.length;
    const run = await git(work, ["push", remote(token), "main"]);
    assert.notEqual(run.code, 0);
    assert.match(
      run.out,
      /remote: token "tok_other" is a deploy token limited to its apps: it may not push to app "hello"/,
    );
    // Fetching is refused too, and a missing app looks the same as another's.
    assert.notEqual((await git(root, ["ls-remote", remote(token)])).code, 0);
    const res = await fetch(`${base}/nope.git/info/refs?service=git-upload-pack`, {
      headers: { authorization: `Basic ${Buffer.from(`x:${token}`).toString("base64")}` },
    });
    assert.equal(res.status, 403);
    assert.equal(submitted.length, count);
  });

  it("deploys a push with a deploy token of the app", async () => {
    const token = await deployToken("tok_hello", [app]);
    const run = await git(work, ["push", remote(token), "main"]);
    assert.equal(run.code, 0, run.out);
    const head = (await git(work, ["rev-parse", "HEAD"])).out.trim();
    assert.equal(submitted.at(-1)?.commit, head);
  });

  it("deploys the app's configured branch and main, and refuses the others", async () => {
    await store.setAppSetting(app.id, DEPLOY_BRANCH_SETTING, "production");
    try {
      await commit("production");
      const run = await git(work, ["push", remote(), "HEAD:refs/heads/production"]);
      assert.equal(run.code, 0, run.out);
      const head = (await git(work, ["rev-parse", "HEAD"])).out.trim();
      assert.equal(submitted.at(-1)?.commit, head);
      const count = submitted.length;
      await commit("master");
      const master = await git(work, ["push", remote(), "HEAD:refs/heads/master"]);
      assert.notEqual(master.code, 0);
      assert.match(
        master.out,
        /remote: .*deploys only refs\/heads\/main or refs\/heads\/production.*git push slipway master:main/,
      );
      assert.equal(submitted.length, count);
      const main = await git(work, ["push", remote(), "HEAD:refs/heads/main"]);
      assert.equal(main.code, 0, main.out);
      assert.equal(submitted.length, count + 1);
    } finally {
      await store.setAppSetting(app.id, DEPLOY_BRANCH_SETTING, null);
    }
  });

  describe("over SSH", () => {
    let sshPort = 0;
    const keyFile = join(root, "id_ed25519");
    const strangerFile = join(root, "stranger");
    const scopedFile = join(root, "scoped");
    const sshUrl = (): string => `ssh://root@127.0.0.1:${String(sshPort)}/hello.git`;
    const sshEnv = (key: string): { GIT_SSH_COMMAND: string } => ({
      GIT_SSH_COMMAND: `ssh -i ${key} -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR`,
    });

    before(async () => {
      const probe = createAdaptorServer({ fetch: () => new Response() }) as Server;
      await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
      sshPort = (probe.address() as AddressInfo).port;
      await new Promise((resolve) => probe.close(resolve));
      for (const file of [keyFile, strangerFile, scopedFile]) {
        await git(root, ["version"]);
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", file]);
      }
      const key = parseSshPublicKey(readFileSync(`${keyFile}.pub`, "utf8"));
      await store.addSshKey({
        id: "key_1",
        name: "test",
        fingerprint: key.fingerprint,
        publicKey: key.publicKey,
        createdBy: "admin",
      });
      // A key added under a deploy token of another app: it may push there only.
      const other = await store.createApp("other-ssh");
      await deployToken("tok_ssh", [other]);
      const scoped = parseSshPublicKey(readFileSync(`${scopedFile}.pub`, "utf8"));
      await store.addSshKey({
        id: "key_2",
        name: "scoped",
        fingerprint: scoped.fingerprint,
        publicKey: scoped.publicKey,
        createdBy: "tok_ssh",
        tokenId: "tok_ssh",
      });
      await startSshd({
        stateDir: join(root, "ssh"),
        runDir: root,
        port: sshPort,
        bindAddress: "127.0.0.1",
        authorizedKeysCommand: git1.authorizedKeysCommand(),
        logger: silentLogger,
      });
    });

    it("deploys a push with a registered key, streaming the log", async () => {
      writeFileSync(join(work, "index.js"), "console.log('v3')\n");
      await git(work, ["-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qam", "v3"]);
      const run = await git(work, ["push", sshUrl(), "main"], sshEnv(keyFile));
      assert.equal(run.code, 0, run.out);
      assert.match(run.out, /remote: -----> building/);
      const head = (await git(work, ["rev-parse", "HEAD"])).out.trim();
      assert.equal(submitted.at(-1)?.commit, head);
      const events = await store.listEvents(app.id, 10);
      assert.ok(events.some((e) => e.message.includes("key key_1") && e.message.includes("ssh")));
      // The git shell starts receive-pack: its hook is the Node.js one, with the compile cache.
      assert.ok(readdirSync(join(root, "node-cache")).length > 0, "the hook filled the cache");
    });

    it("refuses a key whose token may not deploy the app, then one whose token is revoked", async () => {
      const count = submitted.length;
      const run = await git(work, ["push", sshUrl(), "main"], sshEnv(scopedFile));
      assert.notEqual(run.code, 0);
      assert.match(run.out, /deploy token limited to its apps: it may not push to app "hello"/);
      await store.revokeToken("tok_ssh");
      const revoked = await git(work, ["push", sshUrl(), "main"], sshEnv(scopedFile));
      assert.notEqual(revoked.code, 0);
      assert.match(revoked.out, /Permission denied/);
      assert.equal(submitted.length, count);
    });

    it("refuses a key that is not registered", async () => {
      const run = await git(work, ["push", sshUrl(), "main"], sshEnv(strangerFile));
      assert.notEqual(run.code, 0);
      assert.match(run.out, /Permission denied/);
    });

    it("refuses a shell, other commands and a pty", async () => {
      // Asynchronous: the hook socket that answers sshd lives in this very process.
      const ssh = (args: readonly string[]): Promise<Run> =>
        new Promise((resolve) => {
          const options = sshEnv(keyFile).GIT_SSH_COMMAND.split(" ").slice(1);
          execFile(
            "ssh",
            [...options, "-n", "-p", String(sshPort), "root@127.0.0.1", ...args],
            (error, stdout, stderr) => {
              resolve({ code: error === null ? 0 : 1, out: `${stdout}${stderr}` });
            },
          );
        });
      for (const command of [[], ["id"], ["git-receive-pack '../etc.git'"], ["sh", "-c", "id"]]) {
        const run = await ssh(command);
        assert.notEqual(run.code, 0, `${command.join(" ")}: ${run.out}`);
        assert.match(run.out, /only git push and fetch are allowed/);
        assert.doesNotMatch(run.out, /uid=/);
      }
    });
  });
});
