import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { Readable, Transform, type TransformCallback } from "node:stream";
import { finished, pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import tar from "tar-stream";
import { asNodeReadable, packStream, type PackHeader } from "./tar-stream-node.ts";
import { ValidationError } from "../domain/errors.ts";
import { EntryChecker, type CheckedEntry, type SourceArchiveLimits } from "./source-entries.ts";

export type { SourceArchiveLimits } from "./source-entries.ts";

/** A source archive that passed every check. */
export interface SourceArchive {
  /** sha256:HEX of the uploaded .tar.gz as received. */
  readonly checksum: string;
  readonly entries: number;
  /** Uncompressed size of all files. */
  readonly totalBytes: number;
  /**
   * A plain (uncompressed) tar of the source with every entry under `root/`, owned by root,
   * modes normalized (0755 or 0644, no setuid): ready for Engine.putArchive. A source
   * held in memory (OpenSourceArchiveOptions.memoryBytes) is normalized once and replayed;
   * else each call reads the file again and re-checks it, and the stream errors if the
   * file changed.
   */
  tar(): Readable;
  /**
   * A file at the root of the source (after the top directory is stripped) that
   * `keepRootFiles` asked for: its bytes, "too large" past `maxKeptBytes`, or null.
   */
  rootFile(name: string): Buffer | "too large" | null;
  /** The same archive after the file moved to `path` (the reads check it is the same). */
  at(path: string): SourceArchive;
}

export interface OpenSourceArchiveOptions {
  readonly limits: SourceArchiveLimits;
  /** The directory the normalized tar puts everything under. Default "src". */
  readonly root?: string;
  readonly signal?: AbortSignal;
  /** Files at the source's root to keep in memory while it is checked (rootFile()). */
  readonly keepRootFiles?: readonly string[];
  /** Most bytes kept of each (default 64 KiB). */
  readonly maxKeptBytes?: number;
  /**
   * A source of at most this many bytes (its files and a tar header each, uncompressed) is
   * kept in memory as it is checked, and tar() makes its normalized tar from there: a
   * build reads it twice (into the build container, and as the app image's layer), each a
   * read, gunzip and check of the file again otherwise. Default 4 MiB; 0 never.
   */
  readonly memoryBytes?: number;
}

/** OpenSourceArchiveOptions.memoryBytes by default: an app's code, not its assets. */
export const SOURCE_MEMORY_BYTES = 4 * 1024 * 1024;

/** A checked entry and its bytes, kept in memory. */
interface HeldEntry {
  readonly entry: CheckedEntry;
  readonly body: Buffer;
}

const TAR_HEADER_BYTES = 512;

/**
 * Validates an uploaded .tar.gz without extracting it: gzip and tar must be well formed, no
 * absolute paths or "..", no device or fifo entries, links must stay inside the tree, and
 * entry count and uncompressed size stay within limits. Throws ValidationError naming the
 * offending entry. A single top-level directory (as in GitHub tarballs) is stripped.
 */
export async function openSourceArchive(
  file: string,
  options: OpenSourceArchiveOptions,
): Promise<SourceArchive> {
  const { limits, signal } = options;
  const root = options.root ?? "src";
  const wanted = new Set(options.keepRootFiles ?? []);
  const maxKept = options.maxKeptBytes ?? 64 * 1024;
  const checker = new EntryChecker(limits);
  // By path as in the archive: which directory is stripped is known only at the end.
  const kept = new Map<string, Buffer | "too large">();
  const memoryBytes = options.memoryBytes ?? SOURCE_MEMORY_BYTES;
  const held = { entries: memoryBytes > 0 ? ([] as HeldEntry[]) : null, bytes: 0 };
  const checksum = await scan(file, limits, signal, async (header, body) => {
    const entry = checker.check(header);
    held.bytes += TAR_HEADER_BYTES + entry.size;
    if (held.bytes > memoryBytes) held.entries = null;
    const name = entry.path.slice(entry.path.indexOf("/") + 1);
    const wantedHere =
      entry.kind === "file" && wanted.has(name) && entry.path.split("/").length <= 2;
    if (held.entries === null && !(wantedHere && entry.size <= maxKept)) {
      await drain(body);
      if (wantedHere) kept.set(entry.path, "too large");
      return;
    }
    const bytes = await readAll(body);
    held.entries?.push({ entry, body: bytes });
    if (wantedHere) kept.set(entry.path, entry.size > maxKept ? "too large" : bytes);
  });
  const strip = checker.finish();
  const normalize: NormalizeOptions = { limits, root, strip, checksum, signal };
  const entries = held.entries;
  let normalized: Promise<Buffer> | undefined;
  const archive = (path: string): SourceArchive => ({
    checksum,
    entries: checker.entries,
    totalBytes: checker.bytes,
    tar: () =>
      entries === null
        ? normalizedTar(path, normalize)
        : replay((normalized ??= readAll(heldTar(entries, normalize)))),
    rootFile: (name) => kept.get(strip === "" ? name : `${strip}/${name}`) ?? null,
    at: archive,
  });
  return archive(file);
}

/** The normalized tar of entries held in memory (as normalizedTar makes it of the file). */
function heldTar(entries: readonly HeldEntry[], options: NormalizeOptions): Readable {
  return packStream(async (pack) => {
    for (const { entry, body } of entries) {
      const header = headerFor(entry, options);
      if (header === null) continue;
      await new Promise<void>((resolve, reject) => {
        pack.entry(header, body, (error) => {
          if (error) reject(error);
          else resolve();
        });
      });
    }
  });
}

/** A new stream of bytes made once. */
function replay(bytes: Promise<Buffer>): Readable {
  return Readable.from(
    (async function* () {
      yield await bytes;
    })(),
    { objectMode: false },
  );
}

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

type EntryHandler = (header: tar.Header, body: Readable) => Promise<void>;

/** Streams file -> sha256 + gunzip -> tar parser, calling onEntry per entry. Returns the checksum. */
async function scan(
  file: string,
  limits: SourceArchiveLimits,
  signal: AbortSignal | undefined,
  onEntry: EntryHandler,
): Promise<string> {
  const hash = createHash("sha256");
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  const extract = tar.extract();
  const parsing = (async () => {
    for await (const entry of extract) await onEntry(entry.header, asNodeReadable(entry));
  })();
  try {
    await Promise.all([
      pipeline(
        createReadStream(file),
        hashing,
        createGunzip(),
        byteCap(expansionLimit(limits)),
        extract,
        signal ? { signal } : {},
      ),
      parsing,
    ]);
  } catch (error) {
    extract.destroy();
    await parsing.catch(() => undefined);
    throw asValidationError(error);
  }
  return `sha256:${hash.digest("hex")}`;
}

/** Tar headers, padding and pax records on top of the file bytes; generous, still bounded. */
function expansionLimit(limits: SourceArchiveLimits): number {
  return limits.maxBytes + (limits.maxEntries + 4) * 3 * 512 + 10 * 1024 * 1024;
}

/** Stops a decompression bomb of tar padding or trailing zeros the entry limits don't see. */
function byteCap(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      seen += chunk.length;
      if (seen > limit) {
        callback(new ValidationError(`source archive expands to more than ${limit} bytes`));
        return;
      }
      callback(null, chunk);
    },
  });
}

