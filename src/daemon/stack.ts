import { join } from "node:path";
import { buildStack, stackImageReference, type StackImages } from "../build/stack-builder.ts";
import { readStackRecipe } from "../build/stack-recipe.ts";
import type { Config } from "../config/config.ts";
import { BuildFailedError } from "../domain/errors.ts";
import type { Engine } from "../engine/engine.ts";

/** The recipe of the default stack, shipped in stacks/. */
export const DEFAULT_STACK_DIR = join(import.meta.dirname, "..", "..", "stacks", "bookworm-24");

/** Builds (or imports from the cache) the default stack; prints progress through log. */
export function ensureDefaultStack(
  config: Config,
  engine: Engine,
  log: (line: string) => void,
  signal?: AbortSignal,
): Promise<StackImages> {
  return buildStack({
    recipeDir: DEFAULT_STACK_DIR,
    cacheDir: config.build.stackCacheDir,
    engine,
    mirror: config.build.debianMirror,
    log,
    ...(signal === undefined ? {} : { signal }),
  });
}

/**
 * The default stack's images as the engine has them, for a build. Builds never build the
 * stack themselves (minutes of debootstrap in a user's push): `slipway stacks:build` does.
 */
export async function currentStack(engine: Engine): Promise<StackImages> {
  const recipe = await readStackRecipe(DEFAULT_STACK_DIR);
  const [run, build] = await Promise.all(
    (["run", "build"] as const).map(async (role) => {
      const reference = stackImageReference(role, recipe.version);
      const image = await engine.inspectImage(reference);
      if (image === undefined) {
        throw new BuildFailedError(
          `the ${recipe.name} ${recipe.version} stack is not built yet: run \`slipway stacks:build\``,
        );
      }
      return { reference, imageId: image.id, digest: image.labels["io.slipway.stack.digest"] ?? image.digest };
    }),
  );
  if (run === undefined || build === undefined) throw new BuildFailedError("stack images missing");
  return { name: recipe.name, version: recipe.version, run, build };
}
