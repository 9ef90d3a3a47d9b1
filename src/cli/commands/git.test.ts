import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { runCli, scratch, type Scratch } from "../test-kit.ts";

const TOKEN = `swt_${"a".repeat(43)}`;
const API = "https://slipway.example.com:8443";
const REMOTE_URL = `${API}/git/shop.git`;

/** A credentials file's text for the test API. */
function credentials(token: string): string {
  return JSON.stringify({ token, url: API, socket: null, ca: null });
}

/** The credential helper `git:remote` configured in repo (after the empty reset). */
function helperOf(repo: string): string {
  const helper = execFileSync("git", ["config", "--get-all", `credential.${REMOTE_URL}.helper`], {
    cwd: repo,
    encoding: "utf8",
  }).split("\n")[1];
  assert.ok(helper !== undefined && helper.startsWith("!"));
  return helper.slice(1);
}

/** What the helper answers to git's `get` for host, run by the shell as git runs it. */
function askHelper(
  helper: string,
  env: Readonly<Record<string, string>>,
  host = "slipway.example.com:8443",
): ReturnType<typeof spawnSync> {
  return spawnSync("/bin/sh", ["-c", `${helper} get`], {
    input: `protocol=https\nhost=${host}\n\n`,
    encoding: "utf8",
    env,
  });
}

