import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Engine, ImageInfo } from "../engine/engine.ts";
import { BuildFailedError, DriverError } from "../domain/errors.ts";
import { withFileLock } from "../process/file-lock.ts";
import { readStackRecipe, type StackRecipe } from "./stack-recipe.ts";
import { assertNothingMounted, buildStackRootfs, type RootfsTarball } from "./stack-rootfs.ts";

/** Labels on stack images (and copied onto app images as io.slipway.stack). */
export const STACK_LABELS = {
  name: "io.slipway.stack",
  version: "io.slipway.stack.version",
  digest: "io.slipway.stack.digest",
  role: "io.slipway.stack.role",
} as const;

export type StackRole = "run" | "build";

/** A stack image in the engine. */
export interface StackImage {
  /** e.g. slipway/stack-run:24.1 */
  readonly reference: string;
  readonly imageId: string;
  /** sha256:HEX of the root filesystem tarball it was imported from. */
  readonly digest: string;
  /** That tarball, in the stack cache (app images are the run rootfs plus a slug). */
  readonly rootfs: string;
}

/** What builds need to know about a stack. */
export interface StackImages {
  readonly name: string;
  readonly version: string;
  readonly run: StackImage;
  readonly build: StackImage;
}

export interface BuildStackOptions {
  /** A recipe directory, e.g. stacks/bookworm-24. */
  readonly recipeDir: string;
  /** Tarballs are kept here by recipe digest; safe to share between instances. */
  readonly cacheDir: string;
  readonly engine: Engine;
  /** Debian mirror, e.g. http://deb.debian.org/debian */
  readonly mirror: string;
  /** Default: http://deb.debian.org/debian-security */
  readonly securityMirror?: string;
  readonly log: (line: string) => void;
  readonly signal?: AbortSignal;
}

interface CacheManifest {
  readonly recipeDigest: string;
  readonly run: RootfsTarball;
  readonly build: RootfsTarball;
}

const MANIFEST = "manifest.json";
/** Held while a build writes into the cache (withFileLock). */
export const STACK_CACHE_LOCK = ".build.lock";
/**
 * Part of the cache key besides the recipe: bump it when a change to the stack builder
 * changes what the tarballs contain, so caches made by older code are not reused.
 */
const BUILDER_REVISION = 2;

/**
 * Makes sure the stack's run and build images exist in the engine. Builds the root
 * filesystems (debootstrap, ~30 s and a few hundred MB) only when the cache has no tarballs
 * for this exact recipe, and imports only images the engine does not already have with the
 * same tarball digest. Idempotent; safe to run from several instances at once.
 */
export async function buildStack(options: BuildStackOptions): Promise<StackImages> {
  const recipe = await readStackRecipe(options.recipeDir);
  const { log } = options;
  log(`stack ${recipe.name} ${recipe.version} (recipe ${recipe.digest.slice(0, 12)})`);
  const manifest = await cachedTarballs(recipe, options);
  const run = await ensureImage(recipe, "run", manifest.run, options);
  const build = await ensureImage(recipe, "build", manifest.build, options);
  return { name: recipe.name, version: recipe.version, run, build };
}

/**
 * The stack as the engine and the cache have it, without building anything (builds must
 * not start minutes of debootstrap). Throws BuildFailedError when the images or their
 * tarballs are missing or stale: `buildStack` (slipway stacks:build) fixes that.
 */
export async function loadStack(
  options: Pick<BuildStackOptions, "recipeDir" | "cacheDir" | "engine"> & {
    /** The recipe and its cache manifest, read before (a daemon reads them once). */
    readonly files?: Promise<StackFiles>;
  },
): Promise<StackImages> {
  const { recipe, manifest } = await (options.files ??
    readStackFiles(options.recipeDir, options.cacheDir));
  const notBuilt = notBuiltMessage(recipe);
  const image = async (role: StackRole, tarball: RootfsTarball): Promise<StackImage> => {
    const reference = stackImageReference(role, recipe.version);
    const info = await options.engine.inspectImage(reference);
    if (info?.labels[STACK_LABELS.digest] !== tarball.digest) throw new BuildFailedError(notBuilt);
    return { reference, imageId: info.id, digest: tarball.digest, rootfs: tarball.file };
  };
  const [run, build] = await Promise.all([
    image("run", manifest.run),
    image("build", manifest.build),
  ]);
  return { name: recipe.name, version: recipe.version, run, build };
}

/** A stack's recipe and the manifest of its built root filesystems in the cache. */
export interface StackFiles {
  readonly recipe: StackRecipe;
  readonly manifest: CacheManifest;
}

/**
 * Reads the recipe and its cache manifest; BuildFailedError when the stack is not built
 * (no manifest for this recipe). Neither changes once there: the cache entry is named
 * after the recipe's digest and written whole, once.
 */
