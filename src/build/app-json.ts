import type { Readable } from "node:stream";
import { finished } from "node:stream/promises";
import { parseAppJson, type AppManifest } from "../domain/app-manifest.ts";
import { BuildFailedError, ValidationError } from "../domain/errors.ts";
import { asNodeReadable, forEachTarEntry } from "./tar-stream-node.ts";

const MAX_BYTES = 64 * 1024;

/**
 * Reads and parses `app.json` at the root of a source tar (SourceArchive.tar(), entries
 * under "src/"). Returns null when there is none. A malformed one fails the build with a
 * BuildFailedError that says what is wrong, before any build container starts.
 */
export async function readAppManifest(tar: Readable, root = "src"): Promise<AppManifest | null> {
  const found: { text: string | null } = { text: null };
  await forEachTarEntry(tar, async (entry) => {
    const body = asNodeReadable(entry);
    if (
      entry.header.type !== "file" ||
      entry.header.name.replace(/^\.\//, "") !== `${root}/app.json`
    ) {
      await finished(body.resume());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body) {
      const buffer = chunk as Buffer;
      size += buffer.length;
      if (size > MAX_BYTES)
        throw new BuildFailedError(`malformed app.json: larger than ${MAX_BYTES} bytes`);
      chunks.push(buffer);
    }
    found.text = Buffer.concat(chunks).toString("utf8");
  });
  if (found.text === null) return null;
  try {
    return parseAppJson(found.text);
  } catch (error) {
    if (error instanceof ValidationError) {
      throw new BuildFailedError(
        `${error.message}${error.details.length > 1 ? ` (${error.details.join("; ")})` : ""}`,
      );
    }
    throw error;
  }
}
