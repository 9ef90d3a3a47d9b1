import { createReadStream } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Pack } from "tar-stream";
import { packStream, type PackHeader } from "./tar-stream-node.ts";

/** A file to put in a tar: from disk (`path`) or from memory (`content`). */
export type PackInput =
  | { readonly name: string; readonly path: string; readonly mode?: number }
  | { readonly name: string; readonly content: string | Buffer; readonly mode?: number };

/**
 * A tar stream of in-memory files, files from disk and whole directories (recursively, under
 * `prefix`), owned by root. Used to put buildpacks, CA bundles and the launcher into
 * containers with Engine.putArchive.
 */
export function packTar(
  files: readonly PackInput[],
  directories: readonly { readonly dir: string; readonly prefix: string }[] = [],
): Readable {
  return packStream(async (pack) => {
    for (const { dir, prefix } of directories) await addDirectory(pack, dir, prefix);
    for (const file of files) {
      if ("content" in file) {
        pack.entry(owned({ name: file.name, mode: file.mode ?? 0o644 }), file.content);
      } else {
        const { size } = await lstat(file.path);
        await pipeline(
          createReadStream(file.path),
          pack.entry(owned({ name: file.name, size, mode: file.mode ?? 0o644 })),
        );
      }
    }
  });
}

async function addDirectory(pack: Pack, dir: string, prefix: string): Promise<void> {
  pack.entry(owned({ name: prefix, type: "directory", mode: 0o755 }));
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    const name = `${prefix}/${entry.name}`;
    if (entry.isDirectory()) {
      await addDirectory(pack, path, name);
    } else if (entry.isSymbolicLink()) {
      pack.entry(owned({ name, type: "symlink", linkname: await readlink(path), mode: 0o777 }));
    } else if (entry.isFile()) {
      const { size, mode } = await lstat(path);
      await pipeline(
        createReadStream(path),
        pack.entry(owned({ name, size, mode: mode & 0o111 ? 0o755 : 0o644 })),
      );
    }
  }
}

function owned(header: PackHeader): PackHeader {
  return { ...header, uid: 0, gid: 0, uname: "root", gname: "root", mtime: new Date(0) };
}

/** What ends a tar archive: two zero blocks (tar-stream writes exactly these). */
const END_OF_ARCHIVE = 1024;

/**
 * One tar archive of several: each part's entries in turn. Every part but the last loses
 * its end-of-archive blocks (an extractor stops at the first); a part that does not end
 * with them fails the stream. One upload instead of one per part (a round trip to the
 * engine and a copy into the container each).
 */
export function joinTars(parts: readonly Readable[]): Readable {
  return Readable.from(
    (async function* () {
      try {
        for (const [index, part] of parts.entries()) {
          if (index === parts.length - 1) {
            yield* part;
            return;
          }
          let held = Buffer.alloc(0);
          for await (const chunk of part as AsyncIterable<Buffer>) {
            held = Buffer.concat([held, chunk]);
            if (held.length > END_OF_ARCHIVE) {
              yield held.subarray(0, held.length - END_OF_ARCHIVE);
              held = held.subarray(held.length - END_OF_ARCHIVE);
            }
          }
          if (held.length !== END_OF_ARCHIVE || held.some((byte) => byte !== 0)) {
            throw new Error(
              `part ${String(index + 1)} of a joined tar has no end-of-archive blocks`,
            );
          }
        }
      } finally {
        for (const part of parts) part.destroy();
      }
    })(),
    { objectMode: false },
  );
}
