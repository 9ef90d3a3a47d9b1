import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, beforeEach, describe, it } from "node:test";
import { generateToken } from "../security/tokens.ts";
import {
  install as installIn,
  runCli,
  scratch,
  sourceDir as makeSourceDir,
  type CliRun,
  type Installation,
  type InstallOptions,
} from "./test-kit.ts";

const dirs = scratch("slipway-cli-");
after(() => {
  dirs.remove();
});
const newDir = (): string => dirs.newDir();
const run = (argv: string[], env: Record<string, string> = {}, stdin = ""): Promise<CliRun> =>
  runCli(dirs, argv, env, stdin);
const sourceDir = (): string => makeSourceDir(dirs);
const install = (options?: InstallOptions): Promise<Installation> => installIn(dirs, options);
const socketOf = (installation: Installation): string =>
  installation.socket ?? assert.fail("the installation serves no socket");

describe("slipway CLI against a live API on a unix socket", () => {
  let slipway: Installation;
  let home: string[];
  beforeEach(async () => {
    slipway = await install();
    home = ["--home", slipway.home];
  });
  afterEach(async () => {
    await slipway.close();
  });

  describe("apps", () => {
    it("lists, creates, shows and destroys apps", async () => {
      assert.match((await run(["apps", ...home])).stdout, /No apps yet/);

      const created = await run(["apps:create", "shop", ...home]);
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stdout, /Created shop/);
      await run(["apps:create", "blog", ...home]);

      const listed = await run(["apps", ...home]);
      assert.equal(listed.code, 0);
      const lines = listed.stdout.trimEnd().split("\n");
      assert.match(lines[0] ?? "", /^NAME {2}CREATED$/);
      assert.match(lines[1] ?? "", /^blog {2}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.match(lines[2] ?? "", /^shop {2}/);

      const json = await run(["apps", "--json", ...home]);
      const apps = JSON.parse(json.stdout) as { name: string }[];
      assert.deepEqual(
        apps.map((app) => app.name),
        ["blog", "shop"],
      );

      const info = await run(["apps:info", "shop", ...home]);
      assert.equal(info.code, 0, info.stderr);
      assert.match(info.stdout, /^Name: +shop$/m);
      assert.match(info.stdout, /^Release: +none yet$/m);

      const destroyed = await run(["apps:destroy", "shop", "--confirm", "shop", ...home]);
      assert.equal(destroyed.code, 0, destroyed.stderr);
      assert.deepEqual(slipway.deps.calls.destroyed, ["shop"]);
    });

    it("reads SLIPWAY_HOME when --home is absent", async () => {
      const result = await run(["apps"], { SLIPWAY_HOME: slipway.home });
      assert.equal(result.code, 0, result.stderr);
    });

    it("prints the API's detail and exits 1 on an invalid or duplicate name", async () => {
      const invalid = await run(["apps:create", "Bad_Name", ...home]);
      assert.equal(invalid.code, 1);
      assert.match(invalid.stderr, /^slipway: invalid app name: use 3-30 lowercase letters/);
      await run(["apps:create", "shop", ...home]);
      const duplicate = await run(["apps:create", "shop", ...home]);
      assert.equal(duplicate.code, 1);
      assert.equal(duplicate.stderr, 'slipway: app "shop" already exists\n');
    });

    it("exits 1 with the API's message for an unknown app", async () => {
      const result = await run(["apps:info", "nope", ...home]);
      assert.equal(result.code, 1);
      assert.equal(result.stderr, 'slipway: app "nope" does not exist\n');
    });

    it("asks for confirmation before destroying", async () => {
      await run(["apps:create", "shop", ...home]);
      const unconfirmed = await run(["apps:destroy", "shop", ...home]);
      assert.equal(unconfirmed.code, 2);
      assert.match(unconfirmed.stderr, /--confirm shop/);
      const wrong = await run(["apps:destroy", "shop", "--confirm", "shoe", ...home]);
      assert.equal(wrong.code, 2);
      assert.deepEqual(slipway.deps.calls.destroyed, []);
      const yes = await run(["apps:destroy", "shop", "--yes", "--json", ...home]);
      assert.equal(yes.code, 0);
      assert.deepEqual(JSON.parse(yes.stdout), { name: "shop", destroyed: true });
    });
  });

  describe("deploy", () => {
    beforeEach(async () => {
      await slipway.store.createApp("shop");
    });

    it("uploads the directory, streams the log and reports the release", async () => {
      const result = await run(["deploy", sourceDir(), "--app", "shop", ...home]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(
        result.stdout,
        "-----> Detecting buildpack\n-----> Node.js app detected\n-----> Done\nReleased shop v1; rolling it out\nv1 is serving\n",
      );
      assert.match(
        result.stderr,
        /^Uploading .*\.\.\.\nUploaded .* \(\d+(\.\d)? (B|KiB)\)\nBuild bld_\w+ started\n$/,
      );

      const upload = slipway.deps.calls.submitted[0];
      assert.ok(upload);
      const archive = join(newDir(), "upload.tar.gz");
      writeFileSync(archive, upload.bytes);
      const names = execFileSync("tar", ["-tzf", archive], { encoding: "utf8" })
        .split("\n")
        .filter(Boolean);
      assert.deepEqual(names, ["package.json", "server.js"]);
    });

    it("deploys the current directory by default", async () => {
      const dir = sourceDir();
      const result = await run(["deploy", "-a", "shop", ...home], { CWD: dir });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /^Uploading \.\.\.\./);
    });

    it("prints the build and release as JSON with --json, the log on stderr", async () => {
      const result = await run(["deploy", sourceDir(), "--app", "shop", "--json", ...home]);
      assert.equal(result.code, 0, result.stderr);
      const body = JSON.parse(result.stdout) as {
        build: { status: string; releaseId: string };
        release: { id: string; version: number };
      };
      assert.equal(body.build.status, "succeeded");
      assert.equal(body.release.version, 1);
      assert.equal(body.release.id, body.build.releaseId);
      assert.match(result.stderr, /-----> Done/);
    });

    it("lists builds and prints the newest build's log", async () => {
      await run(["deploy", sourceDir(), "--app", "shop", ...home]);
      const list = await run(["builds", "--app", "shop", "--json", ...home]);
      assert.equal(list.code, 0, list.stderr);
      const [build] = JSON.parse(list.stdout) as { id: string; status: string }[];
      assert.equal(build?.status, "succeeded");
      const table = await run(["builds", "--app", "shop", ...home]);
      assert.match(table.stdout, /^ID +CREATED +STATUS/);
      const newest = await run(["builds:log", "--app", "shop", ...home]);
      assert.equal(newest.code, 0, newest.stderr);
      assert.match(newest.stdout, /-----> Node\.js app detected/);
      const byId = await run(["builds:log", build.id, "--app", "shop", ...home]);
      assert.equal(byId.stdout, newest.stdout);
      const missing = await run(["builds:log", "bld_nope", "--app", "shop", ...home]);
      assert.equal(missing.code, 1);
    });

    it("exits 1 with the API's message for an unknown app", async () => {
      const result = await run(["deploy", sourceDir(), "--app", "nope", ...home]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /slipway: app "nope" does not exist\n$/);
    });

    it("requires --app", async () => {
      const result = await run(["deploy", sourceDir(), ...home]);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /missing flag --app NAME/);
    });
  });

  describe("releases and ps", () => {
    it("show tables and an empty-state message", async () => {
      const app = await slipway.store.createApp("shop");
      assert.match((await run(["releases", "--app", "shop", ...home])).stdout, /no releases yet/);
      assert.match((await run(["ps", "--app", "shop", ...home])).stdout, /No processes of shop/);
      await slipway.store.createRelease({
        appId: app.id,
        imageDigest: `sha256:${"ab".repeat(32)}`,
        imageRef: "x",
        buildId: null,
        processTypes: { web: "node server.js" },
        stack: "debian-12@1",
        buildpacks: ["nodejs"],
        description: "first deploy",
      });
      const releases = await run(["releases", "--app", "shop", ...home]);
      assert.match(
        releases.stdout,
        /^VERSION {2}CREATED {15}STATUS {5}IMAGE {16}SOURCE {2}BUILDPACKS {2}STACK {8}BY {2}DESCRIPTION$/m,
      );
      assert.match(
        releases.stdout,
        /^ {5}v1 {2}\S+Z {2}succeeded {2}sha256:abababababab {2}- {7}nodejs {6}debian-12@1 {2}- {3}first deploy$/m,
      );
    });
  });

  describe("errors", () => {
    it("exits 2 on an unknown command or flag", async () => {
      const command = await run(["deplyo", ...home]);
      assert.equal(command.code, 2);
      assert.match(command.stderr, /unknown command "deplyo"; did you mean "deploy"\?/);
      const flag = await run(["apps", "--all", ...home]);
      assert.equal(flag.code, 2);
      assert.match(
        flag.stderr,
        /unknown flag --all for "apps"\nRun 'slipway apps --help' for usage\.\n$/,
      );
    });

    it("exits 1 when there are no credentials", async () => {
      const result = await run(["apps", "--home", newDir()]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /no credentials at .*credentials\.json/);
      const notLoggedIn = await run(["apps"], { XDG_CONFIG_HOME: newDir() });
      assert.equal(notLoggedIn.code, 1);
      assert.match(notLoggedIn.stderr, /not logged in/);
    });

    it("exits 1 with a hint when the daemon is not running", async () => {
      const dead = newDir();
      writeFileSync(
        join(dead, "credentials.json"),
        JSON.stringify({
          token: generateToken(),
          url: null,
          socket: join(dead, "gone.sock"),
          ca: null,
        }),
      );
      const result = await run(["apps", "--home", dead]);
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /cannot reach the Slipway API at .*gone\.sock.*is the Slipway daemon running/,
      );
    });
  });

  describe("login", () => {
    it("checks the token, saves credentials 0600 and uses them afterwards", async () => {
      const config = newDir();
      const env = { XDG_CONFIG_HOME: config };
      const result = await run(
        ["login", `unix:${socketOf(slipway)}`, "--token", slipway.token],
        env,
      );
      assert.equal(result.code, 0, result.stderr);
      const path = join(config, "slipway", "credentials.json");
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.equal(statSync(join(config, "slipway")).mode & 0o777, 0o700);
      assert.deepEqual(JSON.parse(readFileSync(path, "utf8")), {
        token: slipway.token,
        ca: null,
        url: null,
        socket: slipway.socket,
      });
      await slipway.store.createApp("shop");
      const apps = await run(["apps"], env);
      assert.equal(apps.code, 0, apps.stderr);
      assert.match(apps.stdout, /shop/);
    });

    it("reads the token from stdin with --token -", async () => {
      const config = newDir();
      const result = await run(
        ["login", `unix:${socketOf(slipway)}`, "--token", "-"],
        { XDG_CONFIG_HOME: config },
        `${slipway.token}\n`,
      );
      assert.equal(result.code, 0, result.stderr);
    });

    it("refuses a token the API does not know, and saves nothing", async () => {
      const config = newDir();
      const result = await run(["login", `unix:${socketOf(slipway)}`, "--token", generateToken()], {
        XDG_CONFIG_HOME: config,
      });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /refused this token/);
      assert.throws(() => statSync(join(config, "slipway", "credentials.json")));
    });

    it("logout removes the login and git's copies of it, and says so when there is none", async () => {
      const config = newDir();
      const env = { XDG_CONFIG_HOME: config };
      const login = await run(
        ["login", `unix:${socketOf(slipway)}`, "--token", slipway.token],
        env,
      );
      assert.equal(login.code, 0, login.stderr);
      const dir = join(config, "slipway");
      // What `slipway git:remote` keeps next to the login for git.
      writeFileSync(join(dir, "git-credentials"), "https://slipway:x@example.com\n");
      mkdirSync(join(dir, "git-capath"));
      const other = join(dir, "unrelated.txt");
      writeFileSync(other, "kept\n");

      const out = await run(["logout", "--json"], env);
      assert.equal(out.code, 0, out.stderr);
      assert.deepEqual((JSON.parse(out.stdout) as { removed: string[] }).removed.sort(), [
        join(dir, "credentials.json"),
        join(dir, "git-capath"),
        join(dir, "git-credentials"),
      ]);
      for (const name of ["credentials.json", "git-credentials", "git-capath"]) {
        assert.throws(() => statSync(join(dir, name)), name);
      }
      assert.equal(readFileSync(other, "utf8"), "kept\n");
      const apps = await run(["apps"], env);
      assert.equal(apps.code, 1);
      assert.match(apps.stderr, /not logged in/);

      const again = await run(["logout"], env);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /^Not logged in: nothing saved in /);
    });

    it("refuses plain http to a remote host and malformed tokens", async () => {
      const remote = await run(["login", "http://example.com", "--token", slipway.token]);
      assert.equal(remote.code, 2);
      assert.match(remote.stderr, /use https:\/\//);
      const malformed = await run(["login", "https://example.com", "--token", "hunter2"]);
      assert.equal(malformed.code, 2);
      assert.match(malformed.stderr, /not a Slipway token/);
    });
  });

  describe("help", () => {
    it("lists commands and explains one", async () => {
      const all = await run(["help"]);
      assert.equal(all.code, 0);
      assert.match(all.stdout, /^ {2}apps:destroy +destroy an app/m);
      const one = await run(["deploy", "--help"]);
      assert.equal(one.code, 0);
      assert.match(one.stdout, /^Usage: slipway deploy \[DIR\] \[FLAGS\]$/m);
      assert.match(one.stdout, /-a, --app NAME +the app to act on \(required\)/);
      assert.equal(
        (await run(["help", "apps:create"])).stdout,
        (await run(["apps:create", "-h"])).stdout,
      );
      const bare = await run([]);
      assert.equal(bare.code, 2);
      assert.match(bare.stderr, /^Usage: slipway COMMAND/);
    });
  });
});

