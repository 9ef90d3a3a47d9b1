/**
 * Deploy by git push, end to end on one platform: push the example over HTTPS (token via
 * the credential helper `slipway git:remote` configures) and see it served; push a broken
 * app and see the push rejected with the reason while the old release keeps serving; push
 * over SSH with a registered key; an unregistered key and a shell are refused; a token
 * scoped to another app and a branch that is not a deploy branch are refused with reasons;
 * a push whose waiting build container had died builds in a new one.
 */
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  engineGet,
  engineRequest,
  must,
  startPlatform,
  type CliResult,
  type TestPlatform,
} from "./harness.ts";
import { waitFor } from "./load.ts";

const root = join(import.meta.dirname, "..", "..");
const example = join(root, "examples", "hello-node");
const host = "hello.slipway.localhost";

/** Runs a program in cwd with the platform's environment plus env. */
function run(
  program: string,
  args: readonly string[],
  cwd: string,
  env: Record<string, string>,
): Promise<CliResult> {
  // GIT_SSL_CAINFO (set on machines behind a TLS proxy) would override the per-remote CA
  // that `slipway git:remote` configures: leave it out unless a case sets it.
  const base = { ...process.env };
  delete base.GIT_SSL_CAINFO;
  return new Promise((resolve) => {
    execFile(
      program,
      args,
      { cwd, env: { ...base, GIT_TERMINAL_PROMPT: "0", ...env }, timeout: 900_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe("deploy by git push", { timeout: 1_800_000 }, () => {
  let p: TestPlatform;
  const work = mkdtempSync(join(tmpdir(), "sw-git-e2e-"));
  const repo = join(work, "app");
  const key = join(work, "id_ed25519");
  const stranger = join(work, "stranger");
  const sshOptions = (file: string): string =>
    `ssh -i ${file} -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR`;
  const git = (args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> =>
    run("git", args, repo, { ...p.env, ...env });
  const commit = async (message: string): Promise<void> => {
    await must(git(["add", "-A"]), "git add");
    await must(
      git(["-c", "user.name=test", "-c", "user.email=test@example.com", "commit", "-qm", message]),
      "git commit",
    );
  };

  before(async () => {
    p = await startPlatform();
    await must(p.cli(["apps:create", "hello"]), "apps:create");
    cpSync(example, repo, { recursive: true });
    await must(run("git", ["init", "-q", "--initial-branch=main"], repo, {}), "git init");
    await commit("first");
    for (const file of [key, stranger]) {
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "e2e", "-f", file]);
    }
  });
  after(async () => {
    await p.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("adds the remote with a credential helper, not the token", async () => {
    const added = await must(
      run(
        process.execPath,
        [join(root, "bin", "slipway.js"), "git:remote", "--app", "hello"],
        repo,
        {
          ...p.env,
        },
      ),
      "git:remote",
    );
    assert.match(added.stdout, /git push slipway main/);
    const url = (await must(git(["remote", "get-url", "slipway"]), "get-url")).stdout.trim();
    assert.equal(url, `https://slipway.${p.domain}:${String(p.httpsPort)}/git/hello.git`);
    const config = readFileSync(join(repo, ".git", "config"), "utf8");
    assert.doesNotMatch(config, /swt_/, "the token never lands in .git/config");
    assert.match(config, /git:credential/);
  });

  it("deploys a push over HTTPS, streaming the build as remote: lines", async () => {
    const push = await git(["push", "slipway", "main"]);
    assert.equal(push.code, 0, push.stderr);
    assert.match(push.stderr, /remote: .*Installing node/i);
    assert.match(push.stderr, /remote: -----> v1 is serving/);
    const res = await p.get(host);
    assert.equal(res.status, 200);
    assert.match(res.body, /Hello from Slipway/);
    const head = (await git(["rev-parse", "HEAD"])).stdout.trim();
    const releases = JSON.parse(
      (await must(p.cli(["releases", "--app", "hello", "--json"]), "releases")).stdout,
    ) as { source?: string | null }[];
    assert.equal(releases[0]?.source, head, "the release records the pushed commit");
  });

  it("rejects a push whose build fails; the old release keeps serving", async () => {
    const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    pkg.dependencies["slipway-no-such-package-e2e"] = "9.9.9";
    writeFileSync(join(repo, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
    rmSync(join(repo, "package-lock.json"));
    await commit("broken");
    const push = await git(["push", "slipway", "main"]);
    assert.notEqual(push.code, 0);
    assert.match(push.stderr, /push rejected: build failed/);
    assert.match(push.stderr, /\[remote rejected\] main -> main \(build failed: /);
    const res = await p.get(host);
    assert.match(res.body, /Hello from Slipway/);
    await must(git(["reset", "-q", "--hard", "HEAD~1"]), "git reset");
  });

  it("refuses a push without credentials", async () => {
    const url = (await git(["remote", "get-url", "slipway"])).stdout.trim();
    const push = await git(["-c", "credential.helper=", "push", url, "main"], {
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_SSL_CAINFO: join(p.home, "ca", "ca.pem"),
    });
    assert.notEqual(push.code, 0);
  });

  it("deploys a push over SSH with a registered key", async () => {
    await must(p.cli(["keys:add", `${key}.pub`]), "keys:add");
    const server = readFileSync(join(repo, "server.js"), "utf8");
    writeFileSync(join(repo, "server.js"), server.replace("Hello from Slipway", "Hello over SSH"));
    await commit("ssh");
    const sshPort = p.env.SLIPWAY_SSH_PORT ?? "";
    const push = await git(["push", `ssh://root@127.0.0.1:${sshPort}/hello.git`, "main"], {
      GIT_SSH_COMMAND: sshOptions(key),
    });
    assert.equal(push.code, 0, push.stderr);
    assert.match(push.stderr, /remote: -----> v2 is serving/);
    assert.match((await p.get(host)).body, /Hello over SSH/);
  });

  it("builds the next push in a build container started after the last build", async () => {
    // The last push (over SSH) returned once its release served; the app's build
    // containers made since then wait for the next push. (The one the last build used
    // may still be there: it goes meanwhile.)
    const since = Date.now();
    /** The app's waiting build containers: name and when each was created. */
    const waiting = async (): Promise<{ name: string; created: number }[]> => {
      const all = (await engineGet(p, "/containers/json?all=true")) as {
        Id: string;
        Names: string[];
        Labels: Record<string, string>;
      }[];
      const found: { name: string; created: number }[] = [];
      for (const c of all) {
        const name = c.Names[0]?.replace(/^\//, "") ?? "";
        if (c.Labels["io.slipway.app"] !== "hello" || !name.startsWith("slipway-build-next-")) {
          continue;
        }
        const doc = (await engineGet(p, `/containers/${c.Id}/json`)) as { Created: string };
        found.push({ name, created: Date.parse(doc.Created) });
      }
      return found;
    };
    /** The one waiting container made after `after`, once the older ones are gone. */
    const onlyOneSince = async (after: number): Promise<string | undefined> => {
      const found = await waiting();
      return found.length === 1 && (found[0]?.created ?? 0) > after ? found[0]?.name : undefined;
    };
    await waitFor(
      async () => (await onlyOneSince(since)) !== undefined,
      30_000,
      "a build container waiting for the next push",
    );
    const name = await onlyOneSince(since);
    const server = readFileSync(join(repo, "server.js"), "utf8");
    writeFileSync(join(repo, "server.js"), server.replace("Hello over SSH", "Hello again"));
    await commit("again");
    const pushed = Date.now();
    const push = await git(["push", "slipway", "main"]);
    assert.equal(push.code, 0, push.stderr);
    assert.match(push.stderr, /remote: +In the build container started after the app's last build/);
    assert.match((await p.get(host)).body, /Hello again/);
    // Used by that build only: it goes, and a new one waits in its place.
    await waitFor(
      async () => ![undefined, name].includes(await onlyOneSince(pushed)),
      30_000,
      "the next waiting build container",
    );
  });

  it("builds in a new container when the one waiting for the push had stopped, saying why", async () => {
    // The push before this one left a build container waiting for this one; its runner
    // dies while it waits. Attached to, Podman would initialize it again (Docker's way)
    // and wait for a start that never comes: the build notices and starts over.
    const waitingOne = async (): Promise<string | undefined> => {
      const all = (await engineGet(p, "/containers/json?all=true")) as {
        Id: string;
        Names: string[];
        State: string;
        Labels: Record<string, string>;
      }[];
      const found = all.filter(
        (c) =>
          c.Labels["io.slipway.app"] === "hello" &&
          c.Names[0]?.replace(/^\//, "").startsWith("slipway-build-next-") === true,
      );
      return found.length === 1 && found[0]?.State === "running" ? found[0].Id : undefined;
    };
    await waitFor(
      async () => (await waitingOne()) !== undefined,
      30_000,
      "a waiting build container",
    );
    const id = (await waitingOne()) ?? "";
    await engineRequest(p, "POST", `/containers/${id}/kill?signal=KILL`);
    await waitFor(
      async () =>
        ((await engineGet(p, `/containers/${id}/json`)) as { State: { Status: string } }).State
          .Status === "exited",
      30_000,
      "the waiting build container's exit",
    );
    const server = readFileSync(join(repo, "server.js"), "utf8");
    writeFileSync(join(repo, "server.js"), server.replace("Hello again", "Hello once more"));
    await commit("once more");
    const push = await git(["push", "slipway", "main"]);
    assert.equal(push.code, 0, push.stderr);
    assert.match(
      push.stderr,
      /remote: +! +Warning: the build container stopped before the build began.*; building again in a new build container/,
    );
    assert.match((await p.get(host)).body, /Hello once more/);
  });

  it("refuses an unregistered key and anything but git over SSH", async () => {
    const sshPort = p.env.SLIPWAY_SSH_PORT ?? "";
    const push = await git(["push", `ssh://root@127.0.0.1:${sshPort}/hello.git`, "main"], {
      GIT_SSH_COMMAND: sshOptions(stranger),
    });
    assert.notEqual(push.code, 0);
    assert.match(push.stderr, /Permission denied/);
    const shell = await run(
      "ssh",
      [...sshOptions(key).split(" ").slice(1), "-n", "-p", sshPort, "root@127.0.0.1", "id"],
      work,
      {},
    );
    assert.notEqual(shell.code, 0);
    assert.match(shell.stderr, /only git push and fetch are allowed/);
    assert.doesNotMatch(shell.stdout, /uid=/);
  });

  it("refuses a push with a token scoped to another app, saying why", async () => {
    await must(p.cli(["apps:create", "other"]), "apps:create other");
    const created = await must(
      p.cli(["tokens:create", "--app", "other", "--name", "ci-other", "--json"]),
      "tokens:create",
    );
    const { token } = JSON.parse(created.stdout) as { token: string };
    const url = (await git(["remote", "get-url", "slipway"])).stdout.trim();
    const push = await git(
      ["-c", "credential.helper=", "push", url.replace("https://", `https://ci:${token}@`), "main"],
      { GIT_CONFIG_GLOBAL: "/dev/null", GIT_SSL_CAINFO: join(p.home, "ca", "ca.pem") },
    );
    assert.notEqual(push.code, 0);
    assert.match(
      push.stderr,
      /remote: token "ci-other" is a deploy token limited to its apps: it may not push to app "hello"/,
    );
  });

  it("refuses a branch other than the app's deploy branches, saying which deploy", async () => {
    await must(p.cli(["git:branch", "production", "--app", "hello"]), "git:branch");
    const push = await git(["push", "slipway", "HEAD:refs/heads/feature"]);
    assert.notEqual(push.code, 0);
    assert.match(
      push.stderr,
      /remote: .*deploys only refs\/heads\/main or refs\/heads\/production/,
    );
    await must(p.cli(["git:branch", "--app", "hello", "--reset"]), "git:branch --reset");
  });

  it("lists the pushes as events", async () => {
    const events = await must(p.cli(["events", "--app", "hello"]), "events");
    assert.match(events.stdout, /git\.push/);
  });
});
