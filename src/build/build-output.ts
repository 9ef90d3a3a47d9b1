import { finished, pipeline } from "node:stream/promises";
import { PassThrough, type Readable } from "node:stream";
import tar from "tar-stream";
import { ValidationError } from "../domain/errors.ts";
import { asNodeReadable, type PackHeader } from "./tar-stream-node.ts";

/**
 * What the build runner leaves for the platform, in one directory (/workspace/out): meta/
 * (what the build recorded) and slug/ (the compiled app). Both come from one archive read
 * of that directory, not two: each read is an engine request of about 20 ms, and Podman
 * answers them one at a time. An archive of a directory lists it in lexical order (Go's
 * filepath.Walk), so every meta/ entry comes before the first slug/ one, and the metadata
 * is known before the slug is read.
 */
export interface BuildOutput {
  /** meta/'s regular files by name ("meta/Procfile"), once its last entry was read. */
  readonly meta: Promise<Map<string, Buffer>>;
  /**
   * slug/'s entries as a tar of their own ("slug", "slug/..."), as an archive read of
   * the slug directory gives them. Read it after meta resolved; destroy it if unread.
   */
  readonly slug: Readable;
}

/** Splits the archive of /workspace/out; meta/'s files may hold maxMetaBytes in all. */
export function splitBuildOutput(archive: Readable, maxMetaBytes: number): BuildOutput {
  const extract = tar.extract();
  const pack = tar.pack();
  const slug = new PassThrough();
  let metaRead = false;
  let settleMeta: { resolve(files: Map<string, Buffer>): void; reject(error: unknown): void };
  const meta = new Promise<Map<string, Buffer>>((resolve, reject) => {
    settleMeta = { resolve, reject };
  });
  meta.catch(() => undefined); // the caller may stop before it asks
  const files = new Map<string, Buffer>();
  let metaBytes = 0;

  const split = async (): Promise<void> => {
    for await (const entry of extract) {
      const body = asNodeReadable(entry);
      const name = below(entry.header.name);
      if (name === null || name === "") {
        // out/ itself.
        await finished(body.resume());
        continue;
      }
      if (name === "meta" || name.startsWith("meta/")) {
        if (metaRead) throw new ValidationError(`the build output lists ${name} after the slug`);
        if (entry.header.type !== "file") {
          await finished(body.resume());
          continue;
        }
        const chunks: Buffer[] = [];
        for await (const chunk of body) {
          metaBytes += (chunk as Buffer).length;
          if (metaBytes > maxMetaBytes) {
            throw new ValidationError(`the build's metadata holds more than ${maxMetaBytes} bytes`);
          }
          chunks.push(chunk as Buffer);
        }
        files.set(name, Buffer.concat(chunks));
        continue;
      }
      if (!metaRead) {
        metaRead = true;
        settleMeta.resolve(files);
      }
      if (name !== "slug" && !name.startsWith("slug/")) {
        await finished(body.resume());
        continue;
      }
      const { header } = entry;
      const copy: PackHeader = {
        ...header,
        name,
        // A hard link names the file it shares, by its path in the same archive.
        ...(header.type === "link" ? { linkname: below(header.linkname) ?? "" } : {}),
      };
      await pipeline(body, pack.entry(copy));
    }
    if (!metaRead) {
      metaRead = true;
      settleMeta.resolve(files);
    }
    pack.finalize();
  };

  Promise.all([pipeline(archive, extract), split(), pipeline(asNodeReadable(pack), slug)]).catch(
    (error: unknown) => {
      settleMeta.reject(error);
      archive.destroy();
      extract.destroy();
      pack.destroy();
      slug.destroy(error instanceof Error ? error : new Error(String(error)));
    },
  );
  return { meta, slug };
}

/** "out/meta/x" -> "meta/x", "out" -> "" (any top directory); null for a bare name. */
function below(name: string): string | null {
  const clean = name.replace(/^\.\//, "").replace(/\/+$/, "");
  const slash = clean.indexOf("/");
  return slash < 0 ? (clean === "" ? null : "") : clean.slice(slash + 1);
}