describe("git:remote and git:credential", () => {
  let dirs: Scratch;
  let home: string;
  before(() => {
    dirs = scratch("sw-cli-git-");
    home = dirs.newDir();
    writeFileSync(
      join(home, "credentials.json"),
      JSON.stringify({
        token: TOKEN,
        url: "https://slipway.example.com:8443",
        socket: null,
        ca: "/etc/slipway/ca.pem",
      }),
      { mode: 0o600 },
    );
  });
  after(() => {
    dirs.remove();
  });

  it("adds the remote, the helper and the CA, never the token", async () => {
    const repo = dirs.newDir();
    execFileSync("git", ["init", "-q", repo]);
    const run = await runCli(dirs, ["git:remote", "--app", "shop", "--json"], {
      SLIPWAY_HOME: home,
      CWD: repo,
    });
    assert.equal(run.code, 0, run.stderr);
    const url = "https://slipway.example.com:8443/git/shop.git";
    assert.deepEqual(JSON.parse(run.stdout), { remote: "slipway", url });
    const git = (...args: string[]): string =>
      execFileSync("git", args, { cwd: repo, encoding: "utf8" }).trim();
    assert.equal(git("remote", "get-url", "slipway"), url);
    const helpers = execFileSync("git", ["config", "--get-all", `credential.${url}.helper`], {
      cwd: repo,
      encoding: "utf8",
    }).split("\n");
    assert.equal(helpers[0], "", "other helpers are not asked for this URL");
    assert.match(
      helpers[1] ?? "",
      /^!f\(\) \{ test "\$1" = get \|\| exit 0; test -f \S+\/credentials\.json && test \S+\/git-credentials -nt \S+\/credentials\.json && exec git credential-store --file=\S+ get; exec .* git:credential --home .* get; \}; f$/,
    );
    // git runs "HELPER store" through the shell after a push: answered without Node.js.
    const store = spawnSync("/bin/sh", ["-c", `${(helpers[1] ?? "").slice(1)} store`], {
      input: "protocol=https\nhost=slipway.example.com:8443\nusername=slipway\npassword=x\n\n",
      encoding: "utf8",
      env: { PATH: "/nonexistent" }, // Not even `test` is looked up: it is the shell's own.
    });
    assert.equal(store.status, 0, store.stderr);
    assert.equal(store.stdout + store.stderr, "");
    assert.equal(git("config", `http.${url}.sslCAInfo`), "/etc/slipway/ca.pem");
    // The CA alone: an empty directory for the others, next to the credentials file.
    const caPath = git("config", `http.${url}.sslCAPath`);
    assert.equal(caPath, join(home, "git-capath"));
    assert.deepEqual(readdirSync(caPath), []);
    assert.doesNotMatch(readFileSync(join(repo, ".git", "config"), "utf8"), /swt_/);

    const again = await runCli(dirs, ["git:remote", "--app", "shop"], {
      SLIPWAY_HOME: home,
      CWD: repo,
    });
    assert.equal(again.code, 0, "running it twice updates the remote");
    const after = execFileSync("git", ["config", "--get-all", `credential.${url}.helper`], {
      cwd: repo,
      encoding: "utf8",
    }).split("\n");
    assert.equal(after.length, 3, "still one reset and one helper");
  });

  it("answers from the token's copy without Node.js, and from the CLI once the credentials change", async () => {
    const local = dirs.newDir();
    const credentialsFile = join(local, "credentials.json");
    writeFileSync(credentialsFile, credentials(TOKEN), { mode: 0o600 });
    const repo = dirs.newDir();
    execFileSync("git", ["init", "-q", repo]);
    const added = await runCli(dirs, ["git:remote", "--app", "shop"], {
      SLIPWAY_HOME: local,
      CWD: repo,
    });
    assert.equal(added.code, 0, added.stderr);
    const copy = join(local, "git-credentials");
    assert.equal(readFileSync(copy, "utf8"), `https://slipway:${TOKEN}@slipway.example.com:8443\n`);
    assert.equal(statSync(copy).mode & 0o777, 0o600);
    const helper = helperOf(repo);
    // The shell and git alone: a PATH with git and no way to start the CLI's Node.js.
    const bin = dirs.newDir();
    symlinkSync(
      execFileSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).trim(),
      join(bin, "git"),
    );
    const fast = askHelper(helper, { PATH: bin, HOME: local });
    assert.equal(fast.stdout, `username=slipway\npassword=${TOKEN}\n`, String(fast.stderr));
    const evil = askHelper(helper, { PATH: bin, HOME: local }, "evil.example.com");
    assert.equal(evil.stdout, "", "only for the API's host");

    // A new token (a new login): the copy is older now, so the CLI answers and rewrites it.
    const renewed = `swt_${"b".repeat(43)}`;
    await sleep(20);
    writeFileSync(credentialsFile, credentials(renewed), { mode: 0o600 });
    const slow = askHelper(helper, { PATH: `${bin}:${String(process.env.PATH)}`, HOME: local });
    assert.equal(slow.stdout, `username=slipway\npassword=${renewed}\n`, String(slow.stderr));
    assert.equal(
      readFileSync(copy, "utf8"),
      `https://slipway:${renewed}@slipway.example.com:8443\n`,
    );
    const again = askHelper(helper, { PATH: bin, HOME: local });
    assert.equal(again.stdout, `username=slipway\npassword=${renewed}\n`, "the copy again");

    // The credentials gone (even where /bin/sh is bash, whose -nt holds then): no answer.
    rmSync(credentialsFile);
    const gone = spawnSync("/bin/bash", ["-c", `${helper} get`], {
      input: "protocol=https\nhost=slipway.example.com:8443\n\n",
      encoding: "utf8",
      env: { PATH: `${bin}:${String(process.env.PATH)}`, HOME: local },
    });
    assert.doesNotMatch(gone.stdout, /password=/);
  });

  it("stops answering from the local installation's copy once somebody logs in", async () => {
    const local = join(dirs.root, "no-local-install"); // runCli's local installation
    mkdirSync(local, { recursive: true });
    writeFileSync(join(local, "credentials.json"), credentials(TOKEN), { mode: 0o600 });
    const home = dirs.newDir();
    const repo = dirs.newDir();
    execFileSync("git", ["init", "-q", repo]);
    const added = await runCli(dirs, ["git:remote", "--app", "shop"], { HOME: home, CWD: repo });
    assert.equal(added.code, 0, added.stderr);
    const helper = helperOf(repo);
    const env = { PATH: String(process.env.PATH), HOME: home };
    assert.equal(askHelper(helper, env).stdout, `username=slipway\npassword=${TOKEN}\n`);

    const login = `swt_${"c".repeat(43)}`;
    mkdirSync(join(home, ".config", "slipway"), { recursive: true });
    writeFileSync(join(home, ".config", "slipway", "credentials.json"), credentials(login));
    const answer = askHelper(helper, env).stdout;
    assert.equal(answer, `username=slipway\npassword=${login}\n`, "the login's token");
  });

  it("refuses outside a git repository", async () => {
    const run = await runCli(dirs, ["git:remote", "--app", "shop"], {
      SLIPWAY_HOME: home,
      CWD: dirs.newDir(),
    });
    assert.notEqual(run.code, 0);
  });

  it("hands the token only to the API's host over https", async () => {
    const ask = (input: string, op = "get"): ReturnType<typeof runCli> =>
      runCli(dirs, ["git:credential", op], { SLIPWAY_HOME: home }, input);
    const ok = await ask("protocol=https\nhost=slipway.example.com:8443\npath=git/shop.git\n\n");
    assert.equal(ok.stdout, `username=slipway\npassword=${TOKEN}\n`);
    for (const input of [
      "protocol=https\nhost=evil.example.com\n\n",
      "protocol=http\nhost=slipway.example.com:8443\n\n",
      "protocol=https\nhost=slipway.example.com\n\n",
    ]) {
      assert.equal((await ask(input)).stdout, "", input);
    }
    assert.equal(
      (await ask("protocol=https\nhost=slipway.example.com:8443\n\n", "store")).stdout,
      "",
    );
  });
});
