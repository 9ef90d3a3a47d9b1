import type { Readable } from "node:stream";
import { finished, pipeline } from "node:stream/promises";
import type { Pack } from "tar-stream";
import { BuildFailedError } from "../domain/errors.ts";
import { asNodeReadable, forEachTarEntry, packStream, type PackHeader } from "./tar-stream-node.ts";

/** uid and gid of the stack's `app` user, who owns /app in app images. */
export const APP_UID = 1000;

export interface SlugFile {
  /** Path below /app, e.g. ".slipway/launch". */
  readonly path: string;
  readonly content: string | Buffer;
  readonly mode: number;
}

export interface AppRootfsInput {
  /** The stack's run root filesystem tarball. */
  readonly runRootfs: Readable;
  /** The build's slug directory as Engine.getArchive returns it (entries "slug/..."). */
  readonly slug: Readable;
  /** Slipway's own files for /app (launcher, process types). */
  readonly extra: readonly SlugFile[];
  /** More trees for /app, read after the slug (the parts the runner moved out of it). */
  readonly parts?: readonly (() => Promise<Readable>)[];
}

const KEPT_TYPES = new Set(["file", "directory", "symlink", "link"]);
const EPOCH = new Date(0);
const APP_OWNER = { uid: APP_UID, gid: APP_UID, uname: "app", gname: "app" };

/**
 * The complete root filesystem of an app image: the run stack, then the slug as /app owned
 * by the app user (setuid bits dropped), then `extra`. Imported as one image.
 *
 * Why not commit a container: Podman 4.3 writes a user-namespaced (`userns=auto`)
 * container's files into the committed layer with their *host* uids (2147549181...), and
 * no container can then be created from that image. Importing a tar whose owners we set
 * ourselves has no such trap, and keeps working on Docker too.
 */
export function appRootfs(input: AppRootfsInput): Readable {
  return packStream(async (pack) => {
    await copyRunRootfs(pack, input.runRootfs);
    await addSlug(pack, input.slug);
    for (const open of input.parts ?? []) await addSlug(pack, await open(), false);
    for (const dir of new Set(input.extra.flatMap((file) => parentDirs(file.path)))) {
      pack.entry({
        ...APP_OWNER,
        name: `app/${dir}`,
        type: "directory",
        mode: 0o755,
        mtime: EPOCH,
      });
    }
    for (const file of input.extra) {
      pack.entry(
        { ...APP_OWNER, name: `app/${file.path}`, mode: file.mode, mtime: EPOCH },
        file.content,
      );
    }
  });
}

async function copyRunRootfs(pack: Pack, runRootfs: Readable): Promise<void> {
  await forEachTarEntry(runRootfs, async (entry) => {
    const { header } = entry;
    const body = asNodeReadable(entry);
    const name = header.name.replace(/^\.\//, "").replace(/\/$/, "");
    // The stack's empty /app comes from the slug instead.
    if (name === "" || name === "app") {
      await finished(body.resume());
      return;
    }
    const copy: PackHeader = {
      name,
      type: header.type,
      mode: header.mode,
      uid: header.uid,
      gid: header.gid,
      uname: header.uname,
      gname: header.gname,
      mtime: header.mtime,
      size: header.type === "file" ? header.size : 0,
      ...(header.type === "link" ? { linkname: header.linkname.replace(/^\.\//, "") } : {}),
      ...(header.type === "symlink" ? { linkname: header.linkname } : {}),
      ...(header.type === "character-device" || header.type === "block-device"
        ? { devmajor: header.devmajor, devminor: header.devminor }
        : {}),
    };
    await pipeline(body, pack.entry(copy));
  });
}

async function addSlug(pack: Pack, slug: Readable, withRoot = true): Promise<void> {
  let root: string | undefined;
  await forEachTarEntry(slug, async (entry) => {
    const { header } = entry;
    const body = asNodeReadable(entry);
    root ??= header.name.split("/")[0] ?? "";
    const name = renameRoot(header.name, root);
    // Only plain entries; and /app/.slipway is Slipway's, whatever the app brought along.
    if (
      name === null ||
      (name === "app" && !withRoot) ||
      !KEPT_TYPES.has(header.type) ||
      name.startsWith("app/.slipway")
    ) {
      await finished(body.resume());
      return;
    }
    // Built field by field: the engine's own pax records (host uids) must not come along.
    const renamed: PackHeader = {
      ...APP_OWNER,
      name,
      type: header.type,
      mode: header.mode & 0o777,
      size: header.type === "file" ? header.size : 0,
      mtime: header.mtime,
      ...(header.type === "link" ? { linkname: renameRoot(header.linkname, root) ?? "" } : {}),
      ...(header.type === "symlink" ? { linkname: header.linkname } : {}),
    };
    await pipeline(body, pack.entry(renamed));
  });
  if (root === undefined) throw new BuildFailedError("the build produced an empty slug");
}

/** ".slipway/processes/web" -> [".slipway", ".slipway/processes"] */
function parentDirs(path: string): string[] {
  const parts = path.split("/").slice(0, -1);
  return parts.map((_, index) => parts.slice(0, index + 1).join("/"));
}

/** "slug/x" -> "app/x", "slug" -> "app"; null for anything outside the slug directory. */
function renameRoot(name: string, root: string): string | null {
  const clean = name.replace(/\/+$/, "");
  if (clean === root) return "app";
  if (clean.startsWith(`${root}/`)) return `app/${clean.slice(root.length + 1)}`;
  return null;
}
