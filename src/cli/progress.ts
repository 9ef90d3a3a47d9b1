import { formatBytes } from "./format.ts";
import type { CliIo } from "./io.ts";

/** Reports upload progress on stderr. */
export interface Progress {
  update(bytes: number): void;
  done(bytes: number): void;
}

/**
 * On a terminal, one line redrawn in place at most every 100 ms; elsewhere (CI logs,
 * pipes) a line when the upload starts and one when it ends, so logs stay readable.
 */
export function uploadProgress(io: CliIo, label: string, now: () => number = Date.now): Progress {
  let last = 0;
  if (!io.errIsTTY) io.err(`Uploading ${label}...\n`);
  return {
    update(bytes) {
      if (!io.errIsTTY || now() - last < 100) return;
      last = now();
      io.err(`\rUploading ${label}: ${formatBytes(bytes)}\u001b[K`);
    },
    done(bytes) {
      io.err(`${io.errIsTTY ? "\r\u001b[K" : ""}Uploaded ${label} (${formatBytes(bytes)})\n`);
    },
  };
}
