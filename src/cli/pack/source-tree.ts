import { createReadStream } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import type { TarEntry } from "./tar-writer.ts";

/**
 * Names never uploaded, at any depth: version control (a .git directory, or the .git file
 * of a worktree) and installed dependencies, which the build installs itself.
 */
export const SKIPPED_NAMES: ReadonlySet<string> = new Set([".git", "node_modules"]);

/** Something the walk left out, and why (so the CLI can warn). */
export interface SkippedEntry {
  readonly path: string;
  readonly reason: string;
}

/**
 * Walks a source tree in a stable (sorted) order and yields its tar entries: directories,
 * regular files and symlinks whose target stays inside the tree. Skips SKIPPED_NAMES
 * silently, and reports (through onSkip) symlinks that point outside the
 * tree or are absolute, and special files (sockets, FIFOs, devices).
 */
export async function* sourceEntries(
  root: string,
  onSkip: (skipped: SkippedEntry) => void = () => undefined,
): AsyncGenerator<TarEntry> {
  yield* walk(resolve(root), "", onSkip);
}

async function* walk(
  root: string,
  relativeDir: string,
  onSkip: (skipped: SkippedEntry) => void,
): AsyncGenerator<TarEntry> {
  const names = (await readdir(join(root, relativeDir))).sort();
  for (const name of names) {
    if (SKIPPED_NAMES.has(name)) continue;
    const path = relativeDir === "" ? name : `${relativeDir}/${name}`;
    const absolute = join(root, path);
    const stats = await lstat(absolute);
    const mtime = Math.floor(stats.mtimeMs / 1000);
    if (stats.isDirectory()) {
      yield { type: "directory", path, mode: stats.mode, mtime };
      yield* walk(root, path, onSkip);
    } else if (stats.isFile()) {
      const size = stats.size;
      yield {
        type: "file",
        path,
        mode: stats.mode,
        mtime,
        size,
        content: () => readExactly(absolute, size),
      };
    } else if (stats.isSymbolicLink()) {
      const target = await readlink(absolute);
      if (isAbsolute(target) || !isInside(root, resolve(dirname(absolute), target))) {
        onSkip({ path, reason: `symlink to ${target} points outside the source tree` });
        continue;
      }
      yield { type: "symlink", path, mode: 0o777, mtime, target };
    } else {
      onSkip({ path, reason: "not a regular file, directory or symlink" });
    }
  }
}

function readExactly(path: string, size: number): AsyncIterable<Uint8Array> | Uint8Array[] {
  // end is inclusive; reading no further than the size lstat saw keeps a growing file from
  // corrupting the archive (the writer still notices one that shrank).
  return size === 0 ? [] : createReadStream(path, { start: 0, end: size - 1 });
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}
