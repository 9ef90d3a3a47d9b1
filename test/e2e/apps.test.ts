/**
 * Every kind of app through the real platform on one installation: a Python stdlib app
 * (with an app.json postdeploy script), a static site (.slugignore honoured), a
 * Dockerfile app (its RUN step ran without network, as uid 1000), and a third-party
 * buildpack from a git repository named in `.buildpacks`, run unchanged with the app's
 * config vars in ENV_DIR. Each is deployed with `slipway deploy` and fetched through the
 * router.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { must, startPlatform, type TestPlatform } from "./harness.ts";

const fixtures = join(import.meta.dirname, "..", "fixtures");

describe("app kinds end to end", { timeout: 1_800_000 }, () => {
  let p: TestPlatform;
  const work = mkdtempSync(join(tmpdir(), "sw-apps-"));

  before(async () => {
    p = await startPlatform();
  });
  after(async () => {
    await p.stop();
    rmSync(work, { recursive: true, force: true });
  });

  async function deploy(app: string, dir: string): Promise<string> {
    await must(p.cli(["apps:create", app]), `apps:create ${app}`);
    const r = await must(p.cli(["deploy", dir, "--app", app], { timeoutMs: 900_000 }), "deploy");
    return `${r.stdout}${r.stderr}`;
  }
  const host = (app: string): string => `${app}.slipway.localhost`;

  it("deploys a Python stdlib app and runs its app.json postdeploy once", async () => {
    const dir = join(work, "py");
    cpSync(join(fixtures, "apps", "python-stdlib"), dir, { recursive: true });
    writeFileSync(
      join(dir, "app.json"),
      JSON.stringify({ scripts: { postdeploy: "echo postdeploy ran as $(id -u)" } }),
    );
    const out = await deploy("python", dir);
    assert.match(out, /Python app detected/);
    const res = await p.get(host("python"));
    assert.equal(res.status, 200);
    assert.match(res.body, /^Hello from Python 3\.\d+/);
    let events: { type: string; message: string }[] = [];
    for (let i = 0; i < 60; i++) {
      events = JSON.parse(
        (await must(p.cli(["events", "--app", "python", "--json"]), "events")).stdout,
      ) as typeof events;
      if (events.some((e) => e.type === "postdeploy" && /succeeded/.test(e.message))) break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    assert.ok(
      events.some((e) => e.type === "postdeploy" && /v1: postdeploy succeeded/.test(e.message)),
      JSON.stringify(events.slice(0, 8)),
    );
  });

  it("deploys a static site without what .slugignore leaves out", async () => {
    const out = await deploy("site", join(fixtures, "apps", "static-site"));
    assert.match(out, /Static site app detected|static/i);
    const index = await p.get(host("site"));
    assert.equal(index.status, 200);
    assert.match(index.body, /Hello from a static site/);
    assert.equal((await p.get(host("site"), "/css/site.css")).status, 200);
    assert.equal((await p.get(host("site"), "/drafts/secret.html")).status, 404);
    assert.equal((await p.get(host("site"), "/logo.psd")).status, 404);
  });

  it("deploys a Dockerfile app whose RUN step ran without network, as uid 1000", async () => {
    const out = await deploy("docker", join(fixtures, "apps", "dockerfile"));
    assert.match(out, /building the app's Dockerfile/);
    assert.equal((await p.get(host("docker"), "/index.txt")).body, "Hello from a Dockerfile\n");
    assert.equal(
      (await p.get(host("docker"), "/run.txt")).body,
      "RUN works as uid 1000 with ['lo'] and CapBnd 0000000000000000\n",
    );
  });

  it("runs a third-party buildpack from a git repository unchanged", async () => {
    const dir = join(work, "bp");
    const repo = join(work, "fixture-buildpack");
    cpSync(join(fixtures, "buildpacks", "fixture"), repo, { recursive: true });
    const git = (cwd: string, ...args: string[]): void => {
      execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], {
        cwd,
        stdio: "ignore",
      });
    };
    git(repo, "init", "-q", "-b", "main");
    git(repo, "add", ".");
    git(repo, "commit", "-q", "-m", "fixture buildpack");
    cpSync(join(fixtures, "apps", "static-site"), dir, { recursive: true });
    git(work, "clone", "-q", "--bare", repo, join(dir, "fixture.git"));
    writeFileSync(join(dir, ".buildpacks"), "fixture.git\n");
    writeFileSync(join(dir, "fixture.txt"), "yes\n");
    await must(p.cli(["apps:create", "buildpack"]), "apps:create buildpack");
    await must(p.cli(["env:set", "GREETING=from ENV_DIR", "--app", "buildpack"]), "env:set");
    const r = await must(
      p.cli(["deploy", dir, "--app", "buildpack"], { timeoutMs: 900_000 }),
      "deploy",
    );
    assert.match(`${r.stdout}${r.stderr}`, /Fixture buildpack compiling/);
    // Its bin/release gave the web process (python3 -m http.server) and a `fixture` type.
    const output = await p.get(host("buildpack"), "/fixture-output.txt");
    assert.equal(output.status, 200);
    assert.match(output.body, /^greeting=from ENV_DIR$/m);
    const run = await must(
      p.cli(["run", "--app", "buildpack", "--", "echo $FIXTURE_PROFILE"]),
      "run (.profile.d)",
    );
    assert.match(run.stdout, /^loaded$/m);
  });
});
