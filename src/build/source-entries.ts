import { ValidationError } from "../domain/errors.ts";

/** Limits on what an uploaded source archive may contain. */
export interface SourceArchiveLimits {
  readonly maxEntries: number;
  /** Sum of the sizes of all files, uncompressed. */
  readonly maxBytes: number;
}

/** The header fields the checker looks at (a subset of tar-stream's Headers). */
export interface RawHeader {
  readonly name: string;
  readonly type?: string | null | undefined;
  readonly size?: number | undefined;
  readonly mode?: number | undefined;
  readonly linkname?: string | null | undefined;
  readonly mtime?: Date | undefined;
}

export type EntryKind = "file" | "directory" | "symlink" | "link";

/** A header that passed the per-entry rules, with a normalized path. */
export interface CheckedEntry {
  /** Relative path without "./", duplicate or trailing slashes. "" is the root itself. */
  readonly path: string;
  readonly kind: EntryKind;
  readonly size: number;
  readonly executable: boolean;
  /** Symlink target as written, or hard link target as a normalized path. */
  readonly linkname: string | null;
  readonly mtime: Date;
}

const MAX_PATH = 4096;
const MAX_LINK_HOPS = 40;

/**
 * Checks tar headers one by one (paths, types, limits), then the archive as a whole
 * (duplicates, entries below symlinks, symlink targets escaping the tree). Pure: no I/O.
 */
export class EntryChecker {
  readonly #limits: SourceArchiveLimits;
  readonly #kinds = new Map<string, EntryKind>();
  readonly #symlinks = new Map<string, string>();
  #entries = 0;
  #bytes = 0;

  constructor(limits: SourceArchiveLimits) {
    this.#limits = limits;
  }

  get entries(): number {
    return this.#entries;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Throws ValidationError naming the entry when it breaks a rule. */
  check(header: RawHeader): CheckedEntry {
    const path = normalizePath(header.name);
    const kind = kindOf(header, path);
    if (path === "" && kind !== "directory") {
      throw new ValidationError(`source archive entry "${header.name}" has an empty path`);
    }
    this.#entries += 1;
    if (this.#entries > this.#limits.maxEntries) {
      throw new ValidationError(
        `source archive has more than ${this.#limits.maxEntries} entries (at "${header.name}")`,
      );
    }
    const size = kind === "file" ? (header.size ?? 0) : 0;
    this.#bytes += size;
    if (this.#bytes > this.#limits.maxBytes) {
      throw new ValidationError(
        `source archive expands to more than ${this.#limits.maxBytes} bytes (at "${header.name}", ${size} bytes)`,
      );
    }
    const linkname = this.#checkLink(kind, path, header);
    const previous = this.#kinds.get(path);
    if (previous !== undefined && !(previous === "directory" && kind === "directory")) {
      throw new ValidationError(`source archive entry "${path}" appears twice`);
    }
    this.#kinds.set(path, kind);
    if (kind === "symlink" && linkname !== null) this.#symlinks.set(path, linkname);
    return {
      path,
      kind,
      size,
      executable: kind === "directory" || ((header.mode ?? 0) & 0o111) !== 0,
      linkname,
      mtime: validDate(header.mtime),
    };
  }

  /**
   * Whole-archive rules, once every header was checked. Returns the single top-level
   * directory every entry sits in (to strip, as GitHub-style tarballs have), or "".
   */
  finish(): string {
    for (const path of this.#kinds.keys()) {
      for (const parent of parentsOf(path)) {
        const kind = this.#kinds.get(parent);
        if (kind !== undefined && kind !== "directory") {
          throw new ValidationError(`source archive entry "${path}" is below ${kind} "${parent}"`);
        }
      }
    }
    // When the single top directory is stripped, it is the tree's root: links must stay in it.
    const top = this.#commonTopDirectory();
    for (const [path, target] of this.#symlinks) {
      if (this.#escapes(path, target, top === "" ? 0 : 1)) {
        throw new ValidationError(
          `source archive symlink "${path}" points outside the source tree ("${target}")`,
        );
      }
    }
    return top;
  }

  #checkLink(kind: EntryKind, path: string, header: RawHeader): string | null {
    if (kind !== "symlink" && kind !== "link") return null;
    const target = header.linkname ?? "";
    if (target === "" || target.includes("\0")) {
      throw new ValidationError(`source archive link "${path}" has no target`);
    }
    if (target.startsWith("/")) {
      throw new ValidationError(
        `source archive link "${path}" has an absolute target ("${target}")`,
      );
    }
    if (kind === "symlink") {
      if (this.#escapes(path, target, 0)) {
        throw new ValidationError(
          `source archive symlink "${path}" points outside the source tree ("${target}")`,
        );
      }
      return target;
    }
    // Hard links name another entry of the archive, which must be an earlier regular file.
    const linked = normalizePath(target, path);
    if (this.#kinds.get(linked) !== "file") {
      throw new ValidationError(
        `source archive hard link "${path}" must point to an earlier file, not "${target}"`,
      );
    }
    return linked;
  }

