const encoder = new TextEncoder();

/**
 * Turns log lines into a streaming text body, one line per chunk as it arrives. The first
 * line is awaited before the response starts, so a log that cannot be opened still becomes
 * a proper error response instead of a truncated 200. When the client goes away, abort()
 * runs and the iterator is closed so the producer stops following.
 */
export async function linesBody(
  lines: AsyncIterable<string>,
  abort: () => void,
): Promise<ReadableStream<Uint8Array>> {
  const iterator = lines[Symbol.asyncIterator]();
  let first: IteratorResult<string> | undefined = await iterator.next();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = first ?? (await iterator.next());
      first = undefined;
      if (next.done === true) controller.close();
      else controller.enqueue(encoder.encode(`${next.value}\n`));
    },
    async cancel() {
      abort();
      await iterator.return?.();
    },
  });
}
