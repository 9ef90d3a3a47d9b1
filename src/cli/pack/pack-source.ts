import { stat } from "node:fs/promises";
import { pipeline, Readable } from "node:stream";
import { createGzip } from "node:zlib";
import { UsageError } from "../errors.ts";
import { sourceEntries, type SkippedEntry } from "./source-tree.ts";
import { writeTar } from "./tar-writer.ts";

/**
 * Packs a directory into a gzip-compressed tar stream for upload, without a temporary file.
 * An error while packing (a file vanished) surfaces as an error of the returned stream.
 */
export async function packSource(
  dir: string,
  onSkip: (skipped: SkippedEntry) => void = () => undefined,
): Promise<Readable> {
  const stats = await stat(dir).catch((error: unknown) => {
    throw new UsageError(
      `cannot read ${dir}: ${error instanceof Error ? error.message : String(error)}`,
    );
  });
  if (!stats.isDirectory()) throw new UsageError(`${dir} is not a directory`);
  // pipeline() destroys the gzip stream with the first error, which is how the consumer
  // learns of it; the callback has nothing left to do.
  return pipeline(
    Readable.from(writeTar(sourceEntries(dir, onSkip))),
    createGzip(),
    () => undefined,
  );
}