  /** Resolves target from the link's directory the way the kernel would, symlinks included. */
  #escapes(linkPath: string, target: string, floor: number): boolean {
    const resolved = linkPath.split("/").slice(0, -1);
    let pending = target.split("/");
    let hops = 0;
    for (let part = pending.shift(); part !== undefined; part = pending.shift()) {
      if (part === "" || part === ".") continue;
      if (part === "..") {
        if (resolved.length <= floor) return true;
        resolved.pop();
        continue;
      }
      resolved.push(part);
      const next = this.#symlinks.get(resolved.join("/"));
      if (next === undefined) continue;
      if (next.startsWith("/")) return true;
      hops += 1;
      if (hops > MAX_LINK_HOPS) {
        throw new ValidationError(`source archive symlink "${linkPath}" is part of a loop`);
      }
      resolved.pop();
      pending = [...next.split("/"), ...pending];
    }
    return false;
  }

  #commonTopDirectory(): string {
    let top: string | undefined;
    for (const path of this.#kinds.keys()) {
      if (path === "") continue;
      const first = path.split("/")[0] ?? "";
      if (first === path && this.#kinds.get(path) !== "directory") return "";
      if (top === undefined) top = first;
      else if (top !== first) return "";
    }
    return top ?? "";
  }
}

/** "./a//b/" -> "a/b"; rejects absolute paths, ".." and NUL. `for` names the entry. */
export function normalizePath(name: string, entry: string = name): string {
  if (name.includes("\0"))
    throw new ValidationError(`source archive entry "${entry}" has a NUL byte`);
  if (name.length > MAX_PATH) {
    throw new ValidationError(`source archive entry path is longer than ${MAX_PATH} characters`);
  }
  if (name.startsWith("/")) {
    throw new ValidationError(`source archive entry "${name}" has an absolute path`);
  }
  const parts = name.split("/").filter((part) => part !== "" && part !== ".");
  if (parts.includes("..")) {
    throw new ValidationError(`source archive entry "${name}" has a ".." path component`);
  }
  return parts.join("/");
}

function kindOf(header: RawHeader, path: string): EntryKind {
  const type = header.type ?? "file";
  switch (type) {
    case "file":
    case "contiguous-file":
      return "file";
    case "directory":
      return "directory";
    case "symlink":
      return "symlink";
    case "link":
      return "link";
    default:
      throw new ValidationError(
        `source archive entry "${path || header.name}" is a ${type}: only files, directories and links are allowed`,
      );
  }
}

function parentsOf(path: string): string[] {
  const parts = path.split("/");
  return parts.slice(0, -1).map((_, index) => parts.slice(0, index + 1).join("/"));
}

function validDate(date: Date | undefined): Date {
  return date !== undefined && Number.isFinite(date.getTime()) ? date : new Date(0);
}
