import { Readable } from "node:stream";
import tar from "tar-stream";

/**
 * Small in-memory tar archives: the fake engine's archive calls, the contract suite's
 * uploads and the test images' root filesystems. Not for large data (everything is held
 * in memory); the build pipeline streams its archives instead.
 */
export interface TarFile {
  /** Relative path inside the archive, without a leading "/" (directories too). */
  readonly path: string;
  readonly type: "file" | "directory" | "symlink";
  readonly data: Buffer;
  readonly mode: number;
  /** Symlink target. */
  readonly linkname?: string;
}

/** A regular file entry. */
export function tarFile(path: string, content: string | Buffer, mode = 0o644): TarFile {
  return { path, type: "file", data: Buffer.from(content), mode };
}

/** A directory entry. */
export function tarDirectory(path: string, mode = 0o755): TarFile {
  return { path, type: "directory", data: Buffer.alloc(0), mode };
}

/** A symbolic link entry. */
export function tarSymlink(path: string, target: string): TarFile {
  return { path, type: "symlink", data: Buffer.alloc(0), mode: 0o777, linkname: target };
}

/** Packs the files, in order, into a tar stream. */
export function packTar(files: readonly TarFile[]): Readable {
  const pack = tar.pack();
  for (const file of files) {
    pack.entry(
      {
        name: file.path,
        type: file.type,
        mode: file.mode,
        size: file.type === "file" ? file.data.length : 0,
        ...(file.linkname === undefined ? {} : { linkname: file.linkname }),
      },
      file.type === "file" ? file.data : Buffer.alloc(0),
    );
  }
  pack.finalize();
  // tar-stream's packs are streamx streams; Readable.from gives callers a node:stream one.
  return Readable.from(pack);
}

/** Reads a whole tar stream; paths lose any leading "./" or "/". Other entry types are skipped. */
export async function unpackTar(source: Readable): Promise<TarFile[]> {
  const extract = tar.extract();
  source.on("error", (error) => {
    extract.destroy(error);
  });
  source.pipe(extract);
  const files: TarFile[] = [];
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    const { header } = entry;
    const path = header.name.replace(/^(\.\/|\/)+/, "").replace(/\/$/, "");
    const { mode } = header;
    if (header.type === "file" || header.type === "contiguous-file") {
      files.push({ path, type: "file", data: Buffer.concat(chunks), mode });
    } else if (header.type === "directory") {
      files.push({ path, type: "directory", data: Buffer.alloc(0), mode });
    } else if (header.type === "symlink" && header.linkname) {
      files.push({ path, type: "symlink", data: Buffer.alloc(0), mode, linkname: header.linkname });
    }
  }
  return files;
}
