import assert from "node:assert/strict";
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ValidationError } from "../domain/errors.ts";
import { stackImageReference } from "./stack-builder.ts";
import { parsePackageList, readStackRecipe } from "./stack-recipe.ts";

const RECIPE = join(import.meta.dirname, "../../stacks/bookworm-24");
const temp: string[] = [];
after(async () => {
  for (const dir of temp) await rm(dir, { recursive: true, force: true });
});

async function copyOfRecipe(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "slipway-recipe-"));
  temp.push(dir);
  await cp(RECIPE, dir, { recursive: true });
  return dir;
}

describe("readStackRecipe", () => {
  it("reads the default stack", async () => {
    const recipe = await readStackRecipe(RECIPE);
    assert.equal(recipe.name, "slipway-24");
    assert.equal(recipe.suite, "bookworm");
    assert.ok(recipe.runPackages.includes("ca-certificates"));
    assert.ok(recipe.buildPackages.includes("build-essential"));
    assert.ok(recipe.setupScript?.includes("useradd --uid 1000"));
    assert.match(recipe.digest, /^[0-9a-f]{64}$/);
    assert.equal(stackImageReference("run", recipe.version), `slipway/stack-run:${recipe.version}`);
  });

  it("has a digest that follows the content of every file", async () => {
    const dir = await copyOfRecipe();
    const before = (await readStackRecipe(dir)).digest;
    assert.equal((await readStackRecipe(dir)).digest, before, "stable");
    await writeFile(join(dir, "packages-build.txt"), "git\n");
    assert.notEqual((await readStackRecipe(dir)).digest, before);
  });

  it("rejects a recipe without a usable stack.json", async () => {
    const dir = await copyOfRecipe();
    await writeFile(join(dir, "stack.json"), JSON.stringify({ name: "x y", version: "1" }));
    await assert.rejects(readStackRecipe(dir), ValidationError);
    await rm(join(dir, "stack.json"));
    await assert.rejects(readStackRecipe(dir), /has no stack.json/);
  });
});

describe("parsePackageList", () => {
  it("skips comments and blank lines and rejects what is not a package name", () => {
    assert.deepEqual(parsePackageList("# c\ncurl\n\n git # vcs\n", "f"), ["curl", "git"]);
    assert.throws(() => parsePackageList("curl; rm -rf /\n", "f"), /f:1: not a package name/);
  });
});
