import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { finished } from "node:stream/promises";
import type { SlugFile } from "./app-rootfs.ts";
import { below, EPOCH, isPlatformOwn, KEPT_TYPES, OWNER, parentDirs } from "./slug-entries.ts";
import { asNodeReadable, forEachTarEntry, packStream, type PackHeader } from "./tar-stream-node.ts";

/**
 * The app's own files as two layers, so that a warm deploy stores no new layer after its
 * build: the source, known when the push arrives (sourceLayer: loaded while the buildpacks
 * run), and on top of the runtime and dependencies, below the source, what the build added
 * to it (splitSlug: .profile.d, Slipway's launcher; the same from one warm build to the
 * next, so a cached layer image). The image then has the files the slug has, exactly: the
 * split holds only when every file of the source is in the slug unchanged (type, mode,
 * content), and else the slug becomes one layer as before.
 */

/** Most bytes of files the source layer, or the files a build added, may hold. */
export const APP_FILES_MAX_BYTES = 64 * 1024 * 1024;

/** What the slug must have at a path for the source layer to stand for it. */
interface Expected {
  readonly type: "file" | "directory" | "symlink";
  readonly mode: number;
  /** A file's sha256, a symlink's target, "" for a directory. */
  readonly content: string;
}

export interface SourceLayer {
  /** Every entry of the layer, by its path below /app. */
  readonly expected: ReadonlyMap<string, Expected>;
  /** The layer's tar: app/ and each entry below it, owned by the app user, at time 0. */
  readonly tar: Buffer;
}

/** An entry, its header as the layer gets it, and its bytes. */
interface HeldEntry {
  readonly header: PackHeader;
  readonly body: Buffer;
}

/**
 * The source's layer from its normalized tar (SourceArchive.tar(): entries below `root`),
 * or undefined when the source cannot be one: a hard link (which of two paths a tar
 * holds as the file is the packer's choice), a .slugignore (the build removes files), or
 * more than `maxBytes` of files. Directories the tar implies are added as 0755, as
 * extracting it makes them. Reads the whole stream.
 */
export async function sourceLayer(
  source: Readable,
  root: string,
  maxBytes = APP_FILES_MAX_BYTES,
): Promise<SourceLayer | undefined> {
  const expected = new Map<string, Expected>();
  const entries: HeldEntry[] = [appDir("app")];
  // Set in the callback: an object, so that the checks below are not narrowed away.
  const state = { fits: true, bytes: 0 };
  await forEachTarEntry(source, async (entry) => {
    const { header } = entry;
    const body = asNodeReadable(entry);
    const rel = below(header.name, root);
    if (rel === null || rel === "" || isPlatformOwn(rel) || !state.fits) {
      await finished(body.resume());
      return;
    }
    state.bytes += header.size;
    const type = layerType(header.type);
    const bad = type === undefined || rel === ".slugignore" || expected.has(rel);
    if (bad || state.bytes > maxBytes) {
      state.fits = false;
      await finished(body.resume());
      return;
    }
    const content = await read(body);
    for (const dir of parentDirs(rel)) {
      if (expected.has(dir)) continue;
      expected.set(dir, { type: "directory", mode: 0o755, content: "" });
      entries.push(appDir(`app/${dir}`));
    }
    const mode = header.mode & 0o777;
    const linkname = header.linkname;
    expected.set(rel, { type, mode, content: contentOf(type, content, linkname) });
    entries.push(held(`app/${rel}`, type, mode, linkname, content));
  });
  return state.fits ? { expected, tar: await tarOf(entries) } : undefined;
}

export interface SlugSplit {
  /** The slug's entries the source does not have, as a slug tar (root "slug"). */
  readonly added: Buffer;
  /** sha256 of those entries and the extra files: the key of their layer image. */
  readonly digest: string;
}

/**
 * Splits the slug (Engine.getArchive of the build's slug: one root directory) against the
 * source layer: undefined unless every entry of the source is in it unchanged and it has
 * no hard link, else the entries the source does not have (new files, and directories
 * the source lacks), at most `maxBytes` of them. Reads the whole stream.
 */
export async function splitSlug(
  slug: Readable,
  source: SourceLayer,
  extra: readonly SlugFile[],
  maxBytes = APP_FILES_MAX_BYTES,
): Promise<SlugSplit | undefined> {
  const added: HeldEntry[] = [appDir("slug")];
  const matched = new Set<string>();
  let root: string | undefined;
  const state = { fits: true, bytes: 0 };
  await forEachTarEntry(slug, async (entry) => {
    const { header } = entry;
    const body = asNodeReadable(entry);
    root ??= header.name.replace(/^\.\//, "").split("/")[0] ?? "";
    const rel = below(header.name, root);
    const skipped = rel === null || rel === "" || !KEPT_TYPES.has(header.type);
    if (skipped || isPlatformOwn(rel) || !state.fits) {
      await finished(body.resume());
      return;
    }
    const type = layerType(header.type);
    if (type === undefined) {
      state.fits = false; // a hard link
      await finished(body.resume());
      return;
    }
    const content = await read(body);
    const mode = header.mode & 0o777;
    const linkname = header.linkname;
    const want = source.expected.get(rel);
    if (want !== undefined) {
      const same =
        want.type === type &&
        want.mode === mode &&
        want.content === contentOf(type, content, linkname);
      if (same) matched.add(rel);
      else state.fits = false;
      return;
    }
    state.bytes += content.length;
    if (state.bytes > maxBytes) {
      state.fits = false;
      return;
    }
    added.push(held(`slug/${rel}`, type, mode, linkname, content));
  });
  if (!state.fits || matched.size !== source.expected.size) return undefined;
  const tar = await tarOf(added);
  const hash = createHash("sha256").update(tar);
  for (const file of extra) {
    hash.update(
      `\n${file.path} ${file.mode.toString(8)} ${String(Buffer.byteLength(file.content))}\n`,
    );
    hash.update(file.content);
  }
  return { added: tar, digest: hash.digest("hex") };
}

function layerType(type: string | null | undefined): Expected["type"] | undefined {
  return type === "file" || type === "directory" || type === "symlink" ? type : undefined;
}

function contentOf(type: Expected["type"], content: Buffer, linkname: string): string {
  if (type === "file") return createHash("sha256").update(content).digest("hex");
  return type === "symlink" ? linkname : "";
}

/** An entry as a layer holds it: the app user's, at time 0, a symlink with its target. */
function held(
  name: string,
  type: Expected["type"],
  mode: number,
  linkname: string,
  body: Buffer,
): HeldEntry {
  const link = type === "symlink" ? { linkname } : {};
  return { header: { ...OWNER, name, type, mode, mtime: EPOCH, ...link }, body };
}

function appDir(name: string): HeldEntry {
  return held(name, "directory", 0o755, "", Buffer.alloc(0));
}

async function read(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function tarOf(entries: readonly HeldEntry[]): Promise<Buffer> {
  const stream = packStream((pack) => {
    for (const entry of entries) pack.entry(entry.header, entry.body);
    return Promise.resolve();
  });
  return read(stream);
}
