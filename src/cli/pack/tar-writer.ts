/**
 * A small streaming tar writer: POSIX ustar headers for regular files, directories and
 * symlinks, with a PAX extended header when a path or link target does not fit ustar's
 * fields. Owners are written as 0:0 and modes without setuid/setgid/sticky, because an
 * upload's ownership means nothing on the server.
 */

/** One entry of the archive. Paths are relative, '/'-separated, without a leading "./". */
export type TarEntry =
  | {
      readonly type: "file";
      readonly path: string;
      readonly mode: number;
      /** Modification time, seconds since the epoch. */
      readonly mtime: number;
      readonly size: number;
      /** The file's bytes; must yield exactly `size` bytes. */
      readonly content: () => AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
    }
  | {
      readonly type: "directory";
      readonly path: string;
      readonly mode: number;
      readonly mtime: number;
    }
  | {
      readonly type: "symlink";
      readonly path: string;
      readonly mode: number;
      readonly mtime: number;
      readonly target: string;
    };

const BLOCK = 512;
const MAX_OCTAL_11 = 0o77777777777;
const TYPE_FLAG = { file: "0", symlink: "2", directory: "5" } as const;

/** Streams the archive of entries, ending with the two zero blocks tar requires. */
export async function* writeTar(
  entries: AsyncIterable<TarEntry> | Iterable<TarEntry>,
): AsyncGenerator<Uint8Array> {
  for await (const entry of entries) {
    yield* headerBlocks(entry);
    if (entry.type !== "file") continue;
    let written = 0;
    for await (const chunk of entry.content()) {
      written += chunk.byteLength;
      if (written > entry.size) break;
      yield chunk;
    }
    if (written !== entry.size) {
      throw new Error(
        `${entry.path} changed while it was being archived (${entry.size} bytes expected)`,
      );
    }
    yield padding(entry.size);
  }
  yield new Uint8Array(2 * BLOCK);
}

/** The header block(s) of an entry: a PAX header first when ustar cannot hold it. */
export function headerBlocks(entry: TarEntry): Uint8Array[] {
  const name = entry.type === "directory" ? `${entry.path.replace(/\/$/, "")}/` : entry.path;
  const linkname = entry.type === "symlink" ? entry.target : "";
  const size = entry.type === "file" ? entry.size : 0;
  if (size > MAX_OCTAL_11)
    throw new Error(`${entry.path} is too large for an archive (${size} bytes)`);

  const split = splitName(name);
  const pax: [string, string][] = [];
  if (split === undefined) pax.push(["path", name]);
  if (byteLength(linkname) > 100) pax.push(["linkpath", linkname]);

  const header = ustarHeader({
    name: split?.name ?? truncate(name, 100),
    prefix: split?.prefix ?? "",
    mode: entry.mode & 0o777,
    size,
    mtime: Math.min(Math.max(0, Math.floor(entry.mtime)), MAX_OCTAL_11),
    typeflag: TYPE_FLAG[entry.type],
    linkname: byteLength(linkname) > 100 ? truncate(linkname, 100) : linkname,
  });
  if (pax.length === 0) return [header];

  const records = Buffer.from(pax.map(([key, value]) => paxRecord(key, value)).join(""), "utf8");
  const paxHeader = ustarHeader({
    name: truncate(`PaxHeader/${name.replace(/\/$/, "").split("/").at(-1) ?? ""}`, 100),
    prefix: "",
    mode: 0o644,
    size: records.length,
    mtime: 0,
    typeflag: "x",
    linkname: "",
  });
  return [paxHeader, records, padding(records.length), header];
}

interface UstarFields {
  readonly name: string;
  readonly prefix: string;
  readonly mode: number;
  readonly size: number;
  readonly mtime: number;
  readonly typeflag: string;
  readonly linkname: string;
}

function ustarHeader(fields: UstarFields): Uint8Array {
  const block = Buffer.alloc(BLOCK);
  block.write(fields.name, 0, 100, "utf8");
  writeOctal(block, 100, 8, fields.mode);
  writeOctal(block, 108, 8, 0); // uid
  writeOctal(block, 116, 8, 0); // gid
  writeOctal(block, 124, 12, fields.size);
  writeOctal(block, 136, 12, fields.mtime);
  block.write(" ".repeat(8), 148, 8, "ascii"); // checksum counts as spaces while summing
  block.write(fields.typeflag, 156, 1, "ascii");
  block.write(fields.linkname, 157, 100, "utf8");
  block.write("ustar\u000000", 257, 8, "ascii");
  block.write(fields.prefix, 345, 155, "utf8");
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, "0")}\u0000 `, 148, 8, "ascii");
  return block;
}

/** Octal digits filling width - 1 bytes and a terminating NUL, as ustar expects. */
function writeOctal(block: Buffer, offset: number, width: number, value: number): void {
  block.write(`${value.toString(8).padStart(width - 1, "0")}\u0000`, offset, width, "ascii");
}

/** Splits a path into ustar's prefix (<= 155 bytes) and name (<= 100 bytes) at a '/'. */
function splitName(path: string): { name: string; prefix: string } | undefined {
  if (byteLength(path) <= 100) return { name: path, prefix: "" };
  // A directory's trailing '/' belongs to the name part, so search before it.
  for (
    let cut = path.lastIndexOf("/", path.length - 2);
    cut > 0;
    cut = path.lastIndexOf("/", cut - 1)
  ) {
    const prefix = path.slice(0, cut);
    const name = path.slice(cut + 1);
    if (byteLength(name) > 100) return undefined;
    if (byteLength(prefix) <= 155) return { name, prefix };
  }
  return undefined;
}

/** A PAX record: "LENGTH key=value\n", where LENGTH counts the whole record itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLength = byteLength(body);
  // The length includes its own digits: iterate to the fixed point (at most two steps).
  let length = bodyLength + 1;
  while (bodyLength + String(length).length !== length) length = bodyLength + String(length).length;
  return `${length}${body}`;
}

function padding(size: number): Uint8Array {
  return new Uint8Array((BLOCK - (size % BLOCK)) % BLOCK);
}

function byteLength(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

/** The longest prefix of text that fits in bytes without cutting a UTF-8 sequence. */
function truncate(text: string, bytes: number): string {
  let out = "";
  for (const char of text) {
    if (byteLength(out + char) > bytes) break;
    out += char;
  }
  return out;
}
