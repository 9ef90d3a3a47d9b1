import { join } from "node:path";
import { buildStack, loadStack, type StackImages } from "../build/stack-builder.ts";
import type { Config } from "../config/config.ts";
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
 * stack themselves (minutes of debootstrap in a user's push): `slipway stacks:build` does,
 * and until then builds fail with a BuildFailedError that says so.
 */
export function currentStack(config: Config, engine: Engine): Promise<StackImages> {
  return loadStack({ recipeDir: DEFAULT_STACK_DIR, cacheDir: config.build.stackCacheDir, engine });
}