interface NormalizeOptions {
  readonly limits: SourceArchiveLimits;
  readonly root: string;
  readonly strip: string;
  readonly checksum: string;
  readonly signal: AbortSignal | undefined;
}

function normalizedTar(file: string, options: NormalizeOptions): Readable {
  const checker = new EntryChecker(options.limits);
  return packStream(async (pack) => {
    const checksum = await scan(file, options.limits, options.signal, async (header, body) => {
      const entry = checker.check(header);
      const outHeader = headerFor(entry, options);
      if (outHeader === null) {
        await drain(body);
        return;
      }
      await pipeline(body, pack.entry(outHeader));
    });
    if (checksum !== options.checksum) {
      throw new ValidationError("source archive changed while it was being read");
    }
  });
}

function headerFor(entry: CheckedEntry, options: NormalizeOptions): PackHeader | null {
  const path = stripTop(entry.path, options.strip);
  if (path === null) return null;
  const name = path === "" ? options.root : `${options.root}/${path}`;
  const common = { uid: 0, gid: 0, uname: "root", gname: "root", mtime: entry.mtime };
  switch (entry.kind) {
    case "directory":
      return { ...common, name, type: "directory", mode: 0o755 };
    case "file":
      return {
        ...common,
        name,
        type: "file",
        size: entry.size,
        mode: entry.executable ? 0o755 : 0o644,
      };
    case "symlink":
      return { ...common, name, type: "symlink", linkname: entry.linkname ?? "", mode: 0o777 };
    case "link": {
      const target = stripTop(entry.linkname ?? "", options.strip);
      return {
        ...common,
        name,
        type: "link",
        linkname: `${options.root}/${target ?? ""}`,
        mode: 0o644,
      };
    }
  }
}

/** "top/a/b" -> "a/b" when stripping "top"; the top directory itself maps to "". */
function stripTop(path: string, strip: string): string | null {
  if (strip === "") return path;
  if (path === strip) return "";
  if (path.startsWith(`${strip}/`)) return path.slice(strip.length + 1);
  return path === "" ? null : path;
}

async function drain(body: Readable): Promise<void> {
  body.resume();
  await finished(body);
}

/** Malformed input becomes a ValidationError; I/O errors and aborts stay what they are. */
function asValidationError(error: unknown): unknown {
  if (!(error instanceof Error) || error instanceof ValidationError) return error;
  const code = (error as NodeJS.ErrnoException).code ?? "";
  if (error.name === "AbortError" || /^E[A-Z]+$/.test(code)) return error;
  const message = error.message;
  const gzip = code.startsWith("Z_");
  return new ValidationError(
    gzip
      ? `source archive is not a valid gzip file (${message})`
      : `source archive is not a valid tar archive (${message})`,
    [],
    { cause: error },
  );
}
