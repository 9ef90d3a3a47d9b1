import { randomUUID } from "node:crypto";
import { open, rm } from "node:fs/promises";
import { join } from "node:path";
import { PayloadTooLargeError, ValidationError } from "../domain/errors.ts";
import { MalformedRequestError } from "./http-errors.ts";

/**
 * Streams a request body to a new private file in dir, counting bytes and stopping with
 * PayloadTooLargeError as soon as it passes limitBytes (or up front, when Content-Length
 * already says so). Hands the file to use(), then removes it whatever happened, so no
 * upload outlives its request.
 */
export async function withUpload<T>(
  request: Request,
  dir: string,
  limitBytes: number,
  use: (path: string, bytes: number) => Promise<T>,
): Promise<T> {
  checkDeclaredLength(request.headers.get("content-length"), limitBytes);
  if (request.body === null) throw new ValidationError("request body is empty; send the archive");
  return withStreamedUpload(request.body, dir, limitBytes, use);
}

/** withUpload for an archive that comes as a stream of bytes (a git archive process). */
export async function withStreamedUpload<T>(
  body: AsyncIterable<Uint8Array>,
  dir: string,
  limitBytes: number,
  use: (path: string, bytes: number) => Promise<T>,
): Promise<T> {
  const path = join(dir, `upload-${randomUUID()}.tar.gz`);
  try {
    const bytes = await save(body, path, limitBytes);
    if (bytes === 0) throw new ValidationError("request body is empty; send the archive");
    return await use(path, bytes);
  } finally {
    await rm(path, { force: true });
  }
}

async function save(
  body: AsyncIterable<Uint8Array>,
  path: string,
  limitBytes: number,
): Promise<number> {
  const file = await open(path, "wx", 0o600);
  let bytes = 0;
  try {
    // Leaving the loop early (the throw) cancels the body stream, so the rest of an
    // oversized upload is never read.
    for await (const chunk of body) {
      bytes += chunk.byteLength;
      if (bytes > limitBytes) throw new PayloadTooLargeError(limitBytes);
      await file.write(chunk);
    }
  } finally {
    await file.close();
  }
  return bytes;
}

function checkDeclaredLength(header: string | null, limitBytes: number): void {
  if (header === null) return;
  if (!/^\d+$/.test(header)) throw new MalformedRequestError(`invalid Content-Length: ${header}`);
  if (Number(header) > limitBytes) throw new PayloadTooLargeError(limitBytes);
}
