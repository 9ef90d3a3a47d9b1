import { PassThrough, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import tar, { type Extract, type Pack } from "tar-stream";

/** What pack.entry() accepts: a name and any other header fields. */
export type PackHeader = Parameters<Pack["entry"]>[0];
/** An entry's body as tar-stream's extract yields it. */
type Source = Extract extends AsyncIterable<infer S> ? S : never;

/**
 * tar-stream's streams are streamx streams: they speak the protocol node:stream's pipeline()
 * relies on (pipe, 'data'/'end'/'close', async iteration); only their TypeScript types
 * differ from Readable's. This cast is the one place that bridges the types.
 */
export function asNodeReadable(stream: Pack | Source): Readable {
  return stream as unknown as Readable;
}

/**
 * A tar stream whose entries `produce` adds. Errors from either side end the returned
 * stream with that error, so whoever consumes it (putArchive, a file) sees the failure.
 */
export function packStream(produce: (pack: Pack) => Promise<void>): Readable {
  const pack = tar.pack();
  const out = new PassThrough();
  const producing = produce(pack).then(() => {
    pack.finalize();
  });
  // Promise.all handles both rejections; the first one is the cause worth reporting.
  Promise.all([pipeline(asNodeReadable(pack), out), producing]).catch((error: unknown) => {
    pack.destroy();
    out.destroy(error instanceof Error ? error : new Error(String(error)));
  });
  return out;
}

/**
 * Feeds `input` to a tar parser and calls onEntry for each entry, in order. onEntry must
 * consume the entry's body. Resolves when both the input and the entries are done.
 */
export async function forEachTarEntry(
  input: Readable,
  onEntry: (entry: Source) => Promise<void>,
): Promise<void> {
  const extract = tar.extract();
  const consume = async (): Promise<void> => {
    for await (const entry of extract) await onEntry(entry);
  };
  try {
    await Promise.all([pipeline(input, extract), consume()]);
  } catch (error) {
    input.destroy();
    extract.destroy();
    throw error;
  }
}
