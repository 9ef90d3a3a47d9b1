import { join } from "node:path";
import {
  buildStack,
  loadStack,
  readStackFiles,
  type StackFiles,
  type StackImages,
} from "../build/stack-builder.ts";
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
 * The default stack's images as the engine has them, for each build. Builds never build
 * the stack themselves (minutes of debootstrap in a user's push): `slipway stacks:build`
 * does, and until then builds fail with a BuildFailedError that says so. The recipe ships
 * with Slipway and changes only with it (a new daemon), and its cache entry, once built,
 * never changes: both are read once (reading and hashing them took 5-13 ms of every
 * build's start). The images, which `slipway stacks:build` replaces, are looked up and
 * checked against the manifest every time; a failed read is tried again next time.
 */
export function stackLookup(config: Config, engine: Engine): () => Promise<StackImages> {
  let files: Promise<StackFiles> | undefined;
  return () => {
    files ??= readStackFiles(DEFAULT_STACK_DIR, config.build.stackCacheDir);
    const read = files;
    read.catch(() => {
      if (files === read) files = undefined;
    });
    return loadStack({
      recipeDir: DEFAULT_STACK_DIR,
      cacheDir: config.build.stackCacheDir,
      engine,
      files: read,
    });
  };
}

/** How long a stack looked up at a push's start may wait for that push's build. */
const AHEAD_FRESH_MS = 10_000;

/**
 * The stack's images looked up ahead, when a push begins (Builder.expect), so that the
 * engine's answers (two image inspects, 4-7 ms during a push) are in before the build asks:
 * what the build would have seen some 40 ms later. A lookup that failed, or is older than
 * AHEAD_FRESH_MS, is not used; each is used once.
 */
export class StackLookups {
  readonly #lookup: () => Promise<StackImages>;
  readonly #now: () => number;
  #ahead: { readonly stack: Promise<StackImages>; readonly at: number } | undefined;

  constructor(lookup: () => Promise<StackImages>, now: () => number = Date.now) {
    this.#lookup = lookup;
    this.#now = now;
  }

  lookAhead(): void {
    const stack = this.#lookup();
    stack.catch(() => undefined);
    this.#ahead = { stack, at: this.#now() };
  }

  /** The stack for a build starting now. */
  take(): Promise<StackImages> {
    const ahead = this.#ahead;
    this.#ahead = undefined;
    if (ahead === undefined || this.#now() - ahead.at > AHEAD_FRESH_MS) return this.#lookup();
    return ahead.stack.catch(() => this.#lookup());
  }
}
