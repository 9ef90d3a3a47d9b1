import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runCli, scratch, type Scratch } from "../test-kit.ts";

const TOKEN = `swt_${"a".repeat(43)}`;

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
      /^!f\(\) \{ test "\$1" = get \|\| exit 0; exec .* git:credential --home .* get; \}; f$/,
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
