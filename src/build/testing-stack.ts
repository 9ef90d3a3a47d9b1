import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { cacheEntryDir } from "./stack-builder.ts";
import { readStackRecipe } from "./stack-recipe.ts";
import { packTar } from "./tar-files.ts";

/** The default stack recipe, shipped in stacks/. */
export const DEFAULT_RECIPE = join(import.meta.dirname, "../../stacks/bookworm-24");

/**
 * For tests: a stack cache entry as buildStack leaves it, but with tiny tarballs instead of
 * debootstrap's, so buildStack only imports (digests "sha256:run" and "sha256:build").
 */
export async function seedStackCache(cacheDir: string, recipeDir = DEFAULT_RECIPE): Promise<void> {
  const entry = cacheEntryDir(cacheDir, await readStackRecipe(recipeDir));
  await mkdir(entry, { recursive: true });
  for (const role of ["run", "build"]) {
    const chunks: Buffer[] = [];
    const tar = packTar([
      { name: "etc/os-release", content: `slipway test stack, ${role} image\n` },
      { name: "bin/bash", content: "#!fake\n", mode: 0o755 },
    ]);
    for await (const chunk of tar) chunks.push(chunk as Buffer);
    await writeFile(join(entry, `${role}.tar`), Buffer.concat(chunks));
  }
  const tarball = (role: string) => ({
    file: `${role}.tar`,
    digest: `sha256:${role}`,
    sizeBytes: 1,
  });
  const manifest = { recipeDigest: "test", run: tarball("run"), build: tarball("build") };
  await writeFile(join(entry, "manifest.json"), JSON.stringify(manifest));
}
