import { posix } from "node:path";
import type { TarFile } from "./tar-files.ts";

/**
 * The fake engine's file systems: a map from relative path ("srv/hello.txt") to entry,
 * one per image, container layer and volume. Archive semantics follow Docker's: GET of
 * /srv/hello.txt gives an archive with "hello.txt", GET of /srv one with "srv/...".
 */
export type FileTree = Map<string, TarFile>;

/** "/srv//a/" → "srv/a"; "/" → "". */
export function relativePath(path: string): string {
  return posix.normalize(`/${path}`).replace(/^\/+|\/+$/g, "");
}

/** Writes archive entries into the tree at base, creating parent directories. */
export function writeFiles(tree: FileTree, base: string, files: readonly TarFile[]): void {
  for (const file of files) {
    const path = relativePath(posix.join(base, file.path));
    if (path === "") continue;
    addParents(tree, path);
    tree.set(path, { ...file, path });
  }
}

function addParents(tree: FileTree, path: string): void {
  const parts = path.split("/");
  for (let i = 1; i < parts.length; i++) {
    const dir = parts.slice(0, i).join("/");
    if (!tree.has(dir))
      tree.set(dir, { path: dir, type: "directory", data: Buffer.alloc(0), mode: 0o755 });
  }
}

/** True when path is a file or a directory (declared or implied by its contents). */
export function exists(tree: FileTree, path: string): boolean {
  const key = relativePath(path);
  return key === "" || tree.has(key) || [...tree.keys()].some((k) => k.startsWith(`${key}/`));
}

/** The entries of path as GET /archive returns them, or undefined when missing. */
export function readFiles(tree: FileTree, path: string): TarFile[] | undefined {
  const key = relativePath(path);
  if (!exists(tree, key)) return undefined;
  const name = key === "" ? "" : posix.basename(key);
  const out: TarFile[] = [];
  const self = tree.get(key);
  if (self !== undefined) out.push({ ...self, path: name });
  else if (key !== "")
    out.push({ path: name, type: "directory", data: Buffer.alloc(0), mode: 0o755 });
  for (const [k, file] of [...tree.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    if (key === "" || k.startsWith(`${key}/`)) {
      out.push({ ...file, path: posix.join(name, key === "" ? k : k.slice(key.length + 1)) });
    }
  }
  return out;
}

/** A regular file's content as text, or undefined. */
export function readText(tree: FileTree, path: string): string | undefined {
  const file = tree.get(relativePath(path));
  return file?.type === "file" ? file.data.toString("utf8") : undefined;
}

/** A copy that can change independently. */
export function copyTree(tree: FileTree): FileTree {
  return new Map(tree);
}