describe("slipway deploy, build outcomes and limits", () => {
  let slipway: Installation | undefined;
  afterEach(async () => {
    await slipway?.close();
  });

  it("exits 1 and says why when the build fails", async () => {
    slipway = await install({
      script: { outcome: "failed", lines: ["-----> No buildpack matched"] },
    });
    await slipway.store.createApp("shop");
    const result = await run(["deploy", sourceDir(), "--app", "shop", "--home", slipway.home]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "-----> No buildpack matched\n");
    assert.match(result.stderr, /Build failed: no buildpack\n$/);
  });

  it("streams log lines as the build writes them", async () => {
    slipway = await install({ script: { lineDelayMs: 20 } });
    await slipway.store.createApp("shop");
    const result = await run(["deploy", sourceDir(), "--app", "shop", "--home", slipway.home]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /-----> Done\nReleased shop v1; rolling it out\nv1 is serving\n$/);
  });

  it("stops uploading and reports the limit when the source is too large", async () => {
    slipway = await install({ maxUploadBytes: 64 * 1024 });
    await slipway.store.createApp("shop");
    const dir = sourceDir();
    writeFileSync(join(dir, "big.bin"), randomBytes(4 * 1024 * 1024));
    const result = await run(["deploy", dir, "--app", "shop", "--home", slipway.home]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /upload exceeds the limit of 65536 bytes/);
    assert.equal(slipway.deps.calls.submitted.length, 0);
  });
});
