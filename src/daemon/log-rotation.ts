import { copyFile, stat, truncate } from "node:fs/promises";

/**
 * Size-based rotation of logs that child processes write through an inherited file
 * descriptor opened for appending (the daemon's own log, HAProxy's): once a file passes
 * maxBytes it is copied to FILE.1 (replacing the older copy) and truncated in place.
 * Writers keep their descriptor, and O_APPEND makes their next line land at the new end;
 * lines written between the copy and the truncation are lost, which is the price of not
 * signalling the writers. Returns whether it rotated.
 */
export async function rotateBySize(file: string, maxBytes: number): Promise<boolean> {
  const size = await stat(file).then(
    (s) => s.size,
    () => 0,
  );
  if (size <= maxBytes) return false;
  await copyFile(file, `${file}.1`);
  await truncate(file, 0);
  return true;
}

/** Checks the files every intervalMs until the returned function is called. */
export function rotateEvery(
  files: readonly string[],
  maxBytes: number,
  intervalMs: number,
  onError: (file: string, error: unknown) => void,
): () => void {
  const timer = setInterval(() => {
    for (const file of files) {
      rotateBySize(file, maxBytes).catch((error: unknown) => {
        onError(file, error);
      });
    }
  }, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
  };
}
