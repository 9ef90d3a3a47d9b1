import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { hashToken } from "../../security/tokens.ts";
import { install, runCli, scratch, type Installation, type Scratch } from "../test-kit.ts";

describe("tokens and git:branch commands", () => {
  let dirs: Scratch;
  let inst: Installation;
  before(async () => {
    dirs = scratch("sw-cli-tokens-");
    inst = await install(dirs);
    await inst.store.createApp("shop");
    await inst.store.createApp("blog");
  });
  after(async () => {
    await inst.close();
    dirs.remove();
  });
  const cli = (...argv: string[]) => runCli(dirs, argv, { SLIPWAY_HOME: inst.home });

  it("creates a deploy token for several apps, prints it once, lists and revokes it", async () => {
    const run = await cli("tokens:create", "--app", "shop", "--app", "blog", "--name", "ci");
    assert.equal(run.code, 0, run.stderr);
    const secret = /^ {2}(swt_\S+)$/m.exec(run.stdout)?.[1];
    assert.ok(secret, run.stdout);
    assert.match(run.stdout, /Created deploy token ci .* for blog, shop/);
    const stored = (await inst.store.listTokens()).find((t) => t.name === "ci");
    assert.equal(stored?.hash, hashToken(secret));

    const list = await cli("tokens", "--json");
    const items = JSON.parse(list.stdout) as { name: string; apps: string[]; role: string }[];
    assert.deepEqual(
      items.find((t) => t.name === "ci"),
      { ...items.find((t) => t.name === "ci"), role: "deploy", apps: ["blog", "shop"] },
    );
    assert.doesNotMatch(list.stdout, /swt_/);

    // The new token works with the CLI, for its apps only.
    const home = dirs.newDir();
    writeFileSync(
      join(home, "credentials.json"),
      JSON.stringify({ token: secret, url: null, socket: inst.socket, ca: null }),
      { mode: 0o600 },
    );
    const apps = await runCli(dirs, ["apps", "--json"], { SLIPWAY_HOME: home });
    assert.equal(apps.code, 0, apps.stderr);
    const denied = await runCli(dirs, ["tokens"], { SLIPWAY_HOME: home });
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /deploy token limited to its apps/);

    const revoke = await cli("tokens:revoke", "ci");
    assert.equal(revoke.code, 0, revoke.stderr);
    assert.ok((await inst.store.listTokens()).find((t) => t.name === "ci")?.revokedAt);
  });

  it("refuses a deploy token without apps before asking the API", async () => {
    const run = await cli("tokens:create", "--name", "nothing");
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /needs at least one --app/);
  });

  it("sets, shows and resets the deploy branch", async () => {
    const set = await cli("git:branch", "production", "--app", "shop");
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /shop deploys pushes of main or production/);
    const show = await cli("git:branch", "--app", "shop", "--json");
    assert.deepEqual(JSON.parse(show.stdout), {
      deployBranch: "production",
      branches: ["main", "production"],
    });
    const reset = await cli("git:branch", "--app", "shop", "--reset");
    assert.match(reset.stdout, /main or master \(the default\)/);
  });
});