export async function readStackFiles(recipeDir: string, cacheDir: string): Promise<StackFiles> {
  const recipe = await readStackRecipe(recipeDir);
  const manifest = await readManifest(cacheEntryDir(cacheDir, recipe));
  if (!manifest) throw new BuildFailedError(notBuiltMessage(recipe));
  return { recipe, manifest };
}

function notBuiltMessage(recipe: StackRecipe): string {
  return `the ${recipe.name} ${recipe.version} stack is not built yet (or its recipe changed): build it first`;
}

/** Image reference of a stack role, e.g. slipway/stack-build:24.1 */
export function stackImageReference(role: StackRole, version: string): string {
  return `slipway/stack-${role}:${version}`;
}

async function cachedTarballs(
  recipe: StackRecipe,
  options: BuildStackOptions,
): Promise<CacheManifest> {
  const entryDir = cacheEntryDir(options.cacheDir, recipe);
  const cached = await readManifest(entryDir);
  if (cached) {
    options.log("root filesystems found in the cache");
    return cached;
  }
  await mkdir(options.cacheDir, { recursive: true });
  // One build at a time per cache: debootstraps sharing the package cache (debs/) at once
  // corrupt each other's downloads, and the second would build the same files again. The
  // one that waited finds the first one's entry.
  return withFileLock(
    join(options.cacheDir, STACK_CACHE_LOCK),
    async () => {
      const built = await readManifest(entryDir);
      if (!built) return buildTarballs(recipe, entryDir, options);
      options.log("root filesystems found in the cache (built meanwhile)");
      return built;
    },
    {
      onWait: () => {
        options.log("waiting for another build of a stack to finish");
      },
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
}

async function buildTarballs(
  recipe: StackRecipe,
  entryDir: string,
  options: BuildStackOptions,
): Promise<CacheManifest> {
  const workDir = await mkdtemp(join(options.cacheDir, `.build-${recipe.digest.slice(0, 12)}-`));
  try {
    const started = Date.now();
    const tarballs = await buildStackRootfs(recipe, {
      workDir,
      mirror: options.mirror,
      securityMirror: options.securityMirror ?? "http://deb.debian.org/debian-security",
      debCacheDir: join(options.cacheDir, "debs"),
      log: options.log,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const manifest: CacheManifest = {
      recipeDigest: recipe.digest,
      run: { ...tarballs.run, file: "run.tar" },
      build: { ...tarballs.build, file: "build.tar" },
    };
    await writeFile(join(workDir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    await publish(workDir, entryDir);
    options.log(`root filesystems built in ${String(Math.round((Date.now() - started) / 1000))} s`);
  } finally {
    await assertNothingMounted(workDir);
    await rm(workDir, { recursive: true, force: true });
  }
  const published = await readManifest(entryDir);
  if (!published) throw new DriverError("stack", `cache entry ${entryDir} vanished`);
  return published;
}

/** Where the tarballs of this recipe live in the cache (for tests and pruning). */
export function cacheEntryDir(cacheDir: string, recipe: Pick<StackRecipe, "digest">): string {
  return join(cacheDir, `${recipe.digest}.r${String(BUILDER_REVISION)}`);
}

/** Atomic: readers see a complete cache entry or none. Another builder may have won. */
async function publish(workDir: string, entryDir: string): Promise<void> {
  try {
    await rename(workDir, entryDir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "ENOTEMPTY" && code !== "EEXIST") throw error;
  }
}

async function readManifest(entryDir: string): Promise<CacheManifest | undefined> {
  let text: string;
  try {
    text = await readFile(join(entryDir, MANIFEST), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const manifest = JSON.parse(text) as CacheManifest;
  return {
    ...manifest,
    run: { ...manifest.run, file: join(entryDir, manifest.run.file) },
    build: { ...manifest.build, file: join(entryDir, manifest.build.file) },
  };
}

async function ensureImage(
  recipe: StackRecipe,
  role: StackRole,
  tarball: RootfsTarball,
  options: BuildStackOptions,
): Promise<StackImage> {
  const reference = stackImageReference(role, recipe.version);
  const existing = await options.engine.inspectImage(reference);
  if (existing?.labels[STACK_LABELS.digest] === tarball.digest) {
    options.log(`${reference} is up to date`);
    return { reference, imageId: existing.id, digest: tarball.digest, rootfs: tarball.file };
  }
  options.log(`importing ${reference} (${String(Math.round(tarball.sizeBytes / 2 ** 20))} MiB)`);
  const image: ImageInfo = await options.engine.importImage(createReadStream(tarball.file), {
    reference,
    labels: {
      [STACK_LABELS.name]: recipe.name,
      [STACK_LABELS.version]: recipe.version,
      [STACK_LABELS.digest]: tarball.digest,
      [STACK_LABELS.role]: role,
    },
    env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"],
    cmd: ["/bin/bash"],
    ...(role === "run"
      ? { workingDir: "/app", user: "1000:1000" }
      : { workingDir: "/workspace", user: "0:0" }),
  });
  return { reference, imageId: image.id, digest: tarball.digest, rootfs: tarball.file };
}
